/**
 * The best rank-r factors B·A of a dense out×in matrix M (a weight change that no low-rank product holds
 * exactly: a DoRA or IA³ adapter's ΔW), without an SVD of M itself: a randomized range finder with power
 * iterations (Halko, Martinsson & Tropp 2011, alg. 4.4) gives an orthonormal basis Q of M's top k = r + 8
 * directions, and the small product Q·(QᵀM) is cut to rank r exactly by blend-svd.ts. The error is then
 * measured on M itself, never estimated: ‖M − B·A‖_F / ‖M‖_F.
 */
import { compressLowRank, matmul, thinQr, transpose } from './blend-svd.js';

const OVERSAMPLE = 8;
const POWER_ITERATIONS = 4;

export interface LowRankFit {
  /** out×rank and rank×in, float64, sharing √σ. */
  b: Float64Array;
  a: Float64Array;
  /** ‖M − B·A‖_F and ‖M‖_F. */
  residual: number;
  norm: number;
}

/** Deterministic N(0, 1)-ish test matrix (sum of uniforms): the fit must not depend on a global RNG. */
function probe(n: number, k: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Float64Array.from({ length: n * k }, () => u() + u() + u() - 1.5);
}

export function lowRankFit(m: Float64Array, out: number, inp: number, rank: number, seed = 1): LowRankFit {
  const k = Math.min(rank + OVERSAMPLE, out, inp);
  const mt = transpose(m, out, inp);
  let q = thinQr(matmul(m, probe(inp, k, seed), out, inp, k), out, k).q;
  for (let it = 0; it < POWER_ITERATIONS; it++) {
    const z = thinQr(matmul(mt, q, inp, out, k), inp, k).q;
    q = thinQr(matmul(m, z, out, inp, k), out, k).q;
  }
  // M ≈ Q·(QᵀM): a product of inner size k that compressLowRank cuts to rank r by an exact SVD.
  const coeffs = matmul(transpose(q, out, k), m, k, out, inp);
  const { b, a } = compressLowRank(q, coeffs, out, inp, k, rank);
  const fit = matmul(b, a, out, rank, inp);
  let residual = 0;
  let norm = 0;
  for (let i = 0; i < m.length; i++) {
    residual += (m[i] - fit[i]) ** 2;
    norm += m[i] ** 2;
  }
  return { b, a, residual: Math.sqrt(residual), norm: Math.sqrt(norm) };
}
