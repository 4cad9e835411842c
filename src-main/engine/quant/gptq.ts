/**
 * GPTQ (Frantar et al. 2022): rounds a weight matrix column by column and spreads each column's
 * rounding error over the columns not yet rounded, through the inverse Hessian of the layer's inputs
 * (H = XᵀX over calibration tokens), so the layer's outputs, not its weights, stay close. The storage
 * format is unchanged: the same int4 (MatMulNBits) or NF4 tensors, only better-chosen codes.
 *
 * Choices, all from the GPTQ paper and its reference code: dampening 1% of the mean diagonal, "act
 * order" (columns with the largest input energy first) with static groups (each block's scale and
 * zero point fixed from the original weights, so blocks stay contiguous as MatMulNBits reads them),
 * and dead inputs (zero diagonal) zeroed. Added here: each int4 block's range is searched for the least
 * input-weighted rounding error before GPTQ runs (clipping a rare outlier can cost less than the
 * coarser steps it forces on the rest of the block). For large in-dimensions the Hessian is taken block-diagonal
 * in windows of `window` columns: exact below that size, and it bounds the O(K³) factorization that
 * JavaScript does here.
 */
import { int4BlockParams, int4Blocks, INT4_BLOCK, int4Code, int4Scales, int4SymmetricRange, quantizeInt4, type Int4Range, type Int4Tensor } from './int4.js';
import { NF4_BLOCK, NF4_CODEBOOK, nearestNf4, nf4Absmax, quantizeNf4, type Nf4Tensor } from './nf4.js';

export interface GptqOpts {
  /** Dampening added to the diagonal, as a fraction of its mean (default 0.01). */
  damp?: number;
  /** Round columns in order of decreasing input energy (default true). */
  actOrder?: boolean;
  /** Largest block of the Hessian factorized as a whole (default 2048 columns). */
  window?: number;
  /** int4: search each block's range for the least input-weighted rounding error (default true). */
  clipSearch?: boolean;
}

const CLIP_STEPS = [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7];

/** The [lo, hi] among shrunk ranges whose rounding error, weighted by the inputs' energy, is least. */
function searchRange(w: Float32Array, K: number, diag: (k: number) => number): Int4Range {
  return (n, k0, k1, lo, hi) => {
    let best = Infinity,
      range: [number, number] = [lo, hi];
    for (const a of CLIP_STEPS)
      for (const b of CLIP_STEPS) {
        const l = lo * a,
          u = hi * b;
        const { scale: s, zp } = int4BlockParams(l, u);
        let err = 0;
        for (let k = k0; k < k1; k++) {
          const x = w[n * K + k];
          const e = x - (int4Code(x, s, zp) - zp) * s;
          err += diag(k) * e * e;
        }
        if (err < best) [best, range] = [err, [l, u]];
      }
    return range;
  };
}

/** Rounds x (row n, column k) and returns the dequantized value; records the code as a side effect. */
export type ElementQuantizer = (n: number, k: number, x: number) => number;

/** Lower Cholesky factor of the n×n symmetric positive-definite a (row-major), as a new array. */
function choleskyOf(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      const ri = i * n,
        rj = j * n;
      for (let k = 0; k < j; k++) s -= l[ri + k] * l[rj + k];
      if (i === j) {
        if (!(s > 0)) throw new Error('GPTQ: the Hessian is not positive definite (more dampening needed)');
        l[ri + i] = Math.sqrt(s);
      } else l[ri + j] = s / l[rj + j];
    }
  }
  return l;
}

/**
 * U upper triangular with H⁻¹ = UᵀU (the upper Cholesky factor of the inverse Hessian GPTQ walks).
 * With J the order reversal, chol(JHJ) = M gives H = RRᵀ for the upper R = JMJ, so H⁻¹ = R⁻ᵀR⁻¹ and
 * U = R⁻¹: one factorization and one triangular inverse instead of a full inverse and a second factorization.
 */
export function inverseHessianFactor(h: Float64Array, n: number): Float64Array {
  const rev = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rev[i * n + j] = h[(n - 1 - i) * n + (n - 1 - j)];
  const m = choleskyOf(rev, n);
  // R[i][k] = M[n-1-i][n-1-k]. Rows of U = R⁻¹ from the bottom up, U[i,:] = (eᵢ − Σₖ₍>ᵢ₎ R[i][k]·U[k,:]) / R[i][i]:
  // row operations on contiguous memory.
  const u = new Float64Array(n * n);
  for (let i = n - 1; i >= 0; i--) {
    const ui = i * n;
    const mi = (n - 1 - i) * n + (n - 1);
    u[ui + i] = 1;
    for (let k = i + 1; k < n; k++) {
      const r = m[mi - k];
      if (r === 0) continue;
      const uk = k * n;
      for (let j = k; j < n; j++) u[ui + j] -= r * u[uk + j];
    }
    const d = m[mi - i];
    for (let j = i; j < n; j++) u[ui + j] /= d;
  }
  return u;
}

/**
 * The inverse-Hessian factor of h + λI. XᵀX summed in fp32 over many tokens can come out slightly
 * indefinite for nearly collinear inputs; rather than fail a long quantization, λ grows tenfold (up
 * to three times), which only makes GPTQ's compensation more conservative.
 */
function dampedFactor(h: Float64Array, n: number, lambda: number): Float64Array {
  for (let attempt = 0; ; attempt++) {
    const a = Float64Array.from(h);
    for (let i = 0; i < n; i++) a[i * n + i] += lambda;
    try {
      return inverseHessianFactor(a, n);
    } catch (err) {
      if (attempt === 3) throw err;
      lambda *= 10;
    }
  }
}

/** Runs GPTQ over w [N, K] (row-major, HF [out, in]) with the input Hessian h [K, K]. */
export function gptqMatrix(w: Float32Array, shape: [number, number], h: Float64Array, quant: ElementQuantizer, o: GptqOpts = {}): void {
  const [N, K] = shape;
  if (h.length !== K * K) throw new Error(`GPTQ: Hessian has ${h.length} values, [${K}, ${K}] expected`);
  const win = Math.max(1, o.window ?? 2048);
  for (let k0 = 0; k0 < K; k0 += win) {
    const cols = Array.from({ length: Math.min(K, k0 + win) - k0 }, (_, i) => k0 + i);
    gptqWindow(w, N, K, h, cols, quant, o);
  }
}

function gptqWindow(w: Float32Array, N: number, K: number, h: Float64Array, cols: number[], quant: ElementQuantizer, o: GptqOpts): void {
  const diag = (k: number) => h[k * K + k];
  const dead = new Set(cols.filter((k) => !(diag(k) > 0)));
  const order = o.actOrder === false ? cols : [...cols].sort((a, b) => diag(b) - diag(a) || a - b);
  const n = order.length;
  const sub = new Float64Array(n * n);
  let mean = 0;
  for (const k of cols) mean += dead.has(k) ? 0 : diag(k);
  mean = mean / n || 1;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) sub[i * n + j] = dead.has(order[i]) || dead.has(order[j]) ? 0 : h[order[i] * K + order[j]];
    if (dead.has(order[i])) sub[i * n + i] = 1;
  }
  const u = dampedFactor(sub, n, (o.damp ?? 0.01) * mean);
  const row = new Float64Array(n);
  for (let r = 0; r < N; r++) {
    for (let i = 0; i < n; i++) row[i] = dead.has(order[i]) ? 0 : w[r * K + order[i]];
    for (let i = 0; i < n; i++) {
      const q = quant(r, order[i], row[i]);
      const err = (row[i] - q) / u[i * n + i];
      const ui = i * n;
      for (let j = i + 1; j < n; j++) row[j] -= err * u[ui + j];
    }
  }
}

/**
 * int4-b32 with zero points: scales and zero points from the weights (static groups), codes by GPTQ. `symmetric`:
 * every block's range made symmetric around 0 (zero point 8) after the clip search (scheme int4s).
 */
export function gptqInt4(w: Float32Array, shape: [number, number], h: Float64Array, o: GptqOpts & { symmetric?: boolean } = {}): Int4Tensor {
  const K = shape[1];
  const searched = o.clipSearch === false ? undefined : searchRange(w, K, (k) => h[k * K + k]);
  const range: Int4Range | undefined = !o.symmetric ? searched : searched ? (n, k0, k1, lo, hi) => int4SymmetricRange(n, k0, k1, ...searched(n, k0, k1, lo, hi)) : int4SymmetricRange;
  const t = quantizeInt4(w, shape, range);
  const nb = int4Blocks(shape[1]);
  const zpRow = Math.ceil(nb / 2);
  const scales = int4Scales(t);
  gptqMatrix(
    w,
    shape,
    h,
    (n, k, x) => {
      const blk = (k / INT4_BLOCK) | 0,
        j = k % INT4_BLOCK;
      const s = scales[n * nb + blk];
      const zb = t.zeroPoints[n * zpRow + (blk >> 1)];
      const zp = blk & 1 ? zb >> 4 : zb & 15;
      const q = int4Code(x, s, zp);
      const at = (n * nb + blk) * 16 + (j >> 1);
      t.b[at] = j & 1 ? (t.b[at] & 0x0f) | (q << 4) : (t.b[at] & 0xf0) | q;
      return Math.fround((q - zp) * s);
    },
    o,
  );
  return t;
}

/** NF4 with double-quantized absmax as the paper stores it (static blocks), codes by GPTQ. */
export function gptqNf4(w: Float32Array, shape: [number, number], h: Float64Array, o: GptqOpts = {}): Nf4Tensor {
  const t = quantizeNf4(w, shape);
  const amax = nf4Absmax(t);
  const K = shape[1];
  gptqMatrix(
    w,
    shape,
    h,
    (n, k, x) => {
      const i = n * K + k;
      const a = amax[(i / NF4_BLOCK) | 0];
      const q = nearestNf4(a > 0 ? x / a : 0);
      const at = i >> 1;
      t.codes[at] = i & 1 ? (t.codes[at] & 0x0f) | (q << 4) : (t.codes[at] & 0xf0) | q;
      return Math.fround(NF4_CODEBOOK[q] * a);
    },
    o,
  );
  return t;
}
