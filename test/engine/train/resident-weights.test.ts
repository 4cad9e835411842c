import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LORA_TARGETS } from '../../../src-main/engine/adapters/lora-config.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { halfWeights } from '../../../src-main/engine/models/half-weights.js';
import { dropPrefetched, prefetchedPending, prefetchStats, stopWeightThreads } from '../../../src-main/engine/io/weight-threads.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { releaseHostWeights } from '../../../src-main/engine/models/weights.js';
import { buildResidentWeightsGraph, prefetchResidentWeights, residentHalfWeights, residentOf } from '../../../src-main/engine/models/resident-weights.js';
import { probeWebGpu } from '../../../src-main/engine/runtime/device.js';
import { createTimings } from '../../../src-main/engine/runtime/session.js';
import { createStepRunner } from '../../../src-main/engine/train/step-runner.js';
import { buildStepGraph } from '../../../src-main/engine/train/step-graph.js';

// The resident fp16 projections (one graph makes both layouts on the GPU, every step graph takes them as
// inputs) must train exactly as the weights held by the step graph do: same fp16 values, same products.
const QWEN2 = path.resolve(import.meta.dirname, '../../../../shared/fixtures/hf-reference/qwen2/model');
const gpuError = await probeWebGpu();
const lora = { r: 4, alpha: 8, dropout: 0, rslora: false, targets: [...LORA_TARGETS] };
const before = process.env.GRAFT_RESIDENT_WEIGHTS;
afterEach(() => {
  if (before === undefined) delete process.env.GRAFT_RESIDENT_WEIGHTS;
  else process.env.GRAFT_RESIDENT_WEIGHTS = before;
});

/** Projections of 512 × 512 and up and a table of 2^22 values: the sizes the weight threads take. */
const THREADED_SIZES = { ...TINY_LLAMA, hidden_size: 512, intermediate_size: 1024, num_hidden_layers: 1, num_attention_heads: 8, num_key_value_heads: 4, vocab_size: 8192 };

describe('resident fp16 projections', () => {
  it('the step graph takes both layouts as inputs and holds no projection weight; the weights graph makes them', async () => {
    const model = await loadModel(QWEN2);
    const sg = buildStepGraph({ spec: model.spec, source: model.source, lora, batch: 1, seq: 4, purpose: 'step', weights: residentHalfWeights });
    const inputs = sg.graph.inputs.map((v) => v.name);
    const names = [...new Set(inputs.map(residentOf).filter((n): n is string => n !== null))];
    // 7 projections × 2 layers, the embedding's table, and the head's table laid out [D, V] (with its
    // [V, D] form for the backward: the embedding's own when tied)
    const head = model.spec.tiedEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
    expect(names.filter((n) => n.includes('_proj'))).toHaveLength(14);
    expect(names.filter((n) => !n.includes('_proj')).sort()).toEqual([...new Set(['model.embed_tokens.weight', head])].sort());
    expect(inputs.filter((n) => n.endsWith('.f16t'))).toHaveLength(14);
    expect(inputs).toContain(`${head}.t`);
    expect([...sg.graph.initializers.keys()].some((v) => /(_proj|embed_tokens|lm_head)\.weight/.test(v.name))).toBe(false);
    const wg = buildResidentWeightsGraph(model.source, names);
    const forms = (n: string) => (n.includes('_proj') ? [`${n}.f16`, `${n}.f16t`] : [n, `${n}.t`]);
    expect(wg.outputs.map((v) => v.name).sort()).toEqual(names.flatMap(forms).sort());
    const byName = new Map(sg.graph.inputs.map((v) => [v.name, v]));
    for (const o of wg.outputs) expect(o.shape).toEqual(byName.get(o.name)?.shape ?? o.shape);
  });

  it.skipIf(gpuError !== null && process.env.GRAFT_E2E_REQUIRED !== '1')(`trains as the step graph's own fp16 weights do, on WebGPU (${gpuError ?? 'available'})`, async () => {
    const model = await loadModel(QWEN2);
    const ids = Int32Array.from({ length: 2 * 16 }, (_, i) => (i * 37) % 500);
    const batch = { inputIds: ids, labels: ids, batch: 2, seqLen: 16 };
    const runs: { losses: number[]; norms: number[]; lora: Float32Array[] }[] = [];
    for (const flag of ['0', '1']) {
      process.env.GRAFT_RESIDENT_WEIGHTS = flag;
      createTimings.splice(0);
      const r = await createStepRunner({ source: model.source, spec: model.spec, lora, device: 'gpu', batch: 2, seqLen: 16, seed: 1, weights: halfWeights });
      const losses: number[] = [];
      const norms: number[] = [];
      for (let s = 1; s <= 3; s++) {
        const o = await r.step(batch, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: s, maxGradNorm: 1 });
        losses.push(o.lossSum / o.tokens);
        norms.push(o.gradNorm);
      }
      const ev = await r.evalLoss(batch); // a second graph over the same resident tensors
      losses.push(ev.lossSum / ev.tokens);
      const state = await r.getState();
      await r.dispose();
      runs.push({ losses, norms, lora: [...state.lora.values()].map((t) => t.data) });
      const graphs = createTimings.map((t) => t.graph);
      expect(graphs.includes('resident_weights')).toBe(flag === '1');
    }
    // The same fp16 values through the same products: equal up to the order the GPU sums in.
    runs[1].losses.forEach((l, i) => expect(Math.abs(l - runs[0].losses[i])).toBeLessThan(1e-5 * Math.abs(runs[0].losses[i])));
    runs[1].norms.forEach((n, i) => expect(Math.abs(n - runs[0].norms[i])).toBeLessThan(1e-4 * runs[0].norms[i]));
    let worst = 0;
    runs[1].lora.forEach((a, k) => a.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - runs[0].lora[k][i])))));
    expect(worst).toBeLessThan(1e-5);
  });

  it('weights prefetched on the weight threads (a first start, while ORT creates the captured step) make the same graph', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-resident-ahead-'));
    const threads = process.env.GRAFT_WEIGHT_THREADS;
    process.env.GRAFT_WEIGHT_THREADS = '2';
    try {
      const model = await loadModel(await writeRandomModel(dir, THREADED_SIZES, { seed: 6, dtype: 'BF16' }));
      const names = ['model.embed_tokens.weight', ...['q', 'k', 'o'].map((p) => `model.layers.0.self_attn.${p}_proj.weight`), ...['gate', 'up', 'down'].map((p) => `model.layers.0.mlp.${p}_proj.weight`)];
      const plain = buildResidentWeightsGraph(model.source, names);
      releaseHostWeights(model.source); // as a first start has, once the step graph is saved: the table is read again
      // k is 512 → 256 (2^17 values): below the threads' size, read by the build itself
      expect(prefetchResidentWeights(model.source, names)).toBe(names.length - 1);
      expect(prefetchedPending()).toBe(names.length - 1);
      const ahead = buildResidentWeightsGraph(model.source, names);
      expect(prefetchedPending()).toBe(0); // the build took every one

      const bytes = (g: typeof plain) => new Map([...g.initializers].map(([v, d]) => [v.name, Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength)]));
      const want = bytes(plain);
      const got = bytes(ahead);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [n, b] of want) expect(got.get(n)!.equals(b), n).toBe(true);
    } finally {
      dropPrefetched();
      await stopWeightThreads();
      if (threads === undefined) delete process.env.GRAFT_WEIGHT_THREADS;
      else process.env.GRAFT_WEIGHT_THREADS = threads;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it.skipIf(gpuError !== null && process.env.GRAFT_E2E_REQUIRED !== '1')(
    `a first captured step reads the resident weights ahead on the weight threads and trains as without them, on WebGPU (${gpuError ?? 'available'})`,
    async () => {
      const root = mkdtempSync(path.join(os.tmpdir(), 'graft-resident-first-'));
      const saved = { threads: process.env.GRAFT_WEIGHT_THREADS, cache: process.env.GRAFT_GRAPH_CACHE, resident: process.env.GRAFT_RESIDENT_WEIGHTS };
      const restore = (k: string, v: string | undefined) => (v === undefined ? delete process.env[k] : (process.env[k] = v));
      try {
        const model = await loadModel(await writeRandomModel(path.join(root, 'model'), THREADED_SIZES, { seed: 8, dtype: 'BF16' }));
        const ids = Int32Array.from({ length: 16 }, (_, i) => (i * 37) % 8192);
        const batch = { inputIds: ids, labels: ids, batch: 1, seqLen: 16 };
        process.env.GRAFT_RESIDENT_WEIGHTS = '1';
        const losses: number[][] = [];
        for (const threads of ['2', '0']) {
          process.env.GRAFT_WEIGHT_THREADS = threads;
          process.env.GRAFT_GRAPH_CACHE = path.join(root, `cache-${threads}`); // an empty cache: a first start
          const before = { ...prefetchStats };
          const r = await createStepRunner({ source: model.source, spec: model.spec, lora, device: 'gpu', batch: 1, seqLen: 16, seed: 1, weights: halfWeights });
          const run: number[] = [];
          try {
            for (let s = 1; s <= 2; s++) {
              const o = await r.step(batch, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: s, maxGradNorm: 1 });
              run.push(o.lossSum / o.tokens, o.gradNorm);
            }
          } finally {
            await r.dispose();
          }
          losses.push(run);
          const handed = prefetchStats.handed - before.handed;
          // q, o, gate, up, down and the table with threads (k and v, 512 → 256, are under the threads' size), none
          // without; every one taken by the build
          expect(handed).toBe(threads === '2' ? 6 : 0);
          expect(prefetchStats.taken - before.taken).toBe(handed);
          expect(prefetchedPending()).toBe(0);
        }
        // the same bits on the device either way: the same losses and norms
        expect(losses[0]).toEqual(losses[1]);
      } finally {
        await stopWeightThreads();
        restore('GRAFT_WEIGHT_THREADS', saved.threads);
        restore('GRAFT_GRAPH_CACHE', saved.cache);
        restore('GRAFT_RESIDENT_WEIGHTS', saved.resident);
        rmSync(root, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
