/**
 * The adapter rows' delta in the tiled form (fused/nodes.ts, tiledLoraDelta): each row's x·Aᵀ in S runs of K, the S
 * partial products summed by the product with Bᵀ stacked S times (fused-lora.ts lays the feeds out). Checked as a
 * node against x·Aᵀ·Bᵀ by plain MatMuls (CPU and WebGPU EPs, one token and several on a symbolic axis), as a graph
 * (no transpose or product of ones of its own), and as a whole decode against the plain graph in both forms
 * (GRAFT_LORA_TILED=1, the default on the GPU, and 0, split-K's form).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoraTarget } from '../../../src-main/engine/adapters/lora-config.js';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { buildFusedDecodeGraph } from '../../../src-main/engine/infer/fused-decode-graph.js';
import { tiledLoraDelta } from '../../../src-main/engine/infer/fused/nodes.js';
import type { HfConfig } from '../../../src-main/engine/io/hf-config.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import * as op from '../../../src-main/engine/ops/index.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { greedyTrace, maxAbsDiff } from './fused-helpers.js';
import { randomAdapter } from './helpers.js';
import { EPS_UNDER_TEST, gpuName, gpuOk } from '../webgpu-under-test.js';

const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.37) * 0.5);

describe.each(EPS_UNDER_TEST)('tiledLoraDelta on the %s', (_name, pref, enabled) => {
  it.skipIf(!enabled)("equals each row's x·Aᵀ·Bᵀ by plain products, one token and several on a symbolic axis", async () => {
    const device = await resolveDevice(pref);
    const [B, K, r, N, S] = [3, 96, 8, 40, 6];
    const g = new Graph('lora_tiled_check');
    const x = g.input('x', 'float32', [B, 1, K]);
    g.symbolicDims.set('x', new Map([[1, 'tokens']]));
    const a = rand(B * K * r, 2);
    const b = rand(B * r * N, 3);
    const plain = op.matmul(g, op.matmul(g, x, g.init('a', { dtype: 'float32', shape: [B, K, r], data: a })), g.init('b', { dtype: 'float32', shape: [B, r, N], data: b }));
    // the same Aᵀ bytes as runs of K; Bᵀ stacked S times a row
    const stacked = new Float32Array(B * S * r * N);
    for (let row = 0; row < B; row++) for (let s = 0; s < S; s++) stacked.set(b.subarray(row * r * N, (row + 1) * r * N), (row * S + s) * r * N);
    const tiled = tiledLoraDelta(g, x, g.init('a_runs', { dtype: 'float32', shape: [B, 1, S, K / S, r], data: a }), g.init('b_stacked', { dtype: 'float32', shape: [B, S * r, N], data: stacked }));
    g.output(plain, 'plain');
    g.output(tiled, 'tiled');
    g.symbolicDims.set('plain', new Map([[1, 'tokens']]));
    g.symbolicDims.set('tiled', new Map([[1, 'tokens']]));
    expect(g.nodes.some((n) => n.op === 'Transpose')).toBe(false);
    const s = await GraphSession.create(g, { device });
    try {
      for (const t of [1, 5]) {
        const out = await s.run({ x: { dtype: 'float32', shape: [B, t, K], data: rand(B * t * K, t) } });
        const [p, q] = [out.plain, out.tiled] as HostTensor[];
        expect(q.shape).toEqual([B, t, N]);
        expect(maxAbsDiff(q.data as Float32Array, p.data as Float32Array)).toBeLessThanOrEqual(1e-5);
        expect(Math.max(...(p.data as Float32Array).map(Math.abs))).toBeGreaterThan(0.1); // not all zeros
      }
    } finally {
      await s.release();
    }
  }, 60_000);
});

const SHAPE: HfConfig = { ...TINY_LLAMA, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', tie_word_embeddings: false, hidden_size: 64, intermediate_size: 80, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 96 };
let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-lora-tiled-'));
  model = await loadModel(await writeRandomModel(path.join(dir, 'qwen2'), SHAPE, { seed: 4, embedStd: 1, std: 0.2 }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function withEnv<T>(env: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const was = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(was)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

describe('the fused decode graph with the tiled adapter form', () => {
  const lora = { targets: ['q', 'v', 'o', 'gate', 'up', 'down'] as LoraTarget[], rank: 8 };
  const build = (loraTiled: boolean) => buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch: 2, tokens: 1, capacity: 32, lora, anyLength: true, splitK: 64, splitKAll: true, loraSplitK: 64, loraTiled });

  it("takes every group's delta tiled: no transpose or product of ones beyond the base's, two dispatches fewer a group", () => {
    const count = (g: ReturnType<typeof build>) => ({
      tiled: g.nodes.filter((n) => n.op === 'MatMul' && n.inputs[1]?.name.startsWith('lora_at.') && n.inputs[1].shape.length === 5).length,
      transposes: g.nodes.filter((n) => n.op === 'Transpose').length,
      sums: g.nodes.filter((n) => n.op === 'MatMul' && n.inputs[0]?.name.startsWith('splitk_ones')).length,
      dispatching: g.nodes.filter((n) => n.op !== 'Reshape').length,
    });
    const [tiled, summed] = [count(build(true)), count(build(false))];
    const L = SHAPE.num_hidden_layers;
    expect(tiled.tiled).toBe(4 * L);
    expect(summed.tiled).toBe(0);
    // the base's 4 split projections a layer keep their transposes and sums; the rows' own sums are gone
    expect(tiled.sums).toBe(4 * L);
    expect(summed.sums).toBe(8 * L);
    expect(tiled.transposes).toBeLessThanOrEqual(summed.transposes);
    expect(summed.dispatching - tiled.dispatching).toBeGreaterThanOrEqual(4 * L);
  });

  it.skipIf(!gpuOk).each(['1', '0'])(`${gpuName}: base and adapter rows match the plain graph step by step (GRAFT_LORA_TILED=%s)`, async (tiled) => {
    const device = await resolveDevice('gpu');
    const a = randomAdapter(model.spec, 4, ['q', 'v', 'down', 'up'], 1, 0.3);
    const b = randomAdapter(model.spec, 4, ['k', 'o', 'gate'], 2, 0.3);
    const rows = [[], [{ weights: a, scale: 1 }], [{ weights: b, scale: 1 }]];
    const prompt = [1, 17, 23, 5, 42, 9, 77];
    // K = 64 → 2 slices of 32, K = 80 (down) → 2 of 40; the tiny model's projections are below the size worth splitting
    const fused = await withEnv({ GRAFT_SPLITK: '64', GRAFT_SPLITK_ALL: '1', GRAFT_LORA_TILED: tiled }, () => greedyTrace(model, device, rows.map(() => prompt), rows, 8, true));
    expect(fused.mode).toBe('fused');
    const plain = await greedyTrace(model, device, rows.map(() => prompt), rows, 8, false, fused);
    fused.logits.forEach((l, s) => expect(maxAbsDiff(l, plain.logits[s]), `step ${s}`).toBeLessThanOrEqual(1e-4));
    expect(new Set(fused.ids.map((r) => r.join(','))).size).toBe(3);
  }, 120_000);
});
