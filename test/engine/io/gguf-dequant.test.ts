import { describe, expect, it } from 'vitest';
import { dequantQ4_0, dequantQ4_1, dequantQ4_K, dequantQ5_0, dequantQ5_K, dequantQ6_K, dequantQ8_0 } from '../../../src-main/engine/io/gguf-dequant.js';
import { f16ToF32, f32ToF16 } from '../../../src-main/engine/io/half.js';

// Blocks are packed here the way ggml's reference quantizers lay them out; expected values come from
// the plain definition (scale * q - min), so a layout or ordering mistake in a dequantizer shows up.
const half = (v: number) => { const h = f32ToF16(v); return [h & 0xff, h >> 8]; };
const rnd = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);

describe('ggml dequantizers on hand-built blocks', () => {
  it('Q8_0: d * q', () => {
    const q = Array.from({ length: 32 }, (_, i) => i * 7 - 100);
    const b = Uint8Array.from([...half(0.5), ...q.map((x) => x & 0xff)]);
    const y = new Float32Array(32);
    dequantQ8_0(b, 32, y);
    expect(Array.from(y)).toEqual(q.map((x) => x * 0.5));
  });

  it('Q4_0: (q - 8) * d, low nibbles are the first 16 elements', () => {
    const q = Array.from({ length: 32 }, (_, i) => (i * 5) % 16);
    const qs = Array.from({ length: 16 }, (_, j) => q[j] | (q[j + 16] << 4));
    const b = Uint8Array.from([...half(2), ...qs, ...half(-1), ...qs]);
    const y = new Float32Array(64);
    dequantQ4_0(b, 64, y);
    expect(Array.from(y.subarray(0, 32))).toEqual(q.map((x) => (x - 8) * 2));
    expect(Array.from(y.subarray(32), (v) => v + 0)).toEqual(q.map((x) => (x - 8) * -1 + 0)); // +0: -0 equals 0
  });

  it('Q4_1: q * d + m', () => {
    const q = Array.from({ length: 32 }, (_, i) => (i * 3) % 16);
    const qs = Array.from({ length: 16 }, (_, j) => q[j] | (q[j + 16] << 4));
    const b = Uint8Array.from([...half(0.25), ...half(-1.5), ...qs]);
    const y = new Float32Array(32);
    dequantQ4_1(b, 32, y);
    expect(Array.from(y)).toEqual(q.map((x) => x * 0.25 - 1.5));
  });

  it('Q5_0: 5th bit of element j in bit j of qh', () => {
    const q = Array.from({ length: 32 }, (_, i) => (i * 11) % 32);
    const qs = Array.from({ length: 16 }, (_, j) => (q[j] & 0xf) | ((q[j + 16] & 0xf) << 4));
    let qh = 0;
    q.forEach((x, j) => { if (x & 0x10) qh |= 1 << j; });
    qh >>>= 0;
    const b = Uint8Array.from([...half(0.5), qh & 0xff, (qh >>> 8) & 0xff, (qh >>> 16) & 0xff, qh >>> 24, ...qs]);
    const y = new Float32Array(32);
    dequantQ5_0(b, 32, y);
    expect(Array.from(y)).toEqual(q.map((x) => (x - 16) * 0.5));
  });

  // 6-bit scales/mins of 8 sub-blocks in 12 bytes (ggml's K-quant packing)
  function packScalesK4(sc: number[], m: number[]): number[] {
    const s = new Array(12).fill(0);
    for (let j = 0; j < 4; j++) {
      s[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
      s[j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
      s[j + 8] = (sc[j + 4] & 0xf) | ((m[j + 4] & 0xf) << 4);
    }
    return s;
  }

  it('Q4_K: d*sc[k]*q - dmin*m[k] per 32-element sub-block', () => {
    const r = rnd(1);
    const sc = Array.from({ length: 8 }, () => Math.floor(r() * 64));
    const m = Array.from({ length: 8 }, () => Math.floor(r() * 64));
    const q = Array.from({ length: 256 }, () => Math.floor(r() * 16));
    const qs: number[] = [];
    for (let p = 0; p < 4; p++) for (let l = 0; l < 32; l++) qs.push(q[64 * p + l] | (q[64 * p + 32 + l] << 4));
    const d = 0.125, dmin = 0.0625;
    const b = Uint8Array.from([...half(d), ...half(dmin), ...packScalesK4(sc, m), ...qs]);
    expect(b.length).toBe(144);
    const y = new Float32Array(256);
    dequantQ4_K(b, 256, y);
    for (let e = 0; e < 256; e++) expect(y[e]).toBeCloseTo(d * sc[e >> 5] * q[e] - dmin * m[e >> 5], 5);
  });

  it('Q5_K: like Q4_K with a 5th bit from qh', () => {
    const r = rnd(2);
    const sc = Array.from({ length: 8 }, () => Math.floor(r() * 64));
    const m = Array.from({ length: 8 }, () => Math.floor(r() * 64));
    const q = Array.from({ length: 256 }, () => Math.floor(r() * 32));
    const qs: number[] = [];
    const qh = new Array(32).fill(0);
    for (let p = 0; p < 4; p++) {
      for (let l = 0; l < 32; l++) {
        const lo = q[64 * p + l], hi = q[64 * p + 32 + l];
        qs.push((lo & 0xf) | ((hi & 0xf) << 4));
        if (lo & 16) qh[l] |= 1 << (2 * p);
        if (hi & 16) qh[l] |= 1 << (2 * p + 1);
      }
    }
    const d = 0.25, dmin = 0.5;
    const b = Uint8Array.from([...half(d), ...half(dmin), ...packScalesK4(sc, m), ...qh, ...qs]);
    expect(b.length).toBe(176);
    const y = new Float32Array(256);
    dequantQ5_K(b, 256, y);
    for (let e = 0; e < 256; e++) expect(y[e]).toBeCloseTo(d * sc[e >> 5] * q[e] - dmin * m[e >> 5], 4);
  });

  it('Q6_K: d*scale[e/16]*(q-32), ql/qh interleaving of ggml', () => {
    const r = rnd(3);
    const L = Array.from({ length: 256 }, () => Math.floor(r() * 64));
    const scales = Array.from({ length: 16 }, () => Math.floor(r() * 256) - 128);
    const ql = new Array(128).fill(0), qh = new Array(64).fill(0);
    for (let j = 0, o = 0, oh = 0; j < 256; j += 128, o += 64, oh += 32) {
      for (let l = 0; l < 32; l++) {
        ql[o + l] = (L[j + l] & 0xf) | ((L[j + l + 64] & 0xf) << 4);
        ql[o + l + 32] = (L[j + l + 32] & 0xf) | ((L[j + l + 96] & 0xf) << 4);
        qh[oh + l] = (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6);
      }
    }
    const d = f16ToF32(f32ToF16(0.01));
    const b = Uint8Array.from([...ql, ...qh, ...scales.map((s) => s & 0xff), ...half(0.01)]);
    expect(b.length).toBe(210);
    const y = new Float32Array(256);
    dequantQ6_K(b, 256, y);
    for (let e = 0; e < 256; e++) expect(y[e]).toBeCloseTo(d * scales[e >> 4] * (L[e] - 32), 4);
  });
});
