/**
 * Issue 15, item 9: with checkpoints off, a run whose final write fails (a full disk, the folder gone) keeps its
 * trained weights as a checkpoint — in the run's checkpoints folder, else the rescue folder — and the error says
 * where; continuing from there writes exactly the weights the run had trained.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { TokenizedExample } from '../../../src-main/engine/data/tokenize-example.js';
import { GraftError } from '../../../src-main/engine/errors.js';
import { runTrainingLoop, type TrainLoopOptions } from '../../../src-main/engine/train/trainer.js';
import { LeastSquaresRunner } from './least-squares-runner.js';

const dir = mkdtempSync(join(tmpdir(), 'graft-final-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const VOCAB = 24;
const examples: TokenizedExample[] = Array.from({ length: 12 }, (_, i) => {
  const ids = Int32Array.from({ length: 5 }, (_, t) => (i * 5 + t * 3) % VOCAB);
  const mask = new Uint8Array(5).fill(1);
  mask[0] = 0;
  return { ids, mask, line: i + 1 };
});

const base = (over: Partial<TrainLoopOptions>): TrainLoopOptions => ({
  runner: new LeastSquaresRunner(VOCAB),
  train: examples,
  val: [],
  batch: 4,
  seqLen: 6,
  gradAccum: 1,
  padId: 0,
  steps: 6,
  lr: 0.05,
  warmup: 1,
  schedule: 'constant',
  seed: 3,
  saveEvery: 0, // checkpoints off
  ...over,
});

const full = (folder: string) => async () => {
  throw new GraftError('IO', `${folder}: no space left on the disk while writing adapter_model.safetensors; nothing was replaced`, { file: folder });
};

async function failure(p: Promise<unknown>): Promise<GraftError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GraftError);
  return err as GraftError;
}

describe('the final write fails with checkpoints off', () => {
  test('the weights are kept in the run’s checkpoints folder, the error says where, and a resume writes them', async () => {
    const runner = new LeastSquaresRunner(VOCAB);
    const ck = join(dir, 'a', 'checkpoints');
    const err = await failure(runTrainingLoop(base({ runner, checkpointDir: ck, write: full(join(dir, 'a')) })));
    expect(err.code).toBe('IO');
    expect(err.message).toContain('no space left');
    expect(err.message).toContain(join(ck, 'step-000006'));
    expect(err.message).toContain('{resume}');

    const resumed = new LeastSquaresRunner(VOCAB, 77); // a different init: everything must come from what was kept
    let written: Float32Array | null = null;
    const r = await runTrainingLoop(base({ runner: resumed, checkpointDir: ck, resumeFrom: join(ck, 'step-000006'), write: async () => void (written = Float32Array.from(resumed.A)) }));
    expect(r.steps).toBe(6);
    expect(written).toEqual(runner.A);
    expect(resumed.B).toEqual(runner.B);
  });

  test('when the checkpoints folder cannot take them either, the rescue folder does', async () => {
    const blocked = join(dir, 'b');
    mkdirSync(blocked);
    writeFileSync(join(blocked, 'checkpoints'), 'a file where the folder should be');
    const rescue = join(dir, 'rescue');
    const err = await failure(runTrainingLoop(base({ checkpointDir: join(blocked, 'checkpoints'), rescueDirs: [rescue], write: full(blocked) })));
    expect(err.message).toContain(join(rescue, 'step-000006'));
  });

  test('when nothing can take them, the error says so and names the folders tried', async () => {
    const blocked = join(dir, 'c');
    mkdirSync(blocked);
    writeFileSync(join(blocked, 'checkpoints'), 'x');
    writeFileSync(join(blocked, 'rescue'), 'x');
    const err = await failure(runTrainingLoop(base({ checkpointDir: join(blocked, 'checkpoints'), rescueDirs: [join(blocked, 'rescue')], write: full(blocked) })));
    expect(err.message).toContain('could not be kept anywhere');
    expect(err.message).toContain(join(blocked, 'rescue'));
  });
});
