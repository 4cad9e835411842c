/**
 * rowMax (fused/nodes.ts): a row's maximum in two reductions over parts of the row, for the fused graph's argmax
 * on vocabularies that divide (151,936 = 128 × 1,187); the value of one ReduceMax, ties and a maximum in the
 * last place included, on the CPU EP and the WebGPU EP. Then greedy decoding through the fused graph's argmax
 * on a 3,000-word vocabulary (10 parts) gives the ids of the plain graph's logits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { rowMax } from '../../../src-main/engine/infer/fused/nodes.js';
import { KvDecoder } from '../../../src-main/engine/infer/kv-decoder.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { TINY_LLAMA, writeRandomModel } from '../../../src-main/engine/models/random-model.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { greedyTrace } from './fused-helpers.js';
import { EPS_UNDER_TEST, gpuOk, gpuName } from '../webgpu-under-test.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-rowmax-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(EPS_UNDER_TEST)('rowMax on the %s', (_name, pref, enabled) => {
  it.skipIf(!enabled).each([
    [3, 3000, 2],
    [2, 151936, 2],
    [2, 96, 1], // too short to part: one ReduceMax
  ])('[%i, %i]: the maximum of every row (%i reductions)', async (B, V, reductions) => {
    const device = await resolveDevice(pref);
    const g = new Graph('rowmax_check');
    const x = g.input('x', 'float32', [B, V]);
    const axes = g.init('axes', { dtype: 'int64', shape: [1], data: BigInt64Array.of(1n) });
    g.output(rowMax(g, x, axes), 'max');
    expect(g.nodes.filter((n) => n.op === 'ReduceMax')).toHaveLength(reductions);
    const data = Float32Array.from({ length: B * V }, (_, i) => Math.sin(i * 0.37) * 3 - 5);
    data[V - 1] = 9; // row 0: the last place
    data[V + 17] = 7; // row 1: a tie, twice
    data[V + V - 5] = 7;
    const s = await GraphSession.create(g, { device });
    try {
      const out = (await s.run({ x: { dtype: 'float32', shape: [B, V], data } })).max as HostTensor;
      const want = Array.from({ length: B }, (_, b) => data.subarray(b * V, (b + 1) * V).reduce((a, v) => Math.max(a, v), -Infinity));
      expect(Array.from(out.data as Float32Array)).toEqual(want);
    } finally {
      await s.release();
    }
  }, 60_000);
});

describe('greedy ids from the fused argmax in parts', () => {
  it.skipIf(!gpuOk)(`${gpuName}: a 3,000-word vocabulary gives the ids of the plain graph's logits`, async () => {
    const model = await loadModel(await writeRandomModel(path.join(dir, 'wide'), { ...TINY_LLAMA, hidden_size: 64, intermediate_size: 80, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 3000 }, { seed: 3, embedStd: 1, std: 0.2 }));
    const device = await resolveDevice('gpu');
    const prompts = [[2, 30, 11, 7], [5, 9, 400, 2999]];
    const steps = 10;
    const plain = await greedyTrace(model, device, prompts, [[], []], steps, false);
    const dec = new KvDecoder(model, { device, rows: 2, capacity: 64, lora: null, fused: true });
    try {
      const first = await dec.prefillGreedy(prompts, steps);
      expect(dec.mode).toBe('fused');
      const got = [Array.from(first)];
      for (const ids of await dec.decodeGreedyChain(Array.from(first), steps - 1)) got.push(Array.from(ids));
      prompts.forEach((p, b) => expect(got.map((ids) => ids[b])).toEqual(plain.ids[b].slice(p.length)));
    } finally {
      await dec.dispose();
    }
  }, 120_000);
});
