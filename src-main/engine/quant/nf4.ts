/**
 * NF4 with double quantization, as in the QLoRA paper (Dettmers et al. 2023): weights in blocks of
 * 64 consecutive values (row-major over the HF [out, in] tensor) are divided by the block's absmax
 * and rounded to the nearest of 16 NormalFloat levels; the absmax values themselves, minus their
 * mean, are stored as 8-bit floats (E4M3) scaled per block of 256. Codes are packed two per byte,
 * the even element in the low nibble (the same order as MatMulNBits).
 */
import { e4m3Nearest, E4M3_UNIT } from './fp8.js';

export const NF4_BLOCK = 64;
export const NF4_ABSMAX_BLOCK = 256;

/** The 16 NormalFloat-4 levels (quantiles of N(0,1), normalised to [-1, 1], with an exact 0). */
export const NF4_CODEBOOK = Float32Array.from([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334, -0.09105003625154495,
  0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
  0.7229568362236023, 1.0,
]);

/** Largest distance from any point of [-1, 1] to its nearest level: half the widest gap. */
export const NF4_MAX_HALF_GAP = Math.max(...Array.from(NF4_CODEBOOK.subarray(1), (c, i) => (c - NF4_CODEBOOK[i]) / 2));

export interface Nf4Tensor {
  scheme: 'nf4';
  /** HF shape [out, in]. */
  shape: [number, number];
  /** Packed 4-bit codes, ceil(blocks·64 / 2) bytes (the tail of the last block is padding). */
  codes: Uint8Array;
  /** One E4M3 code per 64-block: (absmax − offset) / absmaxScale[block / 256]. */
  absmaxCodes: Uint8Array;
  /** One fp32 scale per 256 absmax values. */
  absmaxScale: Float32Array;
  /** Mean of the block absmax values, subtracted before their 8-bit quantization. */
  absmaxOffset: number;
}

export const nearestNf4 = (x: number): number => {
  // Midpoints between levels, searched linearly: 15 comparisons, no allocation.
  let k = 0;
  while (k < 15 && x > (NF4_CODEBOOK[k] + NF4_CODEBOOK[k + 1]) / 2) k++;
  return k;
};

/** The dequantized absmax of every 64-block. */
export function nf4Absmax(t: Pick<Nf4Tensor, 'absmaxCodes' | 'absmaxScale' | 'absmaxOffset'>): Float32Array {
  const out = new Float32Array(t.absmaxCodes.length);
  for (let b = 0; b < out.length; b++)
    out[b] = Math.fround(E4M3_UNIT[t.absmaxCodes[b]] * t.absmaxScale[Math.floor(b / NF4_ABSMAX_BLOCK)] + t.absmaxOffset);
  return out;
}

export function quantizeNf4(w: Float32Array, shape: [number, number]): Nf4Tensor {
  const n = shape[0] * shape[1];
  if (w.length !== n) throw new Error(`quantizeNf4: ${w.length} values for shape [${shape}]`);
  const blocks = Math.ceil(n / NF4_BLOCK);
  const absmax = new Float64Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let m = 0;
    for (let i = b * NF4_BLOCK, e = Math.min(n, i + NF4_BLOCK); i < e; i++) m = Math.max(m, Math.abs(w[i]));
    absmax[b] = m;
  }
  let offset = 0;
  for (const a of absmax) offset += a;
  offset = Math.fround(offset / blocks);
  const groups = Math.ceil(blocks / NF4_ABSMAX_BLOCK);
  const absmaxScale = new Float32Array(groups);
  const absmaxCodes = new Uint8Array(blocks);
  for (let gi = 0; gi < groups; gi++) {
    const s = gi * NF4_ABSMAX_BLOCK,
      e = Math.min(blocks, s + NF4_ABSMAX_BLOCK);
    let m = 0;
    for (let b = s; b < e; b++) m = Math.max(m, Math.abs(absmax[b] - offset));
    absmaxScale[gi] = m > 0 ? m : 1;
    for (let b = s; b < e; b++) absmaxCodes[b] = e4m3Nearest((absmax[b] - offset) / absmaxScale[gi]);
  }
  const t: Nf4Tensor = {
    scheme: 'nf4',
    shape,
    codes: new Uint8Array(Math.ceil((blocks * NF4_BLOCK) / 2)),
    absmaxCodes,
    absmaxScale,
    absmaxOffset: offset,
  };
  // Codes are chosen against the absmax as it will be dequantized, so the two levels' errors do not add up blindly.
  const amax = nf4Absmax(t);
  const zero = nearestNf4(0);
  for (let b = 0; b < blocks; b++) {
    const inv = amax[b] > 0 ? 1 / amax[b] : 0;
    for (let j = 0; j < NF4_BLOCK; j++) {
      const i = b * NF4_BLOCK + j;
      const q = i < n ? nearestNf4(w[i] * inv) : zero;
      t.codes[i >> 1] |= i & 1 ? q << 4 : q;
    }
  }
  return t;
}

export function dequantizeNf4(t: Nf4Tensor): Float32Array {
  const n = t.shape[0] * t.shape[1];
  const amax = nf4Absmax(t);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const q = i & 1 ? t.codes[i >> 1] >> 4 : t.codes[i >> 1] & 15;
    out[i] = Math.fround(NF4_CODEBOOK[q] * amax[Math.floor(i / NF4_BLOCK)]);
  }
  return out;
}
