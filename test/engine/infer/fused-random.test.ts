import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergedWeights } from '../../../src-main/engine/adapters/merge-weights.js';
import type { RowAdapter } from '../../../src-main/engine/adapters/row-lora.js';
import { generate } from '../../../src-main/engine/infer/generate.js';
import { KvDecoder } from '../../../src-main/engine/infer/kv-decoder.js';
import { buildFusedDecodeGraph } from '../../../src-main/engine/infer/fused-decode-graph.js';
import type { HfConfig } from '../../../src-main/engine/io/hf-config.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { resolveDevice, type DevicePref } from '../../../src-main/engine/runtime/device.js';
import { greedyTrace, maxAbsDiff } from './fused-helpers.js';
import { randomAdapter } from './helpers.js';
import { gpuName, gpuOk } from '../webgpu-under-test.js';

// head_dim 16: the smallest GroupQueryAttention takes with rotary (llama-hd8 below covers the rest).
const SHAPE: HfConfig = { ...TINY_LLAMA, hidden_size: 64, intermediate_size: 80, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 96 };
const ARCHS: Record<string, Partial<HfConfig>> = {
  llama: {},
  qwen2: { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', tie_word_embeddings: false },
  qwen3: { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', head_dim: 16 },
  // head_dim 8: too small for GQA's own rotary, so RoPE runs as RotaryEmbedding before it
  'llama-hd8': { num_attention_heads: 8, num_key_value_heads: 4 },
};

let dir: string;
const models = new Map<string, LoadedModel>();
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-fused-'));
  for (const [arch, cfg] of Object.entries(ARCHS)) {
    models.set(arch, await loadModel(await writeRandomModel(path.join(dir, arch), { ...SHAPE, ...cfg }, { seed: 3, embedStd: 1, std: 0.2 })));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function variants(model: LoadedModel): RowAdapter[][] {
  const a = randomAdapter(model.spec, 4, ['q', 'v', 'down'], 1, 0.3);
  const b = randomAdapter(model.spec, 8, ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], 2, 0.3);
  const c = randomAdapter(model.spec, 4, ['k', 'up'], 3, 0.3);
  return [[], [{ weights: a, scale: 1 }], [{ weights: b, scale: 1 }], [{ weights: a, scale: 0.7 }, { weights: c, scale: 0.5 }]];
}

describe.each(Object.keys(ARCHS))('fused decode graph, random %s model', (arch) => {
  // A device that is not here is reported as skipped (its reason in the name), never as a pass.
  for (const [name, pref, enabled] of [
    ['CPU EP', 'cpu', true],
    [gpuName, 'gpu', gpuOk],
  ] as [string, DevicePref, boolean][])
    it.skipIf(!enabled)(`${name}: four side-by-side rows (base, adapters on some targets, a blend) match the plain graph`, async () => {
    const model = models.get(arch)!;
    const device = await resolveDevice(pref);
    const rows = variants(model);
    const prompt = [1, 17, 23, 5, 42, 9, 77];
    const fused = await greedyTrace(model, device, rows.map(() => prompt), rows, 10, true);
    expect(fused.mode).toBe('fused');
    const plain = await greedyTrace(model, device, rows.map(() => prompt), rows, 10, false, fused);
    fused.logits.forEach((l, s) => expect(maxAbsDiff(l, plain.logits[s]), `step ${s}`).toBeLessThanOrEqual(1e-4));
    // the rows really differ, so matching row by row is not about the base alone
    expect(new Set(fused.ids.map((r) => r.join(','))).size).toBe(4);
  }, 180_000);
});

describe('fused decoding through generate()', () => {
  it('batched rows give the same greedy ids as decoding each row alone (prompt filling the prefill bucket exactly, and not)', async () => {
    const model = models.get('qwen2')!;
    const device = await resolveDevice('cpu');
    const rows = variants(model);
    for (const prompt of [[3, 14, 15, 92, 65], Array.from({ length: 16 }, (_, i) => 1 + ((i * 13) % 90))]) {
      const run = (vs: RowAdapter[][]) => generate({ model, device, tokenizer: null, prompt, variants: vs.map((adapters) => ({ adapters })), maxTokens: 20, sampling: { temperature: 0 }, stopAtEos: false });
      const together = await run(rows);
      const alone = await Promise.all(rows.map(async (r) => (await run([r]))[0]));
      together.forEach((r, i) => expect(r.ids).toEqual(alone[i].ids));
      expect(new Set(together.map((r) => r.ids.join(','))).size).toBe(4);
    }
  }, 60_000);

  // On WebGPU greedy steps run in chains with one read per chain (generate.ts chainLength: 20 tokens are the
  // prefill's and chains of 8 and 11, or of 8, 8 and 3 where the last chain's steps were slow), and an end-of-turn
  // id met inside a chain ends the reply at the same token.
  it.skipIf(!gpuOk)(`${gpuName}: chained greedy steps give the plain graph's ids, and stop where it stops`, async () => {
    const model = models.get('qwen2')!;
    const device = await resolveDevice('gpu');
    const rows = variants(model).slice(0, 2);
    const prompt = [3, 14, 15, 92, 65];
    const run = (fused: boolean, endOfTurn?: { ids: number[]; texts: string[] }) =>
      generate({ model, device, tokenizer: null, prompt, variants: rows.map((adapters) => ({ adapters })), maxTokens: 20, sampling: { temperature: 0 }, stopAtEos: endOfTurn !== undefined, endOfTurn, fused, precision: 'fp32' });
    const [chained, plain] = [await run(true), await run(false)];
    chained.forEach((r, i) => expect(r.ids, `row ${i}`).toEqual(plain[i].ids));
    expect(chained[0].ids).toHaveLength(20);
    // an id first met at the 11th token of row 0 (inside the second chain) as the end of turn
    const at = chained[0].ids.findIndex((id, k) => k >= 10 && !chained[0].ids.slice(0, k).includes(id) && !chained[1].ids.slice(0, k).includes(id));
    expect(at).toBeGreaterThanOrEqual(10);
    const end = { ids: [chained[0].ids[at]], texts: [] };
    const stopped = await run(true, end);
    expect(stopped[0].ids).toEqual(chained[0].ids.slice(0, at));
    expect(stopped[0].finish).toBe('eos');
    expect(stopped.map((r) => r.ids)).toEqual((await run(false, end)).map((r) => r.ids));
  }, 120_000);

  it('a merged adapter (overridden base tensors) gives the same greedy ids as the adapter as a LoRA row', async () => {
    const model = models.get('qwen2')!;
    const device = await resolveDevice('cpu');
    const a = randomAdapter(model.spec, 4, ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], 5, 0.3);
    const run = (adapters: RowAdapter[], overrides?: ReadonlyMap<string, Float32Array>) =>
      generate({ model, device, tokenizer: null, prompt: [7, 8, 9, 10], variants: [{ adapters }], maxTokens: 16, sampling: { temperature: 0 }, stopAtEos: false, overrides });
    const [withAdapter] = await run([{ weights: a, scale: 1 }]);
    const [merged] = await run([], mergedWeights(model, a));
    const [base] = await run([]);
    expect(merged.ids).toEqual(withAdapter.ids);
    expect(merged.ids).not.toEqual(base.ids);
  }, 60_000);

  it('a second prefill on the same decoder (the next chat turn) starts over: same logits as a fresh decoder', async () => {
    const model = models.get('qwen3')!;
    const device = await resolveDevice('cpu');
    const dec = new KvDecoder(model, { device, rows: 2, capacity: 64, lora: null });
    const fresh = new KvDecoder(model, { device, rows: 2, capacity: 64, lora: null });
    try {
      await dec.prefill([[5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]], 4);
      for (const t of [30, 31, 32]) await dec.decode([t, t]);
      const turn2 = [[1, 2, 3], [1, 2, 3]];
      const a = [await dec.prefill(turn2, 4), await dec.decode([40, 41])];
      const b = [await fresh.prefill(turn2, 4), await fresh.decode([40, 41])];
      expect(dec.mode).toBe('fused');
      a.forEach((l, s) => expect(maxAbsDiff(l, b[s])).toBe(0));
    } finally {
      await dec.dispose();
      await fresh.dispose();
    }
  });

  it('prompts of different lengths fall back to the plain graph and still decode', async () => {
    const model = models.get('llama')!;
    const device = await resolveDevice('cpu');
    const mixed = await greedyTrace(model, device, [[1, 2, 3], [1, 2, 3, 4, 5]], [[], []], 4, true);
    expect(mixed.mode).toBe('plain');
    const alone = await greedyTrace(model, device, [[1, 2, 3, 4, 5]], [[]], 4, true);
    expect(alone.mode).toBe('fused');
    expect(mixed.ids[1]).toEqual(alone.ids[0]);
  }, 60_000);
});

describe('fused graph op count (one decode step, no adapter)', () => {
  const count = (arch: string, lora = false) => {
    const model = models.get(arch)!;
    const layout = lora ? { targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const, rank: 8 } : null;
    const g = buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch: 1, tokens: 1, capacity: 64, lora: layout ? { ...layout, targets: [...layout.targets] } : null });
    const ops = new Map<string, number>();
    for (const n of g.nodes) ops.set(n.op, (ops.get(n.op) ?? 0) + 1);
    return { total: g.nodes.length, ops, layers: model.spec.layers };
  };

  // Outside the layers: the embedding lookup (tied: Gather and Reshape from the head's split layout, whose rows
  // lie in order for one row of one token; untied: one Gather), the final norm, the last-token pick, and the
  // split-K head (Reshape, MatMul, ReduceSum).
  it('llama (tied): 10 ops per layer + 7, no Transpose, Identity or ScatterElements', () => {
    const { total, ops, layers } = count('llama');
    expect(total).toBe(10 * layers + 7);
    expect(ops.get('Transpose') ?? 0).toBe(0);
    expect(ops.get('Gemm') ?? 0).toBe(0);
    for (const op of ['Identity', 'ScatterElements', 'Softmax']) expect(ops.get(op) ?? 0).toBe(0);
    expect(ops.get('GroupQueryAttention')).toBe(layers);
  });

  it('qwen2 adds one bias Add per layer; qwen3 its per-head norms and RoPE; LoRA adds 3 ops per fused projection', () => {
    expect(count('qwen2').total).toBe(11 * SHAPE.num_hidden_layers + 6);
    const q3 = count('qwen3');
    expect(q3.ops.get('RotaryEmbedding')).toBe(2 * q3.layers);
    expect(q3.total).toBe(19 * q3.layers + 8);
    expect(count('llama', true).total).toBe(22 * SHAPE.num_hidden_layers + 7);
    const hd8 = count('llama-hd8');
    expect(hd8.ops.get('RotaryEmbedding')).toBe(2 * hd8.layers);
    expect(hd8.total).toBe(13 * hd8.layers + 8);
  });
});
