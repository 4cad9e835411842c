/**
 * Where the first start goes from an empty graph cache: the first training step (build the step graph,
 * serialize it, write the cache, create the ORT session, run) and the first token of a chat (the fused
 * decode graph), then the same again with the cache filled (a second start). Prints one JSON line each.
 *   npx tsx bench/first-start.ts train qwen2.5-0.5b [--device cpu|gpu] [--config 1x16] [--precision fp16|fp32]
 *   npx tsx bench/first-start.ts decode qwen2.5-0.5b [--device cpu|gpu]
 * Bundled into .gpu/gpu-explore.cjs as `first-start train|decode NAME ...` (same flags).
 * The graph cache is always a fresh temp folder (removed afterwards), whatever GRAFT_GRAPH_CACHE says.
 * GRAFT_WEIGHT_THREADS=0 measures without the weight threads (io/weight-threads.ts).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LORA_TARGETS } from '../src-main/engine/adapters/lora-config.js';
import { generate } from '../src-main/engine/infer/generate.js';
import type { HfConfig } from '../src-main/engine/io/hf-config.js';
import { loadModel, type LoadedModel } from '../src-main/engine/model.js';
import { weightThreadCount } from '../src-main/engine/io/weight-threads.js';
import { halfWeights } from '../src-main/engine/models/half-weights.js';
import { resolveDevice, type DevicePref } from '../src-main/engine/runtime/device.js';
import { type CreateTiming, createTimings, graphCacheSaved } from '../src-main/engine/runtime/session.js';
import { createStepRunner } from '../src-main/engine/train/step-runner.js';
import { arg, benchModel, commit, machine } from './common.js';

const ms = (x: number) => +x.toFixed(0);

/** Loads the model with its reads of tensor data timed (the graph build's share that is disk and decoding). */
async function timedLoad(dir: string): Promise<{ model: LoadedModel; loadMs: number; readMs: () => number }> {
  const t0 = performance.now();
  const model = await loadModel(dir);
  const loadMs = performance.now() - t0;
  let read = 0;
  const src = model.source as { readF32(name: string): Float32Array; readF32Into?(name: string, out: Float32Array): Float32Array | null };
  const timed = <A extends unknown[], R>(f: (...a: A) => R) => (...a: A): R => {
    const t = performance.now();
    try {
      return f(...a);
    } finally {
      read += performance.now() - t;
    }
  };
  src.readF32 = timed(src.readF32.bind(src));
  if (src.readF32Into) src.readF32Into = timed(src.readF32Into.bind(src));
  return { model, loadMs, readMs: () => read };
}

function sessionsOf(list: CreateTiming[]) {
  return list.map((t) => ({ graph: t.graph, nodes: t.nodes, cached: !!t.cached, build_ms: ms(t.buildMs ?? 0), serialize_ms: ms(t.serializeMs), write_ms: ms(t.writeMs), ort_create_ms: ms(t.ortCreateMs) }));
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((a, f) => a + statSync(path.join(dir, f)).size, 0);
}

async function trainOnce(dir: string, pref: DevicePref, batch: number, seq: number, precision: 'fp16' | 'fp32') {
  createTimings.splice(0);
  const t0 = performance.now();
  const { model, loadMs, readMs } = await timedLoad(dir);
  const runner = await createStepRunner({ source: model.source, spec: model.spec, lora: { r: 16, alpha: 32, dropout: 0, rslora: false, targets: [...LORA_TARGETS] }, device: pref, batch, seqLen: seq, seed: 1, weights: precision === 'fp16' ? halfWeights : undefined });
  const ids = Int32Array.from({ length: batch * seq }, (_, i) => 1 + ((i * 7919) % 49000));
  const r = await runner.step({ inputIds: ids, labels: ids, batch, seqLen: seq }, { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1, maxGradNorm: 1 });
  const total = performance.now() - t0;
  await runner.dispose();
  // the loss and gradient norm tell a run with the weight threads from one without: they must agree
  return { load_ms: ms(loadMs), read_ms: ms(readMs()), first_step_ms: ms(total), loss: r.lossSum / r.tokens, grad_norm: r.gradNorm, sessions: sessionsOf(createTimings.splice(0)) };
}

async function decodeOnce(dir: string, pref: DevicePref) {
  const device = await resolveDevice(pref);
  createTimings.splice(0);
  const t0 = performance.now();
  const { model, loadMs, readMs } = await timedLoad(dir);
  const prompt = Array.from({ length: 32 }, (_, i) => 1 + ((i * 7) % (model.spec.vocab - 1)));
  const [r] = await generate({ model, device, tokenizer: null, prompt, variants: [{ adapters: [] }], maxTokens: 1, sampling: { temperature: 0 }, stopAtEos: false });
  const total = performance.now() - t0;
  return { load_ms: ms(loadMs), read_ms: ms(readMs()), first_token_ms: ms(total), ttft_ms: ms(r.ttftMs), token: r.ids[0], sessions: sessionsOf(createTimings.splice(0)) };
}

/** `what` is train or decode; rest: the model name (bench/gpu-explore.ts SHAPES) and flags. */
export async function firstStart(what: string, name: string, shapes: Record<string, HfConfig>) {
  if (!shapes[name]) throw new Error(`unknown model ${name} (one of ${Object.keys(shapes).join(', ')})`);
  const dir = await benchModel(name, shapes[name]);
  const pref = arg('device', 'cpu') as DevicePref;
  const before = process.env.GRAFT_GRAPH_CACHE;
  const cache = mkdtempSync(path.join(os.tmpdir(), 'graft-first-start-'));
  process.env.GRAFT_GRAPH_CACHE = cache;
  try {
    const [batch, seq] = arg('config', '1x16').split('x').map(Number);
    const precision = arg('precision', 'fp16') as 'fp16' | 'fp32';
    const once = () => (what === 'train' ? trainOnce(dir, pref, batch, seq, precision) : decodeOnce(dir, pref));
    const first = await once();
    // the first start's files are made durable after its session exists (runtime/stage.ts): how much longer
    const t = performance.now();
    await graphCacheSaved();
    const savedAfterMs = ms(performance.now() - t);
    const cacheBytes = dirBytes(cache);
    const second = await once();
    const r = {
      what: `first start (${what === 'train' ? `training step ${batch}x${seq} ${precision}` : 'chat: first token, fused decode graph'}) from an empty graph cache, then a second start in the same process with the cache filled`,
      model: name,
      device: (await resolveDevice(pref)).name,
      machine: machine(),
      commit: commit(),
      date: new Date().toISOString(),
      weight_threads: weightThreadCount(),
      cache_bytes: cacheBytes,
      cache_saved_after_ms: savedAfterMs,
      first,
      second,
    };
    console.log(JSON.stringify(r));
    return r;
  } finally {
    rmSync(cache, { recursive: true, force: true });
    if (before === undefined) delete process.env.GRAFT_GRAPH_CACHE;
    else process.env.GRAFT_GRAPH_CACHE = before;
  }
}

if (process.argv[1]?.endsWith('first-start.ts')) {
  const [what, name] = process.argv.slice(2);
  import('./gpu-explore.js')
    .then(({ SHAPES }) => firstStart(what, name, SHAPES))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
