/**
 * GPTQ's math on synthetic layers: the inverse-Hessian factor, lower output error than round-to-
 * nearest in the same format, the format's invariants (codes, static block scales, exact zeros for
 * dead inputs).
 */
import { describe, expect, it } from 'vitest';
import {
  dequantizeInt4,
  dequantizeNf4,
  gptqInt4,
  gptqNf4,
  int4Scales,
  nf4Absmax,
  quantizeInt4,
  int4SymmetricRange,
  quantizeNf4,
} from '../../../src-main/engine/quant/index.js';
import { inverseHessianFactor } from '../../../src-main/engine/quant/gptq.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());

/** Inputs X [T, K] with correlated columns and uneven energy, as real activations have. */
function inputs(T: number, K: number, seed: number): Float64Array {
  const r = rng(seed);
  const f = 8; // a few shared factors make columns correlate
  const mix = Float64Array.from({ length: f * K }, () => gauss(r));
  const x = new Float64Array(T * K);
  for (let t = 0; t < T; t++) {
    const z = Array.from({ length: f }, () => gauss(r));
    for (let k = 0; k < K; k++) {
      let v = 0.3 * gauss(r);
      for (let j = 0; j < f; j++) v += z[j] * mix[j * K + k];
      x[t * K + k] = v * (1 + 3 * (k % 7 === 0 ? 1 : 0));
    }
  }
  return x;
}

function hessian(x: Float64Array, T: number, K: number): Float64Array {
  const h = new Float64Array(K * K);
  for (let t = 0; t < T; t++) for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) h[i * K + j] += x[t * K + i] * x[t * K + j];
  return h;
}

/** ‖(W − Ŵ)Xᵀ‖²: the layer-output error GPTQ minimizes. */
function outputError(w: Float32Array, q: Float32Array, h: Float64Array, N: number, K: number): number {
  let e = 0;
  for (let n = 0; n < N; n++)
    for (let i = 0; i < K; i++) {
      const di = w[n * K + i] - q[n * K + i];
      for (let j = 0; j < K; j++) e += di * h[i * K + j] * (w[n * K + j] - q[n * K + j]);
    }
  return e;
}

const N = 24,
  K = 96,
  T = 400;
const r = rng(7);
const W = Float32Array.from({ length: N * K }, () => 0.05 * gauss(r));
const X = inputs(T, K, 11);
const H = hessian(X, T, K);

describe('GPTQ', () => {
  it('factors the inverse Hessian as UᵀU with U upper triangular', () => {
    const n = 9;
    const x = inputs(50, n, 3);
    const h = hessian(x, 50, n);
    for (let i = 0; i < n; i++) h[i * n + i] += 0.1;
    const u = inverseHessianFactor(h, n);
    let worst = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        if (i > j) expect(u[i * n + j]).toBe(0);
        let s = 0; // (H · UᵀU)[i][j]
        for (let k = 0; k < n; k++) {
          let m = 0;
          for (let l = 0; l < n; l++) m += u[l * n + k] * u[l * n + j];
          s += h[i * n + k] * m;
        }
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
    expect(worst).toBeLessThan(1e-9);
  });

  it('int4: a lower layer-output error than round-to-nearest, in the same format', () => {
    const rtn = dequantizeInt4(quantizeInt4(W, [N, K]));
    const g = dequantizeInt4(gptqInt4(W, [N, K], H));
    const eR = outputError(W, rtn, H, N, K),
      eG = outputError(W, g, H, N, K);
    console.log(`int4 output error: RTN ${eR.toExponential(3)}, GPTQ ${eG.toExponential(3)} (${((100 * eG) / eR).toFixed(0)}%)`);
    expect(eG).toBeLessThan(0.6 * eR);
    // Plain GPTQ (no range search, no refit) keeps round-to-nearest's block scales and zero points.
    const plain = gptqInt4(W, [N, K], H, { clipSearch: false });
    const ref = quantizeInt4(W, [N, K]);
    expect(int4Scales(plain)).toEqual(int4Scales(ref));
    expect(plain.zeroPoints).toEqual(ref.zeroPoints);
    expect(plain.b).not.toEqual(ref.b);
  });

  it('int4s (symmetric): every zero point 8, and a lower layer-output error than symmetric round-to-nearest', () => {
    const rtn = quantizeInt4(W, [N, K], int4SymmetricRange);
    const g = gptqInt4(W, [N, K], H, { symmetric: true });
    const nb = Math.ceil(K / 32);
    const zps = (t: typeof g) => Array.from({ length: N * nb }, (_, i) => (t.zeroPoints[Math.floor(i / nb) * Math.ceil(nb / 2) + ((i % nb) >> 1)] >> ((i % nb) & 1 ? 4 : 0)) & 15);
    for (const t of [rtn, g]) expect(new Set(zps(t))).toEqual(new Set([8]));
    const eR = outputError(W, dequantizeInt4(rtn), H, N, K),
      eG = outputError(W, dequantizeInt4(g), H, N, K);
    console.log(`int4s output error: RTN ${eR.toExponential(3)}, GPTQ ${eG.toExponential(3)} (${((100 * eG) / eR).toFixed(0)}%)`);
    expect(eG).toBeLessThan(0.6 * eR);
  });

  it('NF4: a lower layer-output error than round-to-nearest, with the paper absmax blocks unchanged', () => {
    const ref = quantizeNf4(W, [N, K]);
    const t = gptqNf4(W, [N, K], H);
    expect(nf4Absmax(t)).toEqual(nf4Absmax(ref));
    const eR = outputError(W, dequantizeNf4(ref), H, N, K),
      eG = outputError(W, dequantizeNf4(t), H, N, K);
    console.log(`NF4 output error: RTN ${eR.toExponential(3)}, GPTQ ${eG.toExponential(3)} (${((100 * eG) / eR).toFixed(0)}%)`);
    expect(eG).toBeLessThan(0.6 * eR);
  });

  it('gives dead inputs (never active) exact zero weights, and handles a ragged last block', () => {
    const k = 70; // not a multiple of 32 or 64
    const x = inputs(200, k, 5);
    for (let t = 0; t < 200; t++) x[t * k + 3] = 0;
    const h = hessian(x, 200, k);
    const w = Float32Array.from({ length: 8 * k }, () => 0.05 * gauss(r));
    for (const q of [dequantizeInt4(gptqInt4(w, [8, k], h)), dequantizeNf4(gptqNf4(w, [8, k], h))]) {
      for (let n = 0; n < 8; n++) expect(q[n * k + 3]).toBe(0);
      expect(q.length).toBe(8 * k);
    }
  });

  it('raises the dampening when a Hessian comes out indefinite, instead of failing', () => {
    // Positive diagonal, one negative eigenvalue (−1): 1% dampening is not enough, 1000% is.
    const h = Float64Array.of(1, 2, 2, 1);
    const w = Float32Array.of(0.01, -0.02, 0.03, 0.005);
    const q = dequantizeInt4(gptqInt4(w, [2, 2], h));
    expect(q.every(Number.isFinite)).toBe(true);
    // Past three tenfold raises it gives up, saying why.
    expect(() => gptqInt4(w, [2, 2], Float64Array.of(1, 200, 200, 1))).toThrow(/not positive definite/);
  });

  it('bounds the factorization with a block-diagonal window and stays close to the full result', () => {
    const full = outputError(W, dequantizeInt4(gptqInt4(W, [N, K], H)), H, N, K);
    const windowed = outputError(W, dequantizeInt4(gptqInt4(W, [N, K], H, { window: 32 })), H, N, K);
    const rtn = outputError(W, dequantizeInt4(quantizeInt4(W, [N, K])), H, N, K);
    expect(windowed).toBeLessThan(rtn);
    expect(windowed).toBeGreaterThanOrEqual(full * 0.9);
  });
});
