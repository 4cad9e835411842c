/**
 * Issue 18 item 1: chat speed while a run trains on the same engine thread (as the app's worker does).
 * Measures decode tokens/s of the demo model idle, during a training run with chat competing for the cores
 * (the old behaviour), and during a run that chat holds between its steps (priority.ts, the app's path: the
 * reply waits for the step under way to end, then decodes alone; that wait shows in its time to first token).
 * Target: held ≥ 50% of idle on the CPU.
 *
 *   npx tsx bench/chat-during-training.ts [--device cpu|gpu] [--tokens N]
 * Writes bench/results/chat-during-training-<device>-<date>.json.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '../src-main/engine/infer/generate.js';
import { loadModel } from '../src-main/engine/model.js';
import { resolveDevice, type DevicePref } from '../src-main/engine/runtime/device.js';
import { TrainControl } from '../src-main/engine/train/control.js';
import { parseTrainOptions } from '../src-main/engine/options/train.js';
import { trainAdapter } from '../src-main/engine/train/train-adapter.js';
import { holdTraining, registerTrainingRun } from '../src-main/services/worker/priority.js';
import { commit, machine, ROOT, writeResult } from './common.js';

const argv = process.argv.slice(2);
const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const DEVICE = (arg('--device') ?? 'cpu') as DevicePref;
const TOKENS = Number(arg('--tokens') ?? 120);
const MODEL = join(ROOT, 'resources/demo/stories260K.gguf');

const model = await loadModel(MODEL);
const device = await resolveDevice(DEVICE);
const tok = (await model.source.tokenizer())!;

/** Median decode tokens/s of three replies of TOKENS tokens (EOS ignored, so every reply is full length). */
const waits: number[] = [];
async function chatSpeed(hold: boolean): Promise<number> {
  const speeds: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const training = hold ? await holdTraining() : { release: () => undefined };
    if (hold) waits.push(performance.now() - t);
    try {
      const [r] = await generate({
        model,
        device,
        tokenizer: tok,
        prompt: tok.encode('Once upon a time', { addSpecial: true }),
        variants: [{ adapters: [] }],
        maxTokens: TOKENS,
        sampling: { temperature: 0.8, seed: i },
        stopAtEos: false,
      });
      speeds.push(r.tokensPerSecond);
    } finally {
      training.release();
    }
  }
  return speeds.sort((a, b) => a - b)[1];
}

await chatSpeed(false); // warm-up: session creation and the first runs' allocations
const idle = await chatSpeed(false);

// A run long enough to outlast the measurements; cancelled once they are done.
const dir = mkdtempSync(join(tmpdir(), 'graft-bench-chat-'));
const story = 'Once upon a time, there was a little girl named Lily. She loved to play in the park with her ball. ';
writeFileSync(join(dir, 'data.txt'), Array.from({ length: 64 }, (_, i) => story.repeat(1 + (i % 4))).join('\n\n'));
const control = new TrainControl();
const unregister = registerTrainingRun(control);
const abort = new AbortController();
let stepsDone = 0;
let firstStep!: () => void;
const started = new Promise<void>((r) => (firstStep = r));
const run = trainAdapter(
  {
    model: MODEL, data: join(dir, 'data.txt'), out: join(dir, 'out'),
    options: parseTrainOptions({ rank: 16, alpha: 32, lr: 1e-3, steps: 100_000, batch: 8, seqLen: 256, schedule: 'constant', seed: 0, device: DEVICE }),
  },
  { control, signal: abort.signal, onEvent: (e) => e.type === 'step' && (stepsDone++, firstStep()) },
).catch((err: unknown) => console.error(err));
await started;
const competing = await chatSpeed(false);
const held = await chatSpeed(true);
abort.abort();
await run;
unregister();
// Measured again after the run: on a shared machine the idle speed drifts, and the ratio uses both.
const idleAfter = await chatSpeed(false);
rmSync(dir, { recursive: true, force: true });

const result = {
  bench: 'chat-during-training',
  commit: commit(),
  machine: machine(),
  device: device.name,
  model: 'stories260K (demo)',
  tokens: TOKENS,
  training: { batch: 8, seqLen: 256, stepsDuringBench: stepsDone },
  tokensPerSecond: { idle: +idle.toFixed(1), competing: +competing.toFixed(1), held: +held.toFixed(1), idleAfter: +idleAfter.toFixed(1) },
  heldOverIdle: +((2 * held) / (idle + idleAfter)).toFixed(3),
  /** How long each held reply waited for the step under way to end (before its first token). */
  heldWaitMs: waits.map((w) => Math.round(w)),
  target: 'held ≥ 0.5 × idle',
};
console.log(JSON.stringify(result, null, 2));
writeResult(`chat-during-training-${device.kind}-${new Date().toISOString().slice(0, 10)}`, result);
model.source.close();
