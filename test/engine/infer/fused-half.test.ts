/**
 * The fused decode graph in fp16 (gpu-forms.ts, fusedHalf): weights, activations, KV caches and RoPE tables in
 * fp16, the logits cast to fp32 once. Checked as a graph (what is fp16, where the one cast sits, what stays fp32
 * on a packed base) and as a decode against the same fused graph in fp32, base and adapter rows side by side, on
 * the WebGPU EP (lavapipe in CI): fp16 rounds every weight and activation, so the bound is fp16's, not fp32's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraftError } from '../../../src-main/engine/errors.js';
import type { DecodePrecision } from '../../../src-main/engine/infer/decode-precision.js';
import { buildFusedDecodeGraph } from '../../../src-main/engine/infer/fused-decode-graph.js';
import { generate, halfOverflowedOn } from '../../../src-main/engine/infer/generate.js';
import { fusedHalf } from '../../../src-main/engine/infer/fused/gpu-forms.js';
import type { HfConfig } from '../../../src-main/engine/io/hf-config.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { readWeight } from '../../../src-main/engine/models/weights.js';
import type { SamplingOpts } from '../../../src-main/engine/infer/sampling.js';
import { resolveDevice, type DeviceInfo } from '../../../src-main/engine/runtime/device.js';
import { greedyTrace, maxAbsDiff, type Trace } from './fused-helpers.js';
import { randomAdapter } from './helpers.js';
import { gpuName, gpuOk } from '../webgpu-under-test.js';

const STORIES = path.resolve(import.meta.dirname, '../../../../shared/models/stories260K/stories260K.gguf');
const SHAPE: HfConfig = { ...TINY_LLAMA, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', tie_word_embeddings: true, hidden_size: 96, intermediate_size: 160, num_hidden_layers: 2, num_attention_heads: 6, num_key_value_heads: 2, vocab_size: 120 };
let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-half-'));
  model = await loadModel(await writeRandomModel(path.join(dir, 'qwen2'), SHAPE, { seed: 5, embedStd: 1, std: 0.2 }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `f` with environment variable `name` set to `value` (a form gpu-forms.ts reads), then restores it. */
async function withEnvVar<T>(name: string, value: string, f: () => T | Promise<T>): Promise<T> {
  const was = process.env[name];
  process.env[name] = value;
  try {
    return await f();
  } finally {
    if (was === undefined) delete process.env[name];
    else process.env[name] = was;
  }
}

describe('fusedHalf (the precision option)', () => {
  const gpu = { kind: 'webgpu' } as DeviceInfo;
  const cpu = { kind: 'cpu' } as DeviceInfo;
  it('auto: fp16 on the GPU, where it measured faster for base and adapter rows alike', async () => {
    expect(fusedHalf('auto', gpu, false)).toBe(true);
    // GRAFT_DECODE_FP16=0 decides auto instead, for A/B measurements
    expect(await withEnvVar('GRAFT_DECODE_FP16', '0', () => fusedHalf('auto', gpu, false))).toBe(false);
  });
  it('fp16 and fp32 are followed on the GPU; never fp16 on the CPU EP or on a packed (4-bit) base', () => {
    expect(fusedHalf('fp16', gpu, false)).toBe(true);
    expect(fusedHalf('fp32', gpu, false)).toBe(false);
    for (const p of ['auto', 'fp16'] as const) {
      expect(fusedHalf(p, cpu, false)).toBe(false);
      expect(fusedHalf(p, gpu, true)).toBe(false);
    }
  });
});

describe('the fused decode graph in fp16', () => {
  const build = (half: boolean) =>
    buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch: 2, tokens: 1, capacity: 32, lora: { targets: ['q', 'o', 'up', 'down'], rank: 4 }, anyLength: true, argmax: true, logitsToo: true, half });

  it('holds every float weight, cache and adapter input in fp16, and casts the logits to fp32 once', () => {
    const g = build(true);
    const floats = [...g.initializers.keys()].filter((v) => v.dtype === 'float32' || v.dtype === 'float16');
    // the argmax's index tables are the only fp32 initializers: they read the fp32 logits
    expect(floats.filter((v) => v.dtype === 'float32').map((v) => v.name).sort()).toEqual(['argmax_rev_iota', 'argmax_vocab', 'argmax_zero']);
    expect(floats.filter((v) => v.dtype === 'float16').length).toBeGreaterThan(10);
    for (const v of g.inputs) if (v.name.startsWith('past.') || v.name.startsWith('lora_')) expect(v.dtype, v.name).toBe('float16');
    const casts = g.nodes.filter((n) => n.op === 'Cast' && n.outputs[0].dtype === 'float32');
    expect(casts).toHaveLength(1);
    expect(casts[0].outputs[0].name).toBe('logits');
    expect(casts[0].inputs[0]!.dtype).toBe('float16');
    // the fp32 graph has no such cast and no fp16 anywhere
    const plain = build(false);
    expect([...plain.initializers.keys()].some((v) => v.dtype === 'float16')).toBe(false);
    expect(plain.nodes.some((n) => n.op === 'Cast' && n.outputs[0].name === 'logits')).toBe(false);
  });

  it.skipIf(!gpuOk)(`${gpuName}: base and adapter rows follow the fp32 graph's logits within fp16's rounding, step by step`, async () => {
    const device = await resolveDevice('gpu');
    const a = randomAdapter(model.spec, 4, ['q', 'v', 'o', 'gate', 'down'], 3, 0.3);
    const rows = [[], [{ weights: a, scale: 1 }]];
    const prompt = [1, 17, 23, 5, 42, 9, 77];
    const full: Trace = await greedyTrace(model, device, rows.map(() => prompt), rows, 8, true, undefined, undefined, 'fp32');
    expect(full.mode).toBe('fused');
    // the same tokens fed at every step (follow), so the logits compare
    const half = await greedyTrace(model, device, rows.map(() => prompt), rows, 8, true, full, undefined, 'fp16');
    expect(half.mode).toBe('fused');
    const scale = Math.max(...full.logits[0].map(Math.abs));
    expect(scale).toBeGreaterThan(1);
    // fp16 keeps 11 significant bits (relative rounding 2^-11 ≈ 4.9e-4) on every weight and activation. This random
    // model (weights of std 0.2 over 96 values) amplifies it: 0.86% of the logits' range on lavapipe. 2% bounds
    // that, where a slip (a wrong cache slot, a mis-sliced weight) moves logits by their own size.
    full.logits.forEach((l, s) => expect(maxAbsDiff(l, half.logits[s]) / scale, `step ${s}`).toBeLessThanOrEqual(2e-2));
    // and it is fp16, not fp32: the rounding shows
    expect(Math.max(...full.logits.map((l, s) => maxAbsDiff(l, half.logits[s])))).toBeGreaterThan(1e-6);
    // greedy ids of the fp32 graph's own trace (no token was forced where they disagree: the margins here are wide)
    expect(half.ids).toEqual(full.ids);
  }, 120_000);
});

describe('stories260K (real weights) in fp16', () => {
  it.skipIf(!gpuOk)(`${gpuName}: greedy decoding gives the fp32 graph's ids, its logits within fp16's rounding`, async () => {
    const device = await resolveDevice('gpu');
    const real = await loadModel(STORIES);
    // head_dim 8: RoPE runs as its own RotaryEmbedding (in fp16 too), not inside GroupQueryAttention
    const prompt = [1, 403, 407];
    const full = await greedyTrace(real, device, [prompt], [[]], 24, true, undefined, undefined, 'fp32');
    expect(full.mode).toBe('fused');
    // auto: fp16 on the GPU
    const half = await greedyTrace(real, device, [prompt], [[]], 24, true, full, undefined, 'auto');
    expect(half.ids).toEqual(full.ids);
    // 0.46% of the logits' range at most on lavapipe, over 24 steps
    const scale = Math.max(...full.logits[0].map(Math.abs));
    full.logits.forEach((l, s) => expect(maxAbsDiff(l, half.logits[s]) / scale, `step ${s}`).toBeLessThanOrEqual(1e-2));
    // and auto did run in fp16: the rounding shows
    expect(Math.max(...full.logits.map((l, s) => maxAbsDiff(l, half.logits[s])))).toBeGreaterThan(1e-6);
  }, 120_000);
});

describe('an fp16 decode that overflows', () => {
  // embeddings past fp16's largest value (65,504): the fp16 graph's first step is NaN, the fp32 graph's finite
  it.skipIf(!gpuOk)(`${gpuName}: fp16 is refused naming the precision option; auto decodes again in fp32 and gives fp32's ids`, async () => {
    const device = await resolveDevice('gpu');
    const big = await loadModel(await writeRandomModel(path.join(dir, 'big'), SHAPE, { seed: 9, embedStd: 40_000, std: 0.2 }));
    const run = (precision: DecodePrecision, temperature = 0) =>
      generate({ model: big, device, tokenizer: null, prompt: [1, 17, 23, 5], variants: [{ adapters: [] }], maxTokens: 12, sampling: { temperature, seed: 3 }, stopAtEos: false, precision });
    const full = await run('fp32');
    expect(full[0].ids).toHaveLength(12);
    for (const temperature of [0, 0.8]) {
      const err = await run('fp16', temperature).then(() => null, (e) => e as GraftError);
      expect(err).toBeInstanceOf(GraftError);
      expect(err).toMatchObject({ code: 'UNSUPPORTED', field: 'precision', where: 'step 1' });
      expect(err!.message).toMatch(/fp16 overflowed/);
    }
    // auto: fp16, which overflows at the first step: the same generation in fp32, and the model
    // is remembered (the next auto run is fp32 from the start)
    expect(halfOverflowedOn(big)).toBe(false);
    expect((await run('auto'))[0].ids).toEqual(full[0].ids);
    expect(halfOverflowedOn(big)).toBe(true);
    expect((await run('auto'))[0].ids).toEqual(full[0].ids);
  }, 120_000);

  // Every token but the prompt's (and 0) embedded past fp16's range, in an untied model (its LM head stays small): the prompt's
  // step is finite, and the first step that reads a generated token overflows. Greedy ids come from the decode graph's
  // argmax, sampled ones from the host's sampler or from the device's (drawn in chains, no logits read back).
  it.skipIf(!gpuOk)(`${gpuName}: an overflow after the first step stops greedy, host-drawn and device-drawn decoding at that step`, async () => {
    const device = await resolveDevice('gpu');
    const model = await loadModel(await writeRandomModel(path.join(dir, 'untied'), { ...SHAPE, tie_word_embeddings: false }, { seed: 4, embedStd: 1, std: 0.2 }));
    const prompt = [1, 17, 23, 5];
    const name = 'model.embed_tokens.weight';
    const table = Float32Array.from(readWeight(model.source, name));
    const D = model.spec.hidden;
    // token 0 stays finite too: it fills a prefill bucket's tail (kv-decoder.ts)
    const small = new Set([0, ...prompt]);
    for (let t = 0; t < model.spec.vocab; t++) if (!small.has(t)) for (let i = 0; i < D; i++) table[t * D + i] = table[t * D + i] < 0 ? -1e5 : 1e5;
    const overrides = new Map([[name, table]]);
    const run = (precision: DecodePrecision, sampling: SamplingOpts) =>
      generate({ model, device, tokenizer: null, prompt, variants: [{ adapters: [] }], maxTokens: 12, sampling, stopAtEos: false, precision, overrides });
    const full = await run('fp32', { temperature: 0 });
    expect(full[0].ids).toHaveLength(12);
    expect(full[0].ids.slice(0, 10).some((t) => !small.has(t))).toBe(true);
    const chat: SamplingOpts = { temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05, repetitionPenalty: 1.1, seed: 3 };
    const cases: [string, SamplingOpts, string][] = [
      ['greedy', { temperature: 0 }, '1'],
      ['temperature, drawn on the device', { temperature: 0.8, seed: 3 }, '1'],
      ["the Chat's top-k, drawn on the device", chat, '1'],
      ['temperature, drawn on the host', { temperature: 0.8, seed: 3 }, '0'],
    ];
    for (const [what, sampling, onDevice] of cases) {
      const err = await withEnvVar('GRAFT_DEVICE_SAMPLING', onDevice, () => run('fp16', sampling)).then(
        () => null,
        (e) => e as GraftError,
      );
      expect(err, what).toBeInstanceOf(GraftError);
      expect(err, what).toMatchObject({ code: 'UNSUPPORTED', field: 'precision' });
      expect(Number(/^step (\d+)$/.exec(err!.where ?? '')?.[1]), what).toBeGreaterThan(1);
    }
    // auto: past the first step tokens were handed out, so it stops too; the model decodes in fp32 from then on
    const err = await run('auto', chat).then(() => null, (e) => e as GraftError);
    expect(err).toMatchObject({ code: 'UNSUPPORTED' });
    expect(err!.message).toMatch(/decodes in fp32 from now on/);
    expect(halfOverflowedOn(model)).toBe(true);
    expect((await run('auto', { temperature: 0 }))[0].ids).toEqual(full[0].ids);
  }, 180_000);
});
