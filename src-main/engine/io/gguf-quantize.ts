import { f16ToF32, f32ToF16 } from './half.js';

/**
 * ggml block quantizers (the inverse of gguf-dequant.ts), written from ggml's reference rounding rules
 * (quantize_row_*_ref in ggml-quants.c) so llama.cpp reads the blocks exactly as Graft's dequantizer does.
 * Block layouts are ggml facts:
 *   Q8_0 {f16 d; i8 q[32]}                               d = max|x| / 127, q = round(x / d)
 *   Q4_K {f16 d; f16 dmin; u8 scales[12]; u8 q[128]}     8 sub-blocks of 32: x ≈ d·sc·q - dmin·m, 6-bit sc/m
 *   Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}   16 sub-blocks of 16: x ≈ d·sc·(q - 32)
 * The arithmetic is float32, one rounding per operation like ggml's C (built without FMA contraction), so the
 * bytes equal ggml's reference quantizers' (test/engine/io/gguf-quantize.test.ts compares them when it can build them).
 */

/** ggml's nearest_int: round to nearest, ties to even (its float trick), unlike Math.round. */
export function nearestInt(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** C's roundf: halves away from zero. */
const roundf = (v: number) => Math.sign(v) * Math.round(Math.abs(v));

const half = (v: number) => f16ToF32(f32ToF16(v));
const putF16 = (b: Uint8Array, o: number, v: number) => {
  const h = f32ToF16(v);
  b[o] = h & 0xff;
  b[o + 1] = h >> 8;
};

export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const nb = x.length / 32;
  const out = new Uint8Array(nb * 34);
  for (let blk = 0; blk < nb; blk++) {
    const o = blk * 34, base = blk * 32;
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[base + j]));
    const d = Math.fround(amax / 127);
    const id = d ? 1 / d : 0;
    putF16(out, o, d);
    for (let j = 0; j < 32; j++) out[o + 2 + j] = roundf(x[base + j] * id) & 0xff;
  }
  return out;
}

/** float32 arithmetic, one operation at a time, as ggml's C does: the codes then match its bytes exactly. */
const f = Math.fround;
const F01 = f(0.1);

/**
 * ggml's make_qkx2_quants for one sub-block: the scale and (negated) min of x ≈ scale·L + min with L in
 * 0..nmax, searching 21 candidate scales around the range and refitting each by weighted least squares.
 */
function fitScaleMin(x: Float32Array, at: number, n: number, nmax: number, w: Float32Array, L: Uint8Array, lAt: number, aux: Uint8Array): { scale: number; min: number } {
  let min = x[at], max = x[at], sumW = w[0], sumX = f(w[0] * x[at]);
  for (let i = 1; i < n; i++) {
    const v = x[at + i];
    if (v < min) min = v;
    if (v > max) max = v;
    sumW = f(sumW + w[i]);
    sumX = f(sumX + f(w[i] * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lAt, lAt + n);
    return { scale: 0, min: -min };
  }
  let iscale = f(nmax / f(max - min)), scale = f(1 / iscale), best = 0;
  for (let i = 0; i < n; i++) {
    const l = Math.max(0, Math.min(nmax, nearestInt(f(iscale * f(x[at + i] - min)))));
    L[lAt + i] = l;
    const diff = f(f(f(scale * l) + min) - x[at + i]);
    best = f(best + f(w[i] * f(diff * diff)));
  }
  for (let step = 0; step <= 20; step++) {
    // min is the best fit so far (ggml moves it), so later candidates span from it
    iscale = f(f(f(-1 + f(F01 * step)) + nmax) / f(max - min));
    let sumL = 0, sumL2 = 0, sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(f(iscale * f(x[at + i] - min)))));
      aux[i] = l;
      const wl = f(w[i] * l);
      sumL = f(sumL + wl);
      sumL2 = f(sumL2 + f(wl * l));
      sumXL = f(sumXL + f(wl * x[at + i]));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (!(D > 0)) continue;
    let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
    let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = f(sumXL / sumL2);
    }
    let err = 0;
    for (let i = 0; i < n; i++) {
      const diff = f(f(f(thisScale * aux[i]) + thisMin) - x[at + i]);
      err = f(err + f(w[i] * f(diff * diff)));
    }
    if (err < best) {
      L.set(aux.subarray(0, n), lAt);
      best = err;
      scale = thisScale;
      min = thisMin;
    }
  }
  return { scale, min: -min };
}

export function quantizeQ4_K(x: Float32Array): Uint8Array {
  const nb = x.length / 256;
  const out = new Uint8Array(nb * 144);
  const L = new Uint8Array(256), aux = new Uint8Array(32), w = new Float32Array(32);
  const scales = new Float32Array(8), mins = new Float32Array(8);
  for (let blk = 0; blk < nb; blk++) {
    const o = blk * 144, base = blk * 256;
    let maxScale = 0, maxMin = 0;
    for (let j = 0; j < 8; j++) {
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(x[base + 32 * j + l] * x[base + 32 * j + l]));
      const avX = f(Math.sqrt(f(sumX2 / 32)));
      for (let l = 0; l < 32; l++) w[l] = avX + Math.abs(x[base + 32 * j + l]);
      const r = fitScaleMin(x, base + 32 * j, 32, 15, w, L, 32 * j, aux);
      scales[j] = r.scale;
      mins[j] = r.min;
      if (scales[j] > maxScale) maxScale = scales[j];
      if (mins[j] > maxMin) maxMin = mins[j];
    }
    const invScale = maxScale > 0 ? f(63 / maxScale) : 0, invMin = maxMin > 0 ? f(63 / maxMin) : 0;
    const sc = o + 4;
    for (let j = 0; j < 8; j++) {
      const ls = Math.min(63, nearestInt(f(invScale * scales[j]))), lm = Math.min(63, nearestInt(f(invMin * mins[j])));
      if (j < 4) {
        out[sc + j] = ls;
        out[sc + j + 4] = lm;
      } else {
        out[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
        out[sc + j - 4] |= (ls >> 4) << 6;
        out[sc + j] |= (lm >> 4) << 6;
      }
    }
    putF16(out, o, f(maxScale / 63));
    putF16(out, o + 2, f(maxMin / 63));
    const d = half(f(maxScale / 63)), dmin = half(f(maxMin / 63));
    // requantize against the stored (f16, 6-bit) scales, as ggml does, so the codes fit what is read back
    for (let j = 0; j < 8; j++) {
      const [s, m] = j < 4 ? [out[sc + j] & 63, out[sc + j + 4] & 63] : [(out[sc + j + 4] & 0xf) | ((out[sc + j - 4] >> 6) << 4), (out[sc + j + 4] >> 4) | ((out[sc + j] >> 6) << 4)];
      const dj = f(d * s);
      if (!dj) continue;
      const dm = f(dmin * m);
      for (let i = 0; i < 32; i++) L[32 * j + i] = Math.max(0, Math.min(15, nearestInt(f(f(x[base + 32 * j + i] + dm) / dj))));
    }
    // 64 values per 32 bytes: the first 32 in the low nibbles, the next 32 in the high ones
    for (let j = 0, q = o + 16; j < 256; j += 64, q += 32) {
      for (let l = 0; l < 32; l++) out[q + l] = L[j + l] | (L[j + l + 32] << 4);
    }
  }
  return out;
}

/** ggml's make_qx_quants with rmse_type 1 (weights x²): a signed scale for L in -nmax..nmax-1, searched ±0.9 around nmax. */
function fitSymmetric(x: Float32Array, at: number, n: number, nmax: number, L: Uint8Array): number {
  let max = 0, amax = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(x[at + i]);
    if (a > amax) {
      amax = a;
      max = x[at + i];
    }
  }
  if (amax < 1e-15) {
    L.fill(0, at % 256, (at % 256) + n);
    return 0;
  }
  const code = (iscale: number, v: number) => Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * v))));
  const sums = (iscale: number) => {
    let sumLX = 0, sumL2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[at + i], l = code(iscale, v), w = f(v * v);
      sumLX = f(sumLX + f(f(w * v) * l));
      sumL2 = f(sumL2 + f(f(w * l) * l));
    }
    return { sumLX, sumL2 };
  };
  const setL = (iscale: number) => {
    for (let i = 0; i < n; i++) L[(at % 256) + i] = code(iscale, x[at + i]) + nmax;
  };
  let iscale = f(-nmax / max);
  setL(iscale);
  let { sumLX, sumL2 } = sums(iscale);
  let scale = sumL2 ? f(sumLX / sumL2) : 0;
  let best = f(scale * sumLX);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(F01 * is)) / max);
    ({ sumLX, sumL2 } = sums(iscale));
    if (sumL2 > 0 && f(sumLX * sumLX) > f(best * sumL2)) {
      setL(iscale);
      scale = f(sumLX / sumL2);
      best = f(scale * sumLX);
    }
  }
  return scale;
}

export function quantizeQ6_K(x: Float32Array): Uint8Array {
  const nb = x.length / 256;
  const out = new Uint8Array(nb * 210);
  const L = new Uint8Array(256), scales = new Float32Array(16);
  for (let blk = 0; blk < nb; blk++) {
    const o = blk * 210, base = blk * 256;
    let maxScale = 0, maxAbs = 0;
    for (let ib = 0; ib < 16; ib++) {
      scales[ib] = fitSymmetric(x, base + 16 * ib, 16, 32, L);
      if (Math.abs(scales[ib]) > maxAbs) {
        maxAbs = Math.abs(scales[ib]);
        maxScale = scales[ib];
      }
    }
    if (maxAbs < 1e-15) continue; // an all-zero block: every byte 0 (d = 0)
    const iscale = f(-128 / maxScale);
    putF16(out, o + 208, f(1 / iscale));
    const d = half(f(1 / iscale));
    for (let ib = 0; ib < 16; ib++) out[o + 192 + ib] = Math.min(127, nearestInt(f(iscale * scales[ib]))) & 0xff;
    for (let j = 0; j < 16; j++) {
      const dj = f(d * ((out[o + 192 + j] << 24) >> 24));
      if (!dj) continue; // keeps the sub-block's first fit, as ggml does (it reads back as 0 either way)
      for (let i = 0; i < 16; i++) L[16 * j + i] = Math.max(-32, Math.min(31, nearestInt(f(x[base + 16 * j + i] / dj)))) + 32;
    }
    for (let j = 0, ql = o, qh = o + 128; j < 256; j += 128, ql += 64, qh += 32) {
      for (let l = 0; l < 32; l++) {
        const [q1, q2, q3, q4] = [L[j + l], L[j + l + 32], L[j + l + 64], L[j + l + 96]];
        out[ql + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        out[ql + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
        out[qh + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  }
  return out;
}

export const QUANTIZERS: Record<string, (x: Float32Array) => Uint8Array> = { Q8_0: quantizeQ8_0, Q4_K: quantizeQ4_K, Q6_K: quantizeQ6_K };
