import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blendAdapters } from '../../../src-main/engine/adapters/blend.js';
import { compressLowRank, jacobiSvd, matmul, thinQr, transpose } from '../../../src-main/engine/adapters/blend-svd.js';
import { readAdapterWeights } from '../../../src-main/engine/adapters/compat.js';
import type { AdapterWeights } from '../../../src-main/engine/adapters/adapter-weights.js';
import { loraScale, peftTensorName } from '../../../src-main/engine/adapters/lora-config.js';
import { FIX } from './helpers.js';

/** Deterministic pseudo-random numbers (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}
const randomMatrix = (n: number, m: number, r: () => number) => Float64Array.from({ length: n * m }, r);
const frob = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));
const sub = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, i) => v - b[i]);

/** Dense ΔW = s·B·A of one module of an adapter, in float64. */
function denseDelta(w: AdapterWeights, layer: number, target: 'q' | 'v' | 'down', factor = 1): Float64Array {
  const a = w.tensors.get(peftTensorName(layer, target, 'A'))!;
  const b = w.tensors.get(peftTensorName(layer, target, 'B'))!;
  const inp = a.length / w.r, out = b.length / w.r;
  const d = matmul(Float64Array.from(b), Float64Array.from(a), out, w.r, inp);
  const s = loraScale(w) * factor;
  return d.map((v) => v * s);
}

describe('small SVD pieces', () => {
  it('thin QR reproduces X with orthonormal Q', () => {
    const r = rng(1);
    const x = randomMatrix(30, 5, r);
    const { q, r: rr } = thinQr(x, 30, 5);
    expect(frob(sub(matmul(q, rr, 30, 5, 5), x))).toBeLessThan(1e-12);
    const qtq = matmul(transpose(q, 30, 5), q, 5, 30, 5);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) expect(Math.abs(qtq[i * 5 + j] - (i === j ? 1 : 0))).toBeLessThan(1e-12);
  });

  it('Jacobi SVD reproduces M with descending singular values and orthogonal factors', () => {
    const m = randomMatrix(7, 7, rng(2));
    const { u, s, v } = jacobiSvd(m, 7);
    const us = Float64Array.from(u, (x, i) => x * s[i % 7]);
    expect(frob(sub(matmul(us, transpose(v, 7, 7), 7, 7, 7), m))).toBeLessThan(1e-12);
    for (let i = 1; i < 7; i++) expect(s[i]).toBeLessThanOrEqual(s[i - 1]);
    const vtv = matmul(transpose(v, 7, 7), v, 7, 7, 7);
    for (let i = 0; i < 7; i++) expect(Math.abs(vtv[i * 7 + i] - 1)).toBeLessThan(1e-12);
  });

  it('compression keeps B·A exactly at full rank and reports the true error when truncating', () => {
    const r = rng(3);
    const [out, inp, R] = [40, 24, 6];
    const b = randomMatrix(out, R, r), a = randomMatrix(R, inp, r);
    const full = matmul(b, a, out, R, inp);
    const keep = compressLowRank(b, a, out, inp, R, R);
    expect(frob(sub(matmul(keep.b, keep.a, out, R, inp), full)) / frob(full)).toBeLessThan(1e-12);
    const cut = compressLowRank(b, a, out, inp, R, 3);
    const actual = frob(sub(matmul(cut.b, cut.a, out, 3, inp), full)) / frob(full);
    const s2 = Array.from(cut.sigma, (x) => x * x);
    const predicted = Math.sqrt(s2.slice(3).reduce((x, y) => x + y, 0) / s2.reduce((x, y) => x + y, 0));
    expect(actual).toBeGreaterThan(0.01);
    expect(Math.abs(actual - predicted)).toBeLessThan(1e-12);
    // Eckart-Young: the sum of the singular values' squares is the energy of B·A
    expect(Math.abs(Math.sqrt(s2.reduce((x, y) => x + y, 0)) - frob(full))).toBeLessThan(1e-9);
  });

  it('handles rank-deficient inputs (duplicated or zero columns)', () => {
    const r = rng(4);
    const b1 = randomMatrix(20, 2, r), a1 = randomMatrix(2, 10, r);
    const b = new Float64Array(20 * 4), a = new Float64Array(4 * 10);
    for (let i = 0; i < 20; i++) for (let j = 0; j < 2; j++) b[i * 4 + j] = b[i * 4 + j + 2] = b1[i * 2 + j];
    a.set(a1); // second half of A is zero
    const full = matmul(b, a, 20, 4, 10);
    const c = compressLowRank(b, a, 20, 10, 4, 2);
    expect(frob(sub(matmul(c.b, c.a, 20, 2, 10), full)) / frob(full)).toBeLessThan(1e-10);
  });
});

describe('blend', () => {
  const a = readAdapterWeights(path.join(FIX, 'llama/adapter'));
  const b = readAdapterWeights(path.join(FIX, 'qwen2/adapter'));

  it('exact: ranks concatenated, ΔW = Σ wᵢ·sᵢ·Bᵢ·Aᵢ for every module', () => {
    const res = blendAdapters([{ adapter: a, weight: 0.3 }, { adapter: b, weight: 0.7 }]);
    expect([res.mode, res.weights.r, res.weights.alpha, res.relativeError]).toEqual(['exact', 8, 8, 0]);
    for (const [layer, target] of [[0, 'q'], [1, 'v'], [1, 'down']] as const) {
      const fromB = denseDelta(b, layer, target, 0.7);
      const want = denseDelta(a, layer, target, 0.3).map((v, i) => v + fromB[i]);
      const got = denseDelta(res.weights, layer, target);
      expect(frob(sub(got, want)) / frob(want)).toBeLessThan(1e-6);
    }
  });

  it('compressed: rank r with the reconstruction error reported and true', () => {
    const res = blendAdapters([{ adapter: a, weight: 0.5 }, { adapter: b, weight: 0.5 }], { rank: 4 });
    expect(res.mode).toBe('compressed');
    expect(res.weights.r).toBe(4);
    expect(res.relativeError).toBeGreaterThan(0);
    expect(res.relativeError).toBeLessThan(1);
    expect(res.worst!.relativeError).toBeGreaterThanOrEqual(res.relativeError * 0.999);
    // check one module's error densely against what the blend kept
    const exact = blendAdapters([{ adapter: a, weight: 0.5 }, { adapter: b, weight: 0.5 }]);
    let lost = 0, total = 0;
    for (let layer = 0; layer < 2; layer++) {
      for (const t of ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const) {
        const want = denseDelta(exact.weights, layer, t as 'q');
        const got = denseDelta(res.weights, layer, t as 'q');
        lost += frob(sub(got, want)) ** 2;
        total += frob(want) ** 2;
      }
    }
    expect(Math.abs(Math.sqrt(lost / total) - res.relativeError)).toBeLessThan(1e-5);
  });

  it('refuses adapters for differently shaped bases', () => {
    const narrow: AdapterWeights = { ...a, tensors: new Map([...a.tensors].map(([n, t]) => [n, n.includes('layers.0.self_attn.v_proj.lora_B') ? t.subarray(0, 16 * a.r) : t])) };
    expect(() => blendAdapters([{ adapter: a, weight: 1 }, { adapter: narrow, weight: 1, label: 'narrow' }])).toThrow(/narrow: .*v_proj.*different base models/);
  });
});
