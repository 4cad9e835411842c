import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { TokenizedExample } from '../../../src-main/engine/data/tokenize-example.js';
import { makeBatch } from '../../../src-main/engine/train/batches.js';
import { TrainControl } from '../../../src-main/engine/train/control.js';
import type { TrainEvent } from '../../../src-main/engine/train/events.js';
import { learningRate } from '../../../src-main/engine/train/schedule.js';
import { runTrainingLoop, totalSteps, type TrainLoopOptions } from '../../../src-main/engine/train/trainer.js';
import { LeastSquaresRunner } from './least-squares-runner.js';

const dir = mkdtempSync(join(tmpdir(), 'graft-loop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const VOCAB = 40;
/** Examples of varying length over a small vocabulary; label = id, mask 1 except the first token. */
function examples(n: number): TokenizedExample[] {
  const out: TokenizedExample[] = [];
  for (let i = 0; i < n; i++) {
    const len = 3 + (i % 5);
    const ids = Int32Array.from({ length: len }, (_, t) => (i * 7 + t * 3) % VOCAB);
    const mask = new Uint8Array(len).fill(1);
    mask[0] = 0;
    out.push({ ids, mask, line: i + 1 });
  }
  return out;
}

function base(over: Partial<TrainLoopOptions> = {}): TrainLoopOptions {
  return {
    runner: new LeastSquaresRunner(VOCAB),
    train: examples(24),
    val: examples(6),
    batch: 4,
    seqLen: 8,
    gradAccum: 1,
    padId: 0,
    steps: 30,
    lr: 0.05,
    warmup: 3,
    schedule: 'cosine',
    seed: 11,
    ...over,
  };
}

describe('schedule', () => {
  test('warm-up reaches the peak at step `warmup`, then cosine/linear decay to the floor; constant stays', () => {
    const o = { lr: 1, warmup: 4, total: 14 };
    expect([1, 2, 3, 4].map((s) => learningRate(s, { ...o, kind: 'cosine' }))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(learningRate(5, { ...o, kind: 'cosine' })).toBe(1);
    expect(learningRate(14, { ...o, kind: 'cosine' })).toBeCloseTo(0, 12);
    expect(learningRate(9.5, { ...o, kind: 'cosine' })).toBeCloseTo(0.5, 12);
    expect(learningRate(9.5, { ...o, kind: 'linear' })).toBeCloseTo(0.5, 12);
    expect(learningRate(14, { ...o, kind: 'linear', minRatio: 0.1 })).toBeCloseTo(0.1, 12);
    expect(learningRate(13, { ...o, kind: 'constant' })).toBe(1);
    expect(learningRate(1, { lr: 2, warmup: 0, total: 1, kind: 'cosine' })).toBe(2);
  });

  test('steps from epochs round up to whole optimizer steps', () => {
    expect(totalSteps({ epochs: 2, batch: 4, gradAccum: 2 }, 20)).toBe(5);
    expect(totalSteps({ steps: 7, batch: 4, gradAccum: 2 }, 20)).toBe(7);
    // Errors name the option by its key; the CLI words it as --steps, the GUI by its label.
    let err: unknown;
    try {
      totalSteps({ steps: 0, batch: 1, gradAccum: 1 }, 5);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'BAD_INPUT', field: 'steps', message: 'must be a whole number >= 1, got 0' });
  });
});

describe('loop', () => {
  test('batches pad with -100 and carry labels only where the mask is set', () => {
    const b = makeBatch(examples(1), 2, 6, 99);
    expect(Array.from(b.inputIds)).toEqual([0, 3, 6, 99, 99, 99, 99, 99, 99, 99, 99, 99]);
    expect(Array.from(b.labels)).toEqual([-100, 3, 6, -100, -100, -100, -100, -100, -100, -100, -100, -100]);
  });

  test('trains: loss falls, lr follows the schedule, clipping and AdamW settings reach apply, events carry progress', async () => {
    const events: TrainEvent[] = [];
    const runner = new LeastSquaresRunner(VOCAB);
    const r = await runTrainingLoop(base({ runner, maxGradNorm: 0.5, weightDecay: 0.01, evalEvery: 10, onEvent: (e) => events.push(e) }));
    expect(r.steps).toBe(30);
    expect(r.history[29].loss).toBeLessThan(r.history[0].loss / 4);
    expect(r.finalEvalLoss).not.toBeNull();
    expect(runner.applied.map((h) => h.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(runner.applied[0]).toMatchObject({ lr: 0.05 / 3, maxGradNorm: 0.5, weightDecay: 0.01, beta1: 0.9, beta2: 0.999 });
    expect(runner.applied[2].lr).toBeCloseTo(0.05, 12);
    expect(runner.applied[29].lr).toBeCloseTo(0, 12);
    const evals = events.filter((e) => e.type === 'eval');
    expect(evals.map((e) => e.step)).toEqual([10, 20, 30]);
    const steps = events.filter((e): e is Extract<TrainEvent, { type: 'step' }> => e.type === 'step');
    expect(steps).toHaveLength(30);
    expect(steps[29].tokensSeen).toBe(r.tokensSeen);
    expect(steps[29].etaMs).toBe(0);
    expect(steps[0].gradNorm).toBeGreaterThan(0);
    expect(events[0]).toMatchObject({ type: 'start', totalSteps: 30, startStep: 0 });
    expect(events.at(-1)).toMatchObject({ type: 'done', step: 30 });
  });

  test('a diverging run stops with a clear error instead of writing non-finite weights', async () => {
    const ckDir = join(dir, 'diverge');
    await expect(runTrainingLoop(base({ lr: 1e30, warmup: 0, schedule: 'constant', saveEvery: 1, checkpointDir: ckDir }))).rejects.toThrow(
      /training diverged at step \d+ \(loss (Infinity|NaN)/,
    );
    const latest = JSON.parse(readFileSync(join(ckDir, 'latest.json'), 'utf8')) as { step: number };
    const saved = JSON.parse(readFileSync(join(ckDir, `step-${String(latest.step).padStart(6, '0')}`, 'trainer.json'), 'utf8'));
    expect(saved.history.every((h: { loss: number }) => Number.isFinite(h.loss))).toBe(true);
  });

  test('cancel while paused ends the run at once with a checkpoint', async () => {
    const control = new TrainControl();
    const ac = new AbortController();
    const ckDir = join(dir, 'paused-cancel');
    const events: TrainEvent[] = [];
    const r = await runTrainingLoop(
      base({
        control,
        signal: ac.signal,
        checkpointDir: ckDir,
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'step' && e.step === 4) control.pause();
          if (e.type === 'paused') setTimeout(() => ac.abort(), 5);
        },
      }),
    );
    expect(r).toMatchObject({ cancelled: true, steps: 4, checkpoint: join(ckDir, 'step-000004') });
    expect(events.map((e) => e.type).slice(-3)).toEqual(['paused', 'checkpoint', 'cancelled']);
  });

  test('gradient accumulation of 2×2 equals one micro-batch of 4', async () => {
    const a = await runTrainingLoop(base({ steps: 8 }));
    const b = await runTrainingLoop(base({ steps: 8, batch: 2, gradAccum: 2 }));
    for (let i = 0; i < 8; i++) {
      expect(b.history[i].loss).toBeCloseTo(a.history[i].loss, 6);
      expect(b.history[i].gradNorm).toBeCloseTo(a.history[i].gradNorm, 6);
    }
  });

  test('ETA and tokens/s from the clock, with paused time left out', async () => {
    let t = 0;
    const control = new TrainControl();
    const events: TrainEvent[] = [];
    const runner = new LeastSquaresRunner(VOCAB);
    const origApply = runner.apply.bind(runner);
    runner.apply = async (hp, tokens) => {
      t += 100; // every step "takes" 100 ms
      return origApply(hp, tokens);
    };
    const r = await runTrainingLoop(
      base({
        runner,
        steps: 4,
        control,
        now: () => t,
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'step' && e.step === 2) control.pause();
          if (e.type === 'paused') setTimeout(() => ((t += 5000), control.resume()), 5);
        },
      }),
    );
    const steps = events.filter((e): e is Extract<TrainEvent, { type: 'step' }> => e.type === 'step');
    expect(steps[0].etaMs).toBe(300);
    expect(steps[0].elapsedMs).toBe(100);
    expect(steps[3].elapsedMs).toBe(400); // the 5 s pause is not training time
    expect(steps[3].tokensPerSec).toBeCloseTo((r.tokensSeen * 1000) / 400, 9);
    expect(events.map((e) => e.type).filter((x) => x === 'paused' || x === 'resumed')).toEqual(['paused', 'resumed']);
  });
});

describe('holds (chat before training, issue 18 item 1)', () => {
  test('a hold stops the loop between steps without a pause event, and its time stays out of tokens/s', async () => {
    let t = 0;
    const control = new TrainControl();
    const events: TrainEvent[] = [];
    const runner = new LeastSquaresRunner(VOCAB);
    const origApply = runner.apply.bind(runner);
    let applied = 0;
    runner.apply = async (hp, tokens) => {
      t += 100;
      applied++;
      return origApply(hp, tokens);
    };
    let appliedWhileHeld = -1;
    const r = await runTrainingLoop(
      base({
        runner,
        steps: 4,
        control,
        now: () => t,
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'step' && e.step === 2) {
            const release = control.hold();
            const again = control.hold(); // holds nest: both must go
            setTimeout(() => {
              appliedWhileHeld = applied;
              release();
              expect(control.isHeld).toBe(true);
              t += 5000;
              again();
            }, 20);
          }
        },
      }),
    );
    expect(appliedWhileHeld).toBe(2); // nothing ran while held
    expect(r.steps).toBe(4);
    expect(events.some((e) => e.type === 'paused' || e.type === 'resumed')).toBe(false);
    const steps = events.filter((e): e is Extract<TrainEvent, { type: 'step' }> => e.type === 'step');
    expect(steps[3].elapsedMs).toBe(400);
  });
});

test('whenIdle resolves only once the step under way has ended', async () => {
  const control = new TrainControl();
  const runner = new LeastSquaresRunner(VOCAB);
  const origApply = runner.apply.bind(runner);
  let inApply = false;
  let idleDuringApply: boolean | null = null;
  runner.apply = async (hp, tokens) => {
    inApply = true;
    if (hp.step === 3) {
      let idle = false;
      const release = control.hold();
      void control.whenIdle().then(() => {
        idle = true;
        idleDuringApply = inApply;
        release();
      });
      await new Promise((r) => setTimeout(r, 20));
      expect(idle).toBe(false); // still inside step 3
    }
    const r = await origApply(hp, tokens);
    inApply = false;
    return r;
  };
  const r = await runTrainingLoop(base({ runner, steps: 5, control }));
  expect(r.steps).toBe(5);
  expect(idleDuringApply).toBe(false);
});

describe('checkpoints and resume', () => {
  test('cancel checkpoints; resume replays the uninterrupted curve exactly', async () => {
    const fullRunner = new LeastSquaresRunner(VOCAB);
    const full = await runTrainingLoop(base({ runner: fullRunner, steps: 12, evalEvery: 4 }));

    const ckDir = join(dir, 'cancel', 'checkpoints');
    const ac = new AbortController();
    const first = await runTrainingLoop(
      base({
        steps: 12,
        evalEvery: 4,
        checkpointDir: ckDir,
        saveEvery: 5,
        signal: ac.signal,
        onEvent: (e) => e.type === 'step' && e.step === 7 && ac.abort(),
      }),
    );
    expect(first.cancelled).toBe(true);
    expect(first.steps).toBe(7);
    expect(first.checkpoint).toBe(join(ckDir, 'step-000007'));
    expect(readdirSync(ckDir).sort()).toEqual(['latest.json', 'step-000005', 'step-000007']);
    expect(JSON.parse(readFileSync(join(ckDir, 'latest.json'), 'utf8'))).toEqual({ checkpoint: 'step-000007', step: 7 });

    // From the older periodic checkpoint too (before the resumed run prunes it).
    const fromFive = await runTrainingLoop(base({ steps: 12, evalEvery: 4, resumeFrom: join(ckDir, 'step-000005') }));
    expect(fromFive.history.map((h) => h.gradNorm)).toEqual(full.history.map((h) => h.gradNorm));

    // A fresh runner (new process) picks up from the folder.
    const resumedRunner = new LeastSquaresRunner(VOCAB, 99); // different init: everything must come from the checkpoint
    const resumed = await runTrainingLoop(
      base({ runner: resumedRunner, steps: 12, evalEvery: 4, checkpointDir: ckDir, saveEvery: 5, resumeFrom: join(dir, 'cancel') }),
    );
    expect(resumed.steps).toBe(12);
    expect(resumed.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
    expect(resumed.history.map((h) => h.evalLoss)).toEqual(full.history.map((h) => h.evalLoss));
    expect(resumed.tokensSeen).toBe(full.tokensSeen);
    expect(resumedRunner.counter).toBe(fullRunner.counter);
    expect(Array.from(resumedRunner.A)).toEqual(Array.from(fullRunner.A));
  });

  test('resume with different settings is refused naming the setting; stale temp folders never appear', async () => {
    const ckDir = join(dir, 'diff');
    await runTrainingLoop(base({ steps: 4, saveEvery: 2, checkpointDir: ckDir, run: { lr: 0.05, dataset: 'abc' } }));
    expect(existsSync(join(ckDir, 'step-000002'))).toBe(true);
    expect(readdirSync(ckDir).filter((n) => n.startsWith('.'))).toEqual([]);
    await expect(runTrainingLoop(base({ steps: 4, resumeFrom: ckDir, run: { lr: 0.01, dataset: 'abc' } }))).rejects.toThrow(
      /lr was 0.05 and is now 0.01/,
    );
    await expect(runTrainingLoop(base({ steps: 4, resumeFrom: join(dir, 'nothing-here') }))).rejects.toThrow(/no checkpoint here/);
  });
});
