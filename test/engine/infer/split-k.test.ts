/**
 * Split-K projections (fused/nodes.ts, splitKProjection): the fused decode graph's one-row MatMuls on the
 * GPU as S slices of K plus a sum. Checked as a node against a plain MatMul (CPU and WebGPU EPs, one row and
 * several, a symbolic token axis as the any-length graph has), and as a whole decode against the plain graph
 * with slices small enough for the tiny random model (GRAFT_SPLITK=16).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { projectionSlices, splitKProjection } from '../../../src-main/engine/infer/fused/nodes.js';
import { buildFusedDecodeGraph } from '../../../src-main/engine/infer/fused-decode-graph.js';
import type { LoraTarget } from '../../../src-main/engine/adapters/lora-config.js';
import type { HfConfig } from '../../../src-main/engine/io/hf-config.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import * as op from '../../../src-main/engine/ops/index.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import { greedyTrace, maxAbsDiff } from './fused-helpers.js';
import { randomAdapter } from './helpers.js';
import { EPS_UNDER_TEST, gpuName, gpuOk } from '../webgpu-under-test.js';

const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.37) * 0.5);

describe('projectionSlices', () => {
  it('splits where the plain kernel has few workgroups for many weights, to about the asked workgroups (N/32 a slice)', () => {
    // Qwen2.5-0.5B: down 4,864 → 896 split; qkv and o (K = 896, short loops) and gate+up (304 workgroups) not
    expect(projectionSlices(896, 1152, 1024)).toBe(1);
    expect(projectionSlices(4864, 896, 1024)).toBe(38);
    expect(projectionSlices(896, 896, 1024)).toBe(1);
    expect(projectionSlices(896, 9728, 1024)).toBe(1);
    // Qwen2.5-1.5B: qkv, o and down split; gate+up (560 workgroups) not
    expect(projectionSlices(1536, 2048, 1024)).toBe(16);
    expect(projectionSlices(1536, 1536, 1024)).toBe(24);
    expect(projectionSlices(8960, 1536, 1024)).toBe(20);
    expect(projectionSlices(1536, 17920, 1024)).toBe(1);
    expect(projectionSlices(4864, 896, 0)).toBe(1); // off
    // SmolLM2-135M: nothing (K = 576, or fewer than 1 M weights)
    expect([[576, 960], [576, 576], [576, 3072], [1536, 576]].map(([K, N]) => projectionSlices(K, N, 1024))).toEqual([1, 1, 1, 1]);
  });
  it('with `all`, splits wherever slices of ≥ 32 inputs (a multiple of 4) fit, partials bounded', () => {
    expect(projectionSlices(896, 9728, 1024, true)).toBe(4); // 38,912 partials a token; 7 would hold 68,096
    expect(projectionSlices(896, 1152, 1024, true)).toBe(28);
    expect(projectionSlices(896, 896, 1024, true)).toBe(28);
    expect(projectionSlices(1536, 17920, 1024, true)).toBe(2);
    expect(projectionSlices(48, 64, 1024, true)).toBe(1); // too short to split
    for (const [K, N] of [[896, 1152], [1536, 2048], [4864, 896], [8960, 1536], [576, 3072]]) {
      const S = projectionSlices(K, N, 1024, true);
      expect(K % S).toBe(0);
      expect((K / S) % 4).toBe(0);
      expect(K / S).toBeGreaterThanOrEqual(32);
      expect(S * N).toBeLessThanOrEqual(40_960);
    }
  });
});

describe.each(EPS_UNDER_TEST)('splitKProjection on the %s', (_name, pref, enabled) => {
  it.skipIf(!enabled)('equals a plain MatMul for one row and several, with a symbolic token axis', async () => {
    const device = await resolveDevice(pref);
    const [B, K, N, S] = [3, 96, 40, 6];
    const g = new Graph('splitk_check');
    const x = g.input('x', 'float32', [B, 1, K]);
    g.symbolicDims.set('x', new Map([[1, 'tokens']]));
    const w = rand(K * N, 2);
    const plain = op.matmul(g, x, g.init('w', { dtype: 'float32', shape: [K, N], data: w }));
    const split = splitKProjection(g, x, g.init('w_sliced', { dtype: 'float32', shape: [S, K / S, N], data: w }));
    g.output(plain, 'plain');
    g.output(split, 'split');
    g.symbolicDims.set('plain', new Map([[1, 'tokens']]));
    g.symbolicDims.set('split', new Map([[1, 'tokens']]));
    const s = await GraphSession.create(g, { device });
    try {
      for (const [b, t] of [[B, 1], [B, 5]]) {
        expect(b).toBe(B);
        const out = await s.run({ x: { dtype: 'float32', shape: [B, t, K], data: rand(B * t * K, t) } });
        const [p, q] = [out.plain, out.split] as unknown as { shape: number[]; data: Float32Array }[];
        expect(q.shape).toEqual([B, t, N]);
        expect(maxAbsDiff(q.data, p.data)).toBeLessThanOrEqual(1e-5);
        expect(Math.max(...p.data.map(Math.abs))).toBeGreaterThan(0.1); // not all zeros
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
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-splitk-'));
  model = await loadModel(await writeRandomModel(path.join(dir, 'qwen2'), SHAPE, { seed: 4, embedStd: 1, std: 0.2 }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fused decode with split-K projections', () => {
  it('the graph takes every projection split (4 per layer) when asked, and none when not', () => {
    const build = (splitK: number) => buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch: 1, tokens: 1, capacity: 32, lora: null, anyLength: true, splitK, splitKAll: true });
    const sums = (splitK: number) => build(splitK).nodes.filter((n) => n.op === 'MatMul' && n.inputs[0]?.name.startsWith('splitk_ones')).length;
    expect(sums(64)).toBe(4 * SHAPE.num_hidden_layers);
    expect(sums(0)).toBe(0);
  });

  it('a graph of one row and one token (static shapes) slices its inputs by Reshape, with no Transpose', () => {
    const build = (anyLength: boolean, batch: number) => buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch, tokens: 1, capacity: 32, lora: null, anyLength, splitK: 64, splitKAll: true });
    const transposes = (g: ReturnType<typeof build>) => g.nodes.filter((n) => n.op === 'Transpose').length;
    expect(transposes(build(true, 1))).toBe(4 * SHAPE.num_hidden_layers);
    expect(transposes(build(false, 2))).toBe(4 * SHAPE.num_hidden_layers + 1); // two rows: the slices (and the head's) move
    const one = build(false, 1);
    expect(transposes(one)).toBe(0);
    expect(one.inputs.map((v) => v.name)).not.toContain('last_index');
  });

  it('base projections and the adapter rows of one input share its transposed slices', () => {
    const lora = { targets: ['q', 'v', 'o', 'gate', 'up', 'down'] as LoraTarget[], rank: 8 };
    const g = buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch: 2, tokens: 1, capacity: 32, lora, anyLength: true, splitK: 64, splitKAll: true, loraSplitK: 64 });
    const transposes = g.nodes.filter((n) => n.op === 'Transpose' && n.outputs[0].name && n.inputs[0]?.shape.length === 4 && n.inputs[0].shape[2] === 2);
    // four inputs a layer (attention's, o's, the MLP's, down's), each sliced once for the base and its rows
    expect(transposes).toHaveLength(4 * SHAPE.num_hidden_layers);
    // and every group's x·Aᵀ is split: 4 per layer, beside the base's 4
    expect(g.nodes.filter((n) => n.op === 'MatMul' && n.inputs[1]?.name.startsWith('lora_at.') && n.inputs[1].shape.length === 4)).toHaveLength(4 * SHAPE.num_hidden_layers);
  });

  it.skipIf(!gpuOk)(`${gpuName}: base and adapter rows side by side match the plain graph step by step`, async () => {
    const was = process.env.GRAFT_SPLITK;
    process.env.GRAFT_SPLITK = '64'; // K = 64 → 2 slices of 32, K = 80 (down) → 2 of 40
    process.env.GRAFT_SPLITK_ALL = '1'; // the tiny model's projections are below the size worth splitting
    try {
      const device = await resolveDevice('gpu');
      const a = randomAdapter(model.spec, 4, ['q', 'v', 'down', 'up'], 1, 0.3);
      const rows = [[], [{ weights: a, scale: 1 }]];
      const prompt = [1, 17, 23, 5, 42, 9, 77];
      const fused = await greedyTrace(model, device, rows.map(() => prompt), rows, 8, true);
      expect(fused.mode).toBe('fused');
      const plain = await greedyTrace(model, device, rows.map(() => prompt), rows, 8, false, fused);
      fused.logits.forEach((l, s) => expect(maxAbsDiff(l, plain.logits[s]), `step ${s}`).toBeLessThanOrEqual(1e-4));
      expect(new Set(fused.ids.map((r) => r.join(','))).size).toBe(2);
    } finally {
      if (was === undefined) delete process.env.GRAFT_SPLITK;
      else process.env.GRAFT_SPLITK = was;
      delete process.env.GRAFT_SPLITK_ALL;
    }
  }, 120_000);
});
