/**
 * One-row projections as Mul + ReduceSum (fused/nodes.ts, rowProjection; GRAFT_ROW_PROJ=1, measurements): checked as a
 * node against a plain MatMul (CPU and WebGPU EPs), and as a whole one-row decode against the plain graph, fp32 and fp16.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { rowProjection } from '../../../src-main/engine/infer/fused/nodes.js';
import { buildFusedDecodeGraph } from '../../../src-main/engine/infer/fused-decode-graph.js';
import type { HfConfig } from '../../../src-main/engine/io/hf-config.js';
import { loadModel, type LoadedModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import * as op from '../../../src-main/engine/ops/index.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import { greedyTrace, maxAbsDiff } from './fused-helpers.js';
import { EPS_UNDER_TEST, gpuName, gpuOk } from '../webgpu-under-test.js';

const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.37) * 0.5);

describe.each(EPS_UNDER_TEST)('rowProjection on the %s', (_name, pref, enabled) => {
  it.skipIf(!enabled)('equals a plain MatMul over the transposed weight', async () => {
    const device = await resolveDevice(pref);
    const [K, N] = [96, 40];
    const g = new Graph('rows_check');
    const x = g.input('x', 'float32', [1, 1, K]);
    const w = rand(K * N, 2);
    const rows = new Float32Array(K * N);
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) rows[n * K + k] = w[k * N + n];
    g.output(op.matmul(g, x, g.init('w', { dtype: 'float32', shape: [K, N], data: w })), 'plain');
    g.output(rowProjection(g, x, g.init('w_rows', { dtype: 'float32', shape: [N, K], data: rows })), 'rows');
    const s = await GraphSession.create(g, { device });
    try {
      const out = await s.run({ x: { dtype: 'float32', shape: [1, 1, K], data: rand(K, 3) } });
      const [p, q] = [out.plain, out.rows] as unknown as { shape: number[]; data: Float32Array }[];
      expect(q.shape).toEqual([1, 1, N]);
      expect(maxAbsDiff(q.data, p.data)).toBeLessThanOrEqual(1e-5);
      expect(Math.max(...p.data.map(Math.abs))).toBeGreaterThan(0.1);
    } finally {
      await s.release();
    }
  }, 60_000);
});

const SHAPE: HfConfig = { ...TINY_LLAMA, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', tie_word_embeddings: false, hidden_size: 64, intermediate_size: 80, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 96 };
let dir: string;
let model: LoadedModel;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-rows-'));
  model = await loadModel(await writeRandomModel(path.join(dir, 'qwen2'), SHAPE, { seed: 4, embedStd: 1, std: 0.2 }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fused decode with row projections', () => {
  it('a one-row graph takes every projection as Mul + ReduceSum; a graph of several rows keeps MatMuls', () => {
    const build = (batch: number) => buildFusedDecodeGraph({ spec: model.spec, source: model.source, batch, tokens: 1, capacity: 32, lora: null, anyLength: true, rowProjections: true });
    const sums = (batch: number) => build(batch).nodes.filter((n) => n.op === 'ReduceSum' && n.inputs[0]?.shape.length === 4).length;
    expect(sums(1)).toBe(4 * SHAPE.num_hidden_layers);
    expect(sums(2)).toBe(0);
  });

  it.skipIf(!gpuOk)(`${gpuName}: one row matches the plain graph step by step, fp32 and fp16`, async () => {
    process.env.GRAFT_ROW_PROJ = '1';
    try {
      const device = await resolveDevice('gpu');
      const prompt = [1, 17, 23, 5, 42, 9, 77];
      for (const precision of ['fp32', 'fp16'] as const) {
        const fused = await greedyTrace(model, device, [prompt], [[]], 8, true, undefined, undefined, precision);
        expect(fused.mode).toBe('fused');
        const plain = await greedyTrace(model, device, [prompt], [[]], 8, false, fused);
        const tol = precision === 'fp16' ? 3e-2 : 1e-4;
        fused.logits.forEach((l, s) => expect(maxAbsDiff(l, plain.logits[s]), `${precision} step ${s}`).toBeLessThanOrEqual(tol));
      }
    } finally {
      delete process.env.GRAFT_ROW_PROJ;
    }
  }, 120_000);
});
