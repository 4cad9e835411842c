import { f16ToF32 } from './half.js';

/**
 * ggml block dequantizers. Each takes the raw bytes of whole blocks and writes `n` floats in ggml element
 * order (which is row-major in the reversed-dims / Hugging Face layout). Block layouts are ggml facts:
 *   Q8_0 {f16 d; i8 q[32]}            Q4_0 {f16 d; u8 q[16]} (low nibbles first half, high second; -8 offset)
 *   Q4_1 {f16 d; f16 m; u8 q[16]}     Q5_0 {f16 d; u8 qh[4]; u8 q[16]}   Q5_1 {f16 d; f16 m; u8 qh[4]; u8 q[16]}
 *   Q4_K {f16 d; f16 dmin; u8 scales[12]; u8 q[128]}   (8 sub-blocks of 32, 6-bit scales and mins)
 *   Q5_K {f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 q[128]}
 *   Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}
 */
const h = (b: Uint8Array, o: number) => f16ToF32(b[o] | (b[o + 1] << 8));
const i8 = (v: number) => (v << 24) >> 24;

export function dequantQ8_0(b: Uint8Array, n: number, y: Float32Array): void {
  for (let blk = 0, o = 0; blk * 32 < n; blk++, o += 34) {
    const d = h(b, o);
    for (let j = 0; j < 32; j++) y[blk * 32 + j] = d * i8(b[o + 2 + j]);
  }
}

export function dequantQ4_0(b: Uint8Array, n: number, y: Float32Array): void {
  for (let blk = 0, o = 0; blk * 32 < n; blk++, o += 18) {
    const d = h(b, o), base = blk * 32;
    for (let j = 0; j < 16; j++) {
      const q = b[o + 2 + j];
      y[base + j] = ((q & 0xf) - 8) * d;
      y[base + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

export function dequantQ4_1(b: Uint8Array, n: number, y: Float32Array): void {
  for (let blk = 0, o = 0; blk * 32 < n; blk++, o += 20) {
    const d = h(b, o), m = h(b, o + 2), base = blk * 32;
    for (let j = 0; j < 16; j++) {
      const q = b[o + 4 + j];
      y[base + j] = (q & 0xf) * d + m;
      y[base + j + 16] = (q >> 4) * d + m;
    }
  }
}

function q5Block(b: Uint8Array, qhAt: number, qsAt: number, d: number, m: number | null, y: Float32Array, base: number): void {
  const qh = (b[qhAt] | (b[qhAt + 1] << 8) | (b[qhAt + 2] << 16) | (b[qhAt + 3] << 24)) >>> 0;
  for (let j = 0; j < 16; j++) {
    const xh0 = ((qh >>> j) << 4) & 0x10;
    const xh1 = (qh >>> (j + 12)) & 0x10;
    const q = b[qsAt + j];
    if (m === null) {
      y[base + j] = (((q & 0xf) | xh0) - 16) * d;
      y[base + j + 16] = (((q >> 4) | xh1) - 16) * d;
    } else {
      y[base + j] = ((q & 0xf) | xh0) * d + m;
      y[base + j + 16] = ((q >> 4) | xh1) * d + m;
    }
  }
}

export function dequantQ5_0(b: Uint8Array, n: number, y: Float32Array): void {
  for (let blk = 0, o = 0; blk * 32 < n; blk++, o += 22) q5Block(b, o + 2, o + 6, h(b, o), null, y, blk * 32);
}

export function dequantQ5_1(b: Uint8Array, n: number, y: Float32Array): void {
  for (let blk = 0, o = 0; blk * 32 < n; blk++, o += 24) q5Block(b, o + 4, o + 8, h(b, o), h(b, o + 2), y, blk * 32);
}

/** The 6-bit scale and min of sub-block j from the 12 packed bytes at `s` (Q4_K, Q5_K). */
function scaleMinK4(j: number, b: Uint8Array, s: number): [number, number] {
  if (j < 4) return [b[s + j] & 63, b[s + j + 4] & 63];
  return [(b[s + j + 4] & 0xf) | ((b[s + j - 4] >> 6) << 4), (b[s + j + 4] >> 4) | ((b[s + j] >> 6) << 4)];
}

export function dequantQ4_K(b: Uint8Array, n: number, y: Float32Array): void {
  for (let blk = 0, o = 0; blk * 256 < n; blk++, o += 144) {
    const d = h(b, o), dmin = h(b, o + 2);
    let q = o + 16, out = blk * 256;
    for (let is = 0; is < 8; is += 2) {
      const [sc1, m1] = scaleMinK4(is, b, o + 4);
      const [sc2, m2] = scaleMinK4(is + 1, b, o + 4);
      const d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2;
      for (let l = 0; l < 32; l++) y[out++] = d1 * (b[q + l] & 0xf) - mm1;
      for (let l = 0; l < 32; l++) y[out++] = d2 * (b[q + l] >> 4) - mm2;
      q += 32;
    }
  }
}

export function dequantQ5_K(b: Uint8Array, n: number, y: Float32Array): void {
  for (let blk = 0, o = 0; blk * 256 < n; blk++, o += 176) {
    const d = h(b, o), dmin = h(b, o + 2), qh = o + 16;
    let ql = o + 48, out = blk * 256, u1 = 1, u2 = 2;
    for (let is = 0; is < 8; is += 2) {
      const [sc1, m1] = scaleMinK4(is, b, o + 4);
      const [sc2, m2] = scaleMinK4(is + 1, b, o + 4);
      const d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2;
      for (let l = 0; l < 32; l++) y[out++] = d1 * ((b[ql + l] & 0xf) + (b[qh + l] & u1 ? 16 : 0)) - mm1;
      for (let l = 0; l < 32; l++) y[out++] = d2 * ((b[ql + l] >> 4) + (b[qh + l] & u2 ? 16 : 0)) - mm2;
      ql += 32;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}

export function dequantQ6_K(b: Uint8Array, n: number, y: Float32Array): void {
  for (let blk = 0, o = 0; blk * 256 < n; blk++, o += 210) {
    const d = h(b, o + 208);
    let ql = o, qh = o + 128, sc = o + 192, out = blk * 256;
    for (let half = 0; half < 2; half++) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const q1 = ((b[ql + l] & 0xf) | (((b[qh + l] >> 0) & 3) << 4)) - 32;
        const q2 = ((b[ql + l + 32] & 0xf) | (((b[qh + l] >> 2) & 3) << 4)) - 32;
        const q3 = ((b[ql + l] >> 4) | (((b[qh + l] >> 4) & 3) << 4)) - 32;
        const q4 = ((b[ql + l + 32] >> 4) | (((b[qh + l] >> 6) & 3) << 4)) - 32;
        y[out + l] = d * i8(b[sc + is]) * q1;
        y[out + l + 32] = d * i8(b[sc + is + 2]) * q2;
        y[out + l + 64] = d * i8(b[sc + is + 4]) * q3;
        y[out + l + 96] = d * i8(b[sc + is + 6]) * q4;
      }
      out += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

export const DEQUANTIZERS: Record<string, (b: Uint8Array, n: number, y: Float32Array) => void> = {
  Q8_0: dequantQ8_0, Q4_0: dequantQ4_0, Q4_1: dequantQ4_1, Q5_0: dequantQ5_0, Q5_1: dequantQ5_1,
  Q4_K: dequantQ4_K, Q5_K: dequantQ5_K, Q6_K: dequantQ6_K,
};
