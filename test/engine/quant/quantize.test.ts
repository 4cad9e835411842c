import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { f16ToF32 } from '../../../src-main/engine/io/half.js';
import { loadModel } from '../../../src-main/engine/model.js';
import { E4M3_UNIT, e4m3Nearest } from '../../../src-main/engine/quant/fp8.js';
import {
  dequantizeInt4,
  dequantizeNf4,
  int4Scales,
  NF4_BLOCK,
  NF4_CODEBOOK,
  NF4_MAX_HALF_GAP,
  nf4Absmax,
  quantizeInt4,
  quantizeNf4,
  QUANTIZED_LINEAR,
  INT4_BLOCK,
  INT8_BLOCK,
  quantizeInt8,
  dequantizeInt8,
} from '../../../src-main/engine/quant/index.js';

const STORIES = path.resolve('../shared/models/stories260K/stories260K.gguf');

/** Acklam's rational approximation of the standard normal quantile (rel err ~1e-9), to rebuild NF4. */
function normPpf(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5,
    r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

let s = 987654321;
const uniform = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
const gaussian = (n: number, std: number) =>
  Float32Array.from({ length: n }, () => std * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()));

/** Max over blocks of (max |w − dequant| in the block) − bound(block); ≤ 0 means every block is within its bound. */
function worstExcess(w: Float32Array, dq: Float32Array, blockOf: (i: number) => number, bound: (block: number) => number): number {
  let worst = -Infinity;
  for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i] - dq[i]) - bound(blockOf(i)));
  return worst;
}

function nf4Bound(w: Float32Array) {
  return (t: ReturnType<typeof quantizeNf4>) => {
    const amaxDq = nf4Absmax(t);
    return (blk: number) => {
      let amax = 0;
      for (let i = blk * NF4_BLOCK; i < Math.min(w.length, (blk + 1) * NF4_BLOCK); i++) amax = Math.max(amax, Math.abs(w[i]));
      // NF4 rounding (half the widest level gap) at the stored absmax, plus the 8-bit absmax's own error.
      return amaxDq[blk] * NF4_MAX_HALF_GAP + Math.abs(amax - amaxDq[blk]) + 1e-7;
    };
  };
}

describe('NF4 codebook and double quantization', () => {
  it('codebook is the QLoRA NormalFloat: normalised N(0,1) quantiles with an exact zero', () => {
    const offset = 0.9677083; // (1/(2·15) + 1/(2·16))⁻¹-style offset of the paper's construction
    const pos = Array.from({ length: 8 }, (_, i) => normPpf(offset + ((0.5 - offset) * i) / 8));
    const neg = Array.from({ length: 7 }, (_, i) => -normPpf(offset + ((0.5 - offset) * i) / 7));
    const vals = [...pos, 0, ...neg].sort((x, y) => x - y);
    const max = Math.max(...vals.map(Math.abs));
    vals.forEach((v, i) => expect(Math.abs(v / max - NF4_CODEBOOK[i])).toBeLessThan(1e-6));
    expect(NF4_MAX_HALF_GAP).toBeCloseTo((1 - 0.6961928009986877) / 2, 9);
  });

  it('E4M3 table: bias 7, subnormals, 448 max, NaN codes never chosen', () => {
    // the table is fp32, so values are v/448 rounded: compare relatively
    const v = (c: number) => E4M3_UNIT[c] * 448;
    expect(v(0x7e) / 448).toBeCloseTo(1, 6);
    expect(v(0x38)).toBeCloseTo(1, 6); // e = 7, m = 0
    expect(v(0x01) / 2 ** -9).toBeCloseTo(1, 6);
    expect(v(0xb8)).toBeCloseTo(-1, 6);
    expect(e4m3Nearest(2)).toBe(0x7e);
    expect(e4m3Nearest(-1 / 448)).toBe(0xb8);
    expect(e4m3Nearest(0.3)).not.toBe(0x7f);
  });

  it('layout: 64-blocks, absmax codes per block, one scale per 256 blocks, even element in the low nibble', () => {
    const n = NF4_BLOCK * 300 + 10; // 301 blocks, the last one partial
    const w = gaussian(n, 0.05);
    w[0] = -1;
    w[1] = 1; // block 0's absmax is 1: codes 0 (−1) and 15 (+1)
    const t = quantizeNf4(w, [1, n]);
    expect(t.codes.length).toBe((301 * NF4_BLOCK) / 2);
    expect(t.absmaxCodes.length).toBe(301);
    expect(t.absmaxScale.length).toBe(2);
    expect(t.codes[0]).toBe(0xf0);
    expect(nf4Absmax(t)[0]).toBeCloseTo(1, 1);
    expect(t.codes[t.codes.length - 1]).toBe(0x77); // padding quantizes to the zero level (index 7)
  });

  it('random weights: every block within the bound, and the error is that of 4 bits', () => {
    const w = gaussian(64 * 1024, 0.02);
    const t = quantizeNf4(w, [256, 256]);
    const dq = dequantizeNf4(t);
    expect(worstExcess(w, dq, (i) => Math.floor(i / NF4_BLOCK), nf4Bound(w)(t))).toBeLessThanOrEqual(0);
    let e2 = 0,
      w2 = 0;
    for (let i = 0; i < w.length; i++) [e2, w2] = [e2 + (w[i] - dq[i]) ** 2, w2 + w[i] ** 2];
    expect(Math.sqrt(e2 / w2)).toBeLessThan(0.12); // NF4 on Gaussians: ~0.1 relative RMS error
  });
});

describe('int4 (MatMulNBits layout)', () => {
  it('layout: B [N, blocks, 16] low nibble first, zero points packed two blocks per byte per row', () => {
    const K = 70; // 3 blocks, the last partial
    const w = new Float32Array(2 * K);
    for (let k = 0; k < K; k++) [w[k], w[K + k]] = [k / K, -k / K];
    const t = quantizeInt4(w, [2, K]);
    expect(t.b.length).toBe(2 * 3 * 16);
    expect(t.scalesF16.length).toBe(6);
    expect(t.zeroPoints.length).toBe(2 * 2);
    // row 0 is non-negative: zero point 0 for every block; row 1 non-positive: zero point 15
    expect([...t.zeroPoints]).toEqual([0x00, 0x00, 0xff, 0x0f]);
    expect(t.b[0] & 15).toBe(0); // k = 0 → 0
    expect(t.b[15] >> 4).toBe(15); // k = 31 is block 0's max
  });

  it('random and partial-block weights: |w − dequant| ≤ scale/2 (+ fp16 scale rounding) in every block', () => {
    const [N, K] = [48, 200];
    const w = gaussian(N * K, 0.03);
    const t = quantizeInt4(w, [N, K]);
    const sc = int4Scales(t);
    const nb = Math.ceil(K / INT4_BLOCK);
    const blockOf = (i: number) => Math.floor(i / K) * nb + Math.floor((i % K) / INT4_BLOCK);
    expect(worstExcess(w, dequantizeInt4(t), blockOf, (b) => 0.51 * sc[b])).toBeLessThanOrEqual(0);
  });
});

describe('int8 tables (embeddings, LM head)', () => {
  it('blocks of 32 with zero points: |w − dequant| ≤ scale/2, one byte per value', () => {
    const [N, K] = [20, 72];
    const w = gaussian(N * K, 0.5);
    const t = quantizeInt8(w, [N, K]);
    const nb = Math.ceil(K / INT8_BLOCK);
    expect(t.b.length).toBe(N * nb * INT8_BLOCK);
    expect(t.zeroPoints.length).toBe(N * nb);
    const blockOf = (i: number) => Math.floor(i / K) * nb + Math.floor((i % K) / INT8_BLOCK);
    const sc = Float32Array.from(t.scalesF16, (h) => f16ToF32(h));
    expect(worstExcess(w, dequantizeInt8(t), blockOf, (b) => 0.5 * sc[b] * (1 + 1e-6))).toBeLessThanOrEqual(0);
  });
});

describe('real weights (stories260K)', () => {
  it('every projection round-trips within the per-block bound, NF4 and int4', async () => {
    const { source } = await loadModel(STORIES);
    const names = source.names().filter((n) => QUANTIZED_LINEAR.test(n));
    expect(names.length).toBe(5 * 7);
    for (const name of names) {
      const shape = source.shape(name) as [number, number];
      const w = source.readF32(name);
      const nf = quantizeNf4(w, shape);
      expect(
        worstExcess(w, dequantizeNf4(nf), (i) => Math.floor(i / NF4_BLOCK), nf4Bound(w)(nf)),
        name,
      ).toBeLessThanOrEqual(0);
      const i4 = quantizeInt4(w, shape);
      const sc = int4Scales(i4);
      const nb = Math.ceil(shape[1] / INT4_BLOCK);
      const blockOf = (i: number) => Math.floor(i / shape[1]) * nb + Math.floor((i % shape[1]) / INT4_BLOCK);
      expect(
        worstExcess(w, dequantizeInt4(i4), blockOf, (b) => 0.51 * sc[b]),
        name,
      ).toBeLessThanOrEqual(0);
    }
    source.close();
  });
});
