/**
 * Acceptance 4: memory of QLoRA against fp32 LoRA on a random-init model with Qwen2.5-0.5B's shapes.
 * Each mode runs in its own process (peak RSS is per process): open the model, build the base (fp32,
 * or NF4/int4 from the quantized cache), create the step runner, run a few LoRA steps at batch 1 × 64.
 * Reported: bytes per parameter of the quantized projections as held in the graph, RSS after the first
 * step, peak RSS, seconds per step.
 *
 *   npx tsx bench/qlora-memory.ts [--steps N] [--modes lora,nf4,int4,nf4-e8,int4-e8] [--device cpu|gpu]
 * (-e8: embeddings and LM head in 8 bits; -fp16: the projections dequantized to fp16 and multiplied in fp16)
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoraConfig } from '../src-main/engine/adapters/lora-config.js';
import { openModelSource } from '../src-main/engine/io/model-source.js';
import { QWEN25_05B_SHAPES, writeRandomModel } from '../src-main/engine/models/random-model.js';
import { loadQuantizedBase, quantWeightsFactory, storeFootprint, type QuantScheme } from '../src-main/engine/quant/index.js';
import type { DevicePref } from '../src-main/engine/runtime/device.js';
import { createStepRunner } from '../src-main/engine/train/step-runner.js';

const argv = process.argv.slice(2);
const arg = (k: string, d: string) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : d);
const STEPS = Number(arg('--steps', '3'));
const DEVICE = arg('--device', 'cpu') as DevicePref;
const MODEL = arg('--model', join(process.env.GRAFT_BENCH_DIR ?? tmpdir(), 'graft-bench-qwen25-05b'));
const LORA: LoraConfig = { r: 16, alpha: 32, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], rslora: false };
const [B, T] = [1, 64];
const MB = 2 ** 20;

async function child(mode: string): Promise<void> {
  const source = await openModelSource(MODEL);
  const rss0 = process.memoryUsage().rss;
  let weights,
    footprint = null,
    quantSeconds = null,
    fromCache = null;
  if (mode !== 'lora') {
    const t0 = performance.now();
    // "nf4", "nf4-e8", "nf4-fp16": the scheme; -e8: embeddings and LM head in 8 bits; -fp16: multiplied in fp16
    const [scheme, ...flags] = mode.split('-');
    const e8 = flags.includes('e8') ? 'e8' : '';
    const q = await loadQuantizedBase(source, scheme as QuantScheme, {
      cacheDir: join(MODEL, 'quant-cache'),
      embeddings: e8 === 'e8' ? 'int8' : 'fp16',
    });
    quantSeconds = (performance.now() - t0) / 1000;
    fromCache = q.fromCache;
    weights = quantWeightsFactory(q.store, { half: flags.includes('fp16') });
    const f = storeFootprint(q.store);
    footprint = { bytes: f.bytes, params: f.params, bytesPerParam: f.bytes / f.params };
  }
  const runner = await createStepRunner({ source, lora: LORA, device: DEVICE, batch: B, seqLen: T, seed: 1, weights });
  const V = source.config.vocab_size;
  const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % V);
  const batch = { batch: B, seqLen: T, inputIds: ids, labels: ids };
  const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 };
  const losses: number[] = [];
  const stepSeconds: number[] = [];
  let rssAfterFirst = 0;
  for (let s = 0; s < STEPS; s++) {
    const t0 = performance.now();
    const r = await runner.step(batch, { ...hp, step: s + 1 });
    stepSeconds.push((performance.now() - t0) / 1000);
    losses.push(r.lossSum / r.tokens);
    if (s === 0) rssAfterFirst = process.memoryUsage().rss;
  }
  await runner.dispose();
  console.log(
    JSON.stringify({
      mode,
      device: runner.device.name,
      footprint,
      quantSeconds,
      fromCache,
      rssBeforeMB: rss0 / MB,
      rssAfterFirstStepMB: rssAfterFirst / MB,
      peakRssMB: (process.resourceUsage().maxRSS * 1024) / MB,
      firstStepSeconds: stepSeconds[0],
      laterStepSeconds: stepSeconds.slice(1),
      losses,
    }),
  );
}

/** Device-wide GPU memory in use (nvidia-smi, every 100 ms) while a child runs: peak and the idle baseline. */
function sampleGpuMemory(): { stop: () => { peak: number; baseline: number } } {
  const q = ['--query-gpu=memory.used', '--format=csv,noheader,nounits'];
  const baseline = Number(execFileSync('nvidia-smi', q).toString().trim().split('\n')[0]);
  const proc = spawn('nvidia-smi', [...q, '-lms', '100']);
  let peak = baseline;
  proc.stdout.on('data', (d: Buffer) => {
    for (const l of d.toString().split('\n')) if (l.trim()) peak = Math.max(peak, Number(l.trim()));
  });
  return {
    stop: () => {
      proc.kill();
      return { peak, baseline };
    },
  };
}

async function main(): Promise<void> {
  if (argv.includes('--child')) return child(arg('--child', 'lora'));
  if (!existsSync(join(MODEL, 'config.json'))) {
    console.error(`writing a random model with Qwen2.5-0.5B's shapes to ${MODEL} ...`);
    await writeRandomModel(MODEL, QWEN25_05B_SHAPES, { seed: 1 });
  }
  const modes = arg('--modes', 'lora,nf4,int4').split(',');
  const runs = [];
  for (const mode of [...modes, ...modes.filter((m) => m !== 'lora')]) {
    // quantized modes run twice: the first quantizes (or finds the cache), the second must load from it
    console.error(`${mode} ...`);
    // The same script (tsx or a bundle) with the same loader flags, in child mode.
    const childArgs = [
      ...process.execArgv,
      process.argv[1],
      '--child',
      mode,
      '--model',
      MODEL,
      '--steps',
      String(STEPS),
      '--device',
      DEVICE,
    ];
    const gpuMem = DEVICE === 'gpu' ? sampleGpuMemory() : null;
    const r = spawnSync(process.execPath, childArgs, { encoding: 'utf8', maxBuffer: 1 << 26 });
    const gpu = gpuMem?.stop();
    if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
    const line = r.stdout.trim().split('\n').at(-1)!;
    runs.push({ ...JSON.parse(line), ...(gpu ? { gpuMemoryPeakMB: gpu.peak, gpuMemoryBaselineMB: gpu.baseline } : {}) });
    console.error(line);
  }
  let commit = process.env.GRAFT_COMMIT ?? '';
  try {
    commit ||= execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
  } catch {
    commit ||= 'unknown'; // the GPU machine's copy has no git
  }
  const date = new Date().toISOString();
  const result = {
    bench: 'qlora-memory',
    model: 'random init, Qwen2.5-0.5B shapes',
    lora: LORA,
    batch: B,
    seq: T,
    date,
    commit,
    host: `${cpus()[0]?.model} × ${cpus().length}`,
    runs,
  };
  const resultsDir = process.env.OUT ?? join(process.cwd(), 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `qlora-memory-${DEVICE}${argv.includes('--modes') ? '-' + modes.join('_') : ''}-${date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
