/**
 * The adapter rows' x·Aᵀ split along K in the fused decode graph (fused/fused-lora.ts, loraSlices): how many
 * slices each shape takes, and, on the CPU and WebGPU EPs, that the sliced Aᵀ feeds through splitKProjection
 * give every row's own x·Aᵀ, as the plain batched MatMul over the unsliced feeds does, for one token and a
 * prefill's several (the any-length graph's symbolic token axis). The whole decode with split rows is checked
 * against the plain graph on the GPU in split-k.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { layoutFor, rowLoraFeeds } from '../../../src-main/engine/adapters/row-lora.js';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { fusedLoraFeeds, loraSlices } from '../../../src-main/engine/infer/fused/fused-lora.js';
import { splitKProjection } from '../../../src-main/engine/infer/fused/nodes.js';
import type { ModelSpec } from '../../../src-main/engine/models/spec.js';
import * as op from '../../../src-main/engine/ops/index.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { maxAbsDiff } from './fused-helpers.js';
import { randomAdapter } from './helpers.js';
import { EPS_UNDER_TEST } from '../webgpu-under-test.js';

describe('loraSlices', () => {
  it('slices each group of Qwen2.5-0.5B shapes, 4 rows, to about 256 workgroups, none when split-K is off', () => {
    // qkv (r 48: 2 workgroups a row), o and gate/up (K 896): 28 slices of 32, the most that fit
    expect(loraSlices(896, 48, 4, 1024)).toBe(28);
    expect(loraSlices(896, 16, 4, 1024)).toBe(28);
    expect(loraSlices(896, 32, 4, 1024)).toBe(28);
    // down (K 4,864, r 16): 64 slices of 76 = 256 workgroups
    expect(loraSlices(4864, 16, 4, 1024)).toBe(64);
    // Qwen2.5-1.5B down (K 8,960): 64 slices of 140
    expect(loraSlices(8960, 16, 4, 1024)).toBe(64);
    expect(loraSlices(4864, 16, 4, 0)).toBe(1);
    // the base projection's slicing where it gives 64 workgroups or more (x transposed once for both)
    expect(loraSlices(4864, 16, 4, 1024, 38)).toBe(38);
    expect(loraSlices(896, 32, 4, 1024, 4)).toBe(28); // 16 workgroups: its own
    expect(loraSlices(896, 48, 4, 0, 28)).toBe(1); // off
    expect(loraSlices(24, 16, 4, 1024)).toBe(1); // too short to split
    for (const [K, r, B] of [[896, 48, 4], [4864, 16, 1], [1536, 48, 8], [576, 16, 4], [8960, 32, 4]]) {
      const S = loraSlices(K, r, B, 1024);
      expect(K % S).toBe(0);
      expect((K / S) % 4).toBe(0);
      expect(K / S).toBeGreaterThanOrEqual(32);
      expect(S * B * r).toBeLessThanOrEqual(16_384);
    }
  });
});

const SPEC = { layers: 1, hidden: 64, intermediate: 96, heads: 4, kvHeads: 2, headDim: 16, fusedProjections: false } as unknown as ModelSpec;
const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 3.3 + i * 0.91) * 0.5);

describe.each(EPS_UNDER_TEST)("the rows' split x·Aᵀ on the %s", (_name, pref, enabled) => {
  it.skipIf(!enabled)('sliced feeds through splitKProjection equal the plain batched product, one token and several', async () => {
    const device = await resolveDevice(pref);
    const rows = [[{ weights: randomAdapter(SPEC, 4, ['q', 'v', 'down'], 1), scale: 1 }], [], [{ weights: randomAdapter(SPEC, 4, ['q', 'down'], 2), scale: 0.5 }]];
    const layout = layoutFor(rows)!;
    const plainFeeds = rowLoraFeeds(SPEC, layout, rows);
    const flat = fusedLoraFeeds(SPEC, layout, plainFeeds, {});
    const sliced = fusedLoraFeeds(SPEC, layout, plainFeeds, { loraSplitK: 64 });
    const B = rows.length;
    const g = new Graph('lora_split_check');
    let checked = 0;
    for (const name of Object.keys(flat).filter((n) => n.startsWith('lora_at.'))) {
      const [a, b] = [flat[name], sliced[name]];
      expect(b.shape.length, name).toBe(4); // every group of this shape splits at 64 workgroups
      const [S, , Ks, r] = b.shape;
      expect(S * Ks).toBe(a.shape[1]);
      const K = a.shape[1];
      const x = g.input(`x_${K}`, 'float32', [B, 1, K]);
      g.symbolicDims.set(x.name, new Map([[1, 'tokens']]));
      const init = (n: string, t: HostTensor) => g.init(n, t);
      const plain = op.matmul(g, x, init(`${name}_flat`, a));
      const split = splitKProjection(g, x, init(`${name}_sliced`, b));
      g.output(plain, `${name}_plain`);
      g.output(split, `${name}_split`);
      for (const o of [`${name}_plain`, `${name}_split`]) g.symbolicDims.set(o, new Map([[1, 'tokens']]));
      expect(split.shape).toEqual([B, 1, r]);
      checked++;
    }
    expect(checked).toBe(2); // the layout's groups: qkv (q and v, rank 8 each), down
    const s = await GraphSession.create(g, { device });
    try {
      for (const t of [1, 5]) {
        const feeds = Object.fromEntries(g.inputs.map((i) => [i.name, { dtype: 'float32' as const, shape: [B, t, i.shape[2]], data: rand(B * t * i.shape[2], t) }]));
        const out = (await s.run(feeds)) as unknown as Record<string, { shape: number[]; data: Float32Array }>;
        for (const name of Object.keys(flat).filter((n) => n.startsWith('lora_at.'))) {
          const [p, q] = [out[`${name}_plain`], out[`${name}_split`]];
          expect(q.shape).toEqual(p.shape);
          expect(maxAbsDiff(q.data, p.data), name).toBeLessThanOrEqual(1e-5);
          expect(Math.max(...p.data.map(Math.abs)), name).toBeGreaterThan(0.01);
          // the row without an adapter has zeros, and stays so sliced
          expect(Math.max(...q.data.subarray(t * p.shape[2], 2 * t * p.shape[2]).map(Math.abs))).toBe(0);
        }
      }
    } finally {
      await s.release();
    }
  }, 60_000);
});
