/**
 * Acceptance 5: a QLoRA run through the CLI lowers the loss like a fp32 LoRA run. Trains stories260K on a
 * small dataset (stories introducing a girl's name the model has never used) with `graft train` three
 * times — fp32 LoRA, QLoRA NF4, QLoRA int4 — same seed, data and schedule, and records the loss curves.
 *
 *   npx tsx bench/qlora-train.ts [--steps N] [--device cpu|gpu]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const arg = (k: string, d: string) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : d);
const STEPS = arg('--steps', '60');
const DEVICE = arg('--device', 'cpu');
const ROOT = new URL('../', import.meta.url).pathname;
const MODEL = join(ROOT, '../shared/models/stories260K/stories260K.gguf');

const places = ['park', 'garden', 'forest', 'beach', 'house', 'school'];
const things = ['ball', 'kite', 'cat', 'flower', 'box', 'bird'];
const stories = Array.from(
  { length: 60 },
  (_, i) =>
    `Once upon a time, there was a little girl named Zara. Zara loved to play in the ${places[i % 6]}. One day, Zara saw a big ${things[(i * 5) % 6]}. Zara was very happy.`,
);

const dir = mkdtempSync(join(tmpdir(), 'graft-qlora-train-'));
const data = join(dir, 'zara.txt');
writeFileSync(data, stories.join('\n\n') + '\n');
const runs: Record<string, unknown>[] = [];
try {
  for (const [label, extra] of [
    ['lora-fp32', []],
    ['qlora-nf4', ['--method', 'qlora', '--quant', 'nf4']],
    ['qlora-int4', ['--method', 'qlora', '--quant', 'int4']],
  ] as const) {
    const args = [
      'train',
      '--model',
      MODEL,
      '--data',
      data,
      '--out',
      join(dir, label),
      '--device',
      DEVICE,
      '--json',
      '--steps',
      STEPS,
      '--batch',
      '4',
      '--seq-len',
      '64',
      '--lr',
      '5e-3',
      '--rank',
      '8',
      '--warmup',
      '5',
      '--val-split',
      '0.2',
      '--eval-every',
      '10',
      '--seed',
      '3',
      ...extra,
    ];
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/graft.mjs'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, GRAFT_QUANT_CACHE: join(dir, 'qcache') },
      maxBuffer: 1 << 26,
    });
    if (r.status !== 0) throw new Error(`${label}: graft train exited ${r.status}: ${r.stderr}`);
    const events = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const steps = events.filter((e) => e.type === 'step');
    const evals = events.filter((e) => e.type === 'eval');
    const result = events.find((e) => e.type === 'result');
    runs.push({
      label,
      args: args.slice(1).join(' ').replace(MODEL, 'stories260K.gguf').replace(data, 'zara.txt').replace(join(dir, label), label),
      seconds: (performance.now() - t0) / 1000,
      device: result?.device,
      loss: steps.map((e) => +e.loss.toFixed(5)),
      evalLoss: evals.map((e) => ({ step: e.step, loss: +e.evalLoss.toFixed(5) })),
      finalLoss: result?.finalLoss,
      finalEvalLoss: result?.finalEvalLoss,
    });
    console.error(
      `${label}: loss ${steps[0]?.loss.toFixed(3)} → ${result?.finalLoss?.toFixed(3)}, eval → ${result?.finalEvalLoss?.toFixed(3)}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const date = new Date().toISOString();
const out = {
  bench: 'qlora-train',
  model: 'stories260K',
  date,
  commit: execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim(),
  host: `${cpus()[0]?.model} × ${cpus().length}`,
  runs,
};
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, `bench/results/qlora-train-${DEVICE}-${date.slice(0, 10)}.json`), JSON.stringify(out, null, 2) + '\n');
console.log(JSON.stringify(out, null, 2));
