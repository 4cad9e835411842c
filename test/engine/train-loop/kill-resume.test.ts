import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, test } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/models/stories260K/stories260K.gguf');
const dir = mkdtempSync(join(tmpdir(), 'graft-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Ev = { type: string; step: number; loss: number; [k: string]: unknown };

function args(out: string, data: string, extra: string[] = []): string[] {
  return [
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
    '30',
    '--batch',
    '4',
    '--seq-len',
    '48',
    '--lr',
    '3e-3',
    '--rank',
    '4',
    '--dropout',
    '0.1',
    '--warmup',
    '3',
    '--save-every',
    '5',
    '--val-split',
    '0.1',
    '--eval-every',
    '10',
    '--seed',
    '7',
    ...extra,
  ];
}

function parse(stdout: string): Ev[] {
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);
}

test('SIGKILL mid-run, --resume: the loss curve matches an uninterrupted run (acceptance 4)', async () => {
  const data = join(dir, 'stories.txt');
  const lines: string[] = [];
  for (let i = 0; i < 40; i++)
    lines.push(
      `Tim had a red ${['ball', 'car', 'hat', 'dog'][i % 4]}. He played with it every day ${i % 3 === 0 ? 'in the sun' : 'at home'}. Tim was glad.`,
    );
  writeFileSync(data, lines.join('\n\n'));

  const whole = spawnSync(process.execPath, args(join(dir, 'whole'), data), { encoding: 'utf8', timeout: 120_000 });
  expect(whole.status, whole.stderr).toBe(0);
  const reference = new Map(
    parse(whole.stdout)
      .filter((e) => e.type === 'step')
      .map((e) => [e.step, e]),
  );
  expect(reference.size).toBe(30);

  // Kill hard a few steps after the step-15 checkpoint: no handler runs, steps 16.. are lost.
  const out = join(dir, 'killed');
  const child = spawn(process.execPath, args(out, data), { stdio: ['ignore', 'pipe', 'pipe'] });
  let lastStep = 0;
  let sawCheckpoint = false;
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  for await (const line of createInterface({ input: child.stdout! })) {
    const e = JSON.parse(line) as Ev;
    if (e.type === 'checkpoint' && e.step === 15) sawCheckpoint = true;
    if (e.type === 'step') lastStep = e.step;
    if (sawCheckpoint && lastStep >= 17) {
      child.kill('SIGKILL');
      break;
    }
  }
  expect(await exited).toBe('SIGKILL');
  expect(lastStep).toBeLessThan(30);
  expect(existsSync(join(out, 'graft.json'))).toBe(false); // no half-finished adapter

  const resumed = spawnSync(process.execPath, args(out, data, ['--resume', out]), { encoding: 'utf8', timeout: 120_000 });
  expect(resumed.status, resumed.stderr).toBe(0);
  const events = parse(resumed.stdout);
  const start = events.find((e) => e.type === 'start')!;
  expect(start.startStep).toBeGreaterThanOrEqual(15);
  const steps = events.filter((e) => e.type === 'step');
  expect(steps[0].step).toBe((start.startStep as number) + 1);
  expect(steps.at(-1)!.step).toBe(30);
  for (const s of steps) {
    const ref = reference.get(s.step)!;
    expect(Math.abs(s.loss - ref.loss), `step ${s.step}`).toBeLessThanOrEqual(1e-5);
    expect(Math.abs((s.gradNorm as number) - (ref.gradNorm as number)), `grad norm at step ${s.step}`).toBeLessThanOrEqual(1e-5);
  }
  const evals = (evs: Ev[]) => evs.filter((e) => e.type === 'eval' && e.step === 30).map((e) => e.evalLoss as number);
  expect(Math.abs(evals(events)[0] - evals(parse(whole.stdout))[0])).toBeLessThanOrEqual(1e-5);
  expect(existsSync(join(out, 'graft.json'))).toBe(true);
}, 300_000);
