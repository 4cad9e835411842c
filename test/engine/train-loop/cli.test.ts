import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, test } from 'vitest';
import type { TrainEvent } from '../../../src-main/engine/train/events.js';
import { ProgressPrinter } from '../../../src-main/cli/commands/train-progress.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/models/stories260K/stories260K.gguf');
const SMOL = join(ROOT, '../shared/models/smollm2-135m-instruct-tokenizer');
const dir = mkdtempSync(join(tmpdir(), 'graft-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const graft = (...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'bin/graft.mjs'), ...args], { encoding: 'utf8', timeout: 120_000 });

function stories(n: number): string {
  const p = join(dir, `s${n}.txt`);
  writeFileSync(
    p,
    Array.from({ length: n }, (_, i) => `Sue found a ${['shell', 'stone', 'leaf'][i % 3]} by the sea. She smiled.`).join('\n\n'),
  );
  return p;
}

describe('graft dataset inspect', () => {
  test('--json reports bad rows by line and token stats with --model', () => {
    const p = join(dir, 'chat.jsonl');
    writeFileSync(
      p,
      ['{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}', 'oops', '{"messages":[]}'].join('\n'),
    );
    const r = graft('dataset', 'inspect', p, '--model', SMOL, '--seq-len', '12', '--json', '--preview', '1');
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ format: 'messages', records: 3, kept: 1, dropped: 2 });
    expect(s.issues.map((i: { line: number }) => i.line)).toEqual([2, 3]);
    expect(s.tokens.truncated).toBe(1);
    expect(s.preview[0].truncatedFrom).toBe(13);
    expect(s.preview[0].segments.filter((x: { trained: boolean }) => x.trained).map((x: { text: string }) => x.text)).toEqual([
      'hello<|im_end|>',
    ]);
  });

  test('human output lists issues; an unusable file fails with the reason', () => {
    const p = join(dir, 'rows.csv');
    writeFileSync(p, 'prompt,answer\nq,a\n');
    const r = graft('dataset', 'inspect', p, '--prompt-column', 'prompt', '--response-column', 'response');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the response column "response" is not in the header (columns: "prompt", "answer")');
    const ok = graft('dataset', 'inspect', stories(4));
    expect(ok.stdout).toContain('text (txt), 4 records: 4 kept, 0 dropped');
  });
});

describe('graft train', () => {
  test('bad flags and an impossible memory budget are refused before training', () => {
    const data = stories(8);
    const lr = graft('train', '--model', MODEL, '--data', data, '--out', join(dir, 'x'), '--lr', 'fast');
    expect(lr.status).toBe(1);
    expect(lr.stderr).toContain('--lr must be a number >= 0, got "fast"');
    const mem = graft('train', '--model', MODEL, '--data', data, '--out', join(dir, 'y'), '--memory-limit', '1000000', '--device', 'cpu');
    expect(mem.status).toBe(1);
    expect(mem.stderr).toMatch(/OUT_OF_MEMORY: training needs about .* but the memory limit has 977 KiB free/);
    expect(existsSync(join(dir, 'y', 'checkpoints'))).toBe(false);
  });

  test('Ctrl-C (SIGINT) checkpoints and exits 130; --resume finishes the run', async () => {
    const data = stories(24);
    const out = join(dir, 'interrupted');
    const args = [
      join(ROOT, 'bin/graft.mjs'),
      'train',
      '--model',
      MODEL,
      '--data',
      data,
      '--out',
      out,
      '--device',
      'cpu',
      '--json',
      '--steps',
      '400',
      '--batch',
      '2',
      '--seq-len',
      '32',
      '--lr',
      '1e-3',
      '--rank',
      '2',
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const events: TrainEvent[] = [];
    for await (const line of createInterface({ input: child.stdout! })) {
      const e = JSON.parse(line) as TrainEvent;
      events.push(e);
      if (e.type === 'step' && e.step === 3) child.kill('SIGINT');
    }
    expect(await code).toBe(130);
    const cancelled = events.find((e) => e.type === 'cancelled') as Extract<TrainEvent, { type: 'cancelled' }>;
    expect(cancelled.checkpoint).toBe(join(out, 'checkpoints', `step-${String(cancelled.step).padStart(6, '0')}`));
    expect(existsSync(join(out, 'graft.json'))).toBe(false);
    const fresh = graft(...args.slice(1));
    expect(fresh.stderr).toContain(`holds checkpoints of an unfinished run; continue it with --resume ${out}`);
    // --resume finds the model, the data and the output folder of the run by itself.
    const dropped = ['--model', '--data', '--out'];
    const rest = args.slice(1).filter((a, i, all) => !dropped.includes(a) && !dropped.includes(all[i - 1]));
    const done = graft(...rest, '--resume', out);
    expect(done.status, done.stderr).toBe(0);
    const resumed = done.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(resumed.find((e) => e.type === 'start').startStep).toBe(cancelled.step);
    expect(JSON.parse(readFileSync(join(out, 'graft.json'), 'utf8')).metrics.steps).toBe(400);
    // The finished folder is not trained over by accident.
    const again = graft(...args.slice(1));
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('already holds a trained adapter; choose another --out');
  });
});

describe('progress printer', () => {
  const step = (n: number): TrainEvent => ({
    type: 'step',
    step: n,
    totalSteps: 10,
    epoch: 0.5,
    loss: 1.23456,
    lr: 2e-4,
    gradNorm: 0.5,
    tokensPerSec: 1234.4,
    tokensSeen: 100,
    elapsedMs: 65_000,
    etaMs: 5_000,
  });
  const sink = () => {
    const chunks: string[] = [];
    return { chunks, stream: { write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream };
  };

  test('on a terminal one bar is redrawn in place', () => {
    const { chunks, stream } = sink();
    const p = new ProgressPrinter(stream, true);
    p.event(step(5));
    p.event({ type: 'eval', step: 5, evalLoss: 1.5, tokens: 10 });
    p.event(step(6));
    expect(chunks[0]).toBe('\r\x1b[K[############............] 5/10 loss 1.2346 lr 2.00e-4 gnorm 0.500 1234 tok/s 1m05s ETA 5s');
    expect(chunks[1]).toBe('\r\x1b[Kstep 5: eval loss 1.5000\n');
    expect(chunks[2]).toContain('6/10 loss 1.2346 eval 1.5000');
  });

  test('in a log, whole lines every tenth of the run', () => {
    const { chunks, stream } = sink();
    const p = new ProgressPrinter(stream, false);
    for (let i = 1; i <= 10; i++) p.event({ ...step(i), totalSteps: 100 } as TrainEvent);
    expect(chunks).toEqual([expect.stringMatching(/^\[#{2}\.{22}\] 10\/100 .*\n$/)]);
  });
});
