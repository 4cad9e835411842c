/**
 * The LoRA factors' x·Aᵀ split along its long inner axis in the training step (ops/matmul.ts splitInnerForward,
 * the GPU's form) against one MatMul: the loss and every LoRA gradient of a step graph must match, on CPU and on
 * the WebGPU EP, with and without activation checkpointing. The model is shaped so every target's input is long
 * enough to split when asked from 512 (hidden 512: slices of 256; MLP 640: slices of 128). Tolerance: 1e-5 relative RMS on the
 * gradient vector (the slices change only the order of the sum over the inner axis).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LoraConfig } from '../../../src-main/engine/adapters/lora-config.js';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { splitInnerForward } from '../../../src-main/engine/ops/matmul.js';
import { resolveDevice, type DevicePref } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { buildStepGraph, FLAT } from '../../../src-main/engine/train/step-graph.js';
import { EPS_UNDER_TEST } from '../webgpu-under-test.js';
import { batchFeeds } from './batch-feeds.js';

const CFG = { ...TINY_LLAMA, hidden_size: 512, intermediate_size: 640, num_attention_heads: 8, num_key_value_heads: 4, max_position_embeddings: 64, rms_norm_eps: 1e-6, tie_word_embeddings: false };
const dir = await writeRandomModel(mkdtempSync(path.join(os.tmpdir(), 'graft-split-inner-')), CFG, { seed: 5, embedStd: 0.5, std: 0.05 });
const model = await loadModel(dir);
const LORA: LoraConfig = { r: 4, alpha: 8, dropout: 0, rslora: false, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] };
const [B, T] = [2, 8];

describe('splitInnerForward', () => {
  it('splits a long inner axis over few rows into slices of 256 or 128, one transpose per x, and leaves the rest one MatMul', () => {
    const g = new Graph('split_inner_shapes');
    const x = g.input('x', 'float32', [1, 512, 8960]);
    const w = g.input('w', 'float32', [8960, 16]);
    const y = splitInnerForward(g, x, w);
    splitInnerForward(g, x, g.input('w2', 'float32', [8960, 16]));
    expect(y.shape).toEqual([1, 512, 16]);
    expect(g.nodes.filter((n) => n.op === 'Transpose')).toHaveLength(1); // the second product reuses x's slices
    expect(g.nodes.find((n) => n.op === 'MatMul')!.outputs[0].shape).toEqual([35, 512, 16]);
    const count = (xs: number[], ws: number[]) => {
      const h = new Graph('c');
      splitInnerForward(h, h.input('x', 'float32', xs), h.input('w', 'float32', ws));
      return h.nodes.filter((n) => n.op === 'MatMul').map((n) => n.outputs[0].shape[0]);
    };
    expect(count([1, 512, 4864], [4864, 16])).toEqual([19]); // 0.5B down: 19 slices of 256
    expect(count([4096, 4864], [4864, 16])).toEqual([4096]); // 8×512 rows: workgroups enough, one MatMul
    expect(count([512, 64], [64, 16])).toEqual([512]); // short input
    expect(count([1, 512, 1536], [1536, 16])).toEqual([1]); // below the default 2,048: one MatMul ([1, 512, 16])
    const h = new Graph('d');
    splitInnerForward(h, h.input('x', 'float32', [1, 512, 1536]), h.input('w', 'float32', [1536, 16]), 512);
    expect(h.nodes.filter((n) => n.op === 'MatMul').map((n) => n.outputs[0].shape[0])).toEqual([6]); // from 512 when asked
  });
});

async function grads(pref: DevicePref, splitInner: number, recomputeActivations: boolean) {
  const sg = buildStepGraph({ spec: model.spec, source: model.source, lora: LORA, batch: B, seq: T, purpose: 'grads', splitInner, recomputeActivations });
  const transposes = sg.graph.nodes.filter((n) => n.op === 'MatMul' && n.outputs[0].shape.length === 3 && n.outputs[0].shape[1] === B * T).length;
  const session = await GraphSession.create(sg.graph, { device: await resolveDevice(pref) });
  let seed = 11;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const ids = Int32Array.from({ length: B * T }, () => Math.floor(((rand() + 1) / 2) * CFG.vocab_size));
  const feeds: Record<string, HostTensor> = {
    ...batchFeeds(ids, B, T),
    [FLAT]: { dtype: 'float32', shape: [sg.size], data: Float32Array.from({ length: sg.size }, () => rand() * 0.2) },
  };
  try {
    const out = (await session.run(feeds)) as unknown as Record<string, { data: Float32Array }>;
    return { loss: out.loss_sum.data[0], grad: Float32Array.from(out.grad.data), splitProducts: transposes };
  } finally {
    await session.release();
  }
}

const relRms = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) [d, n] = [d + (a[i] - b[i]) ** 2, n + b[i] ** 2];
  return Math.sqrt(d / n);
};

describe.each(EPS_UNDER_TEST)('a step graph with x·Aᵀ split on the %s', (_name, pref, enabled) => {
  for (const recompute of [false, true]) {
    it.skipIf(!enabled)(`gives the plain graph's loss and LoRA gradients${recompute ? ', activations recomputed' : ''}`, async () => {
      const plain = await grads(pref, 0, recompute);
      const split = await grads(pref, 512, recompute);
      // 7 targets × 2 layers of batched [S, B·T, r] products in the split graph's forward, none in the plain one's
      expect(split.splitProducts).toBeGreaterThanOrEqual(14);
      expect(plain.splitProducts).toBe(0);
      expect(Math.abs(split.loss - plain.loss) / Math.abs(plain.loss)).toBeLessThan(1e-5);
      expect(Math.max(...plain.grad.map(Math.abs))).toBeGreaterThan(1e-4); // the gradient is not all zeros
      expect(relRms(split.grad, plain.grad)).toBeLessThan(1e-5);
    }, 120_000);
  }
});
