/** The fast half encoders/decoders against the scalar reference conversions they stand in for. */
import { describe, expect, it } from 'vitest';
import { decodeF16, encodeF16, f16ToF32, f32ToF16 } from '../../../src-main/engine/io/half.js';

describe('half precision', () => {
  it('decodes every one of the 65,536 halves as f16ToF32 does, and encodes each back to itself (NaNs stay NaN)', () => {
    const bytes = new Uint8Array(65536 * 2);
    for (let h = 0; h < 65536; h++) [bytes[2 * h], bytes[2 * h + 1]] = [h & 255, h >> 8];
    const dec = decodeF16(bytes, 0, 65536);
    const enc = encodeF16(dec);
    for (let h = 0; h < 65536; h++) {
      const want = f16ToF32(h);
      if (Number.isNaN(want)) {
        expect(Number.isNaN(dec[h])).toBe(true);
        expect(enc.readUInt16LE(2 * h) & 0x7c00).toBe(0x7c00);
        continue;
      }
      expect(dec[h]).toBe(want);
      expect(enc.readUInt16LE(2 * h)).toBe(h);
    }
  });

  it("encodes floats of every range (normal, subnormal, overflow, ties) exactly as f32ToF16 rounds them", () => {
    let seed = 9;
    const bits = new Uint32Array(200000).map(() => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0));
    const src = new Float32Array(bits.buffer);
    // ties at the half-ulp in the normal range, both parities, and the edges of the fast path's exponent range
    const extra = Float32Array.of(1 + 2 ** -11, 1 + 3 * 2 ** -11, -(1 + 2 ** -11), 65504, 65520, 65519.99, 2 ** -14, 2 ** -14 * (1 - 2 ** -12), 2 ** -24, 2 ** -25, 0, -0, Infinity, -Infinity);
    for (const arr of [src, extra]) {
      const enc = encodeF16(arr);
      for (let i = 0; i < arr.length; i++) expect(enc.readUInt16LE(2 * i), `${arr[i]}`).toBe(f32ToF16(arr[i]));
    }
    // a plain array takes the scalar path and agrees
    expect(encodeF16(Array.from(extra)).equals(encodeF16(extra))).toBe(true);
  });
});
