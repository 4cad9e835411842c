/**
 * 8-bit tables for the embeddings and LM head (the option beside fp16): blocks of 32 along each row,
 * a zero point (0..255) and an fp16 scale per block, in MatMulNBits' bits = 8 layout, so one copy
 * serves the embedding lookup (Gather of rows) and the LM head (MatMulNBits) of tied models:
 *  - B [N, blocks, 32] uint8, the row's values in order; scales [N·blocks]; zero_points [N·blocks].
 */
import { f16ToF32, f32ToF16 } from '../io/half.js';

export const INT8_BLOCK = 32;

export interface Int8Tensor {
  scheme: 'int8';
  shape: [number, number];
  b: Uint8Array;
  scalesF16: Uint16Array;
  zeroPoints: Uint8Array;
}

export function quantizeInt8(w: Float32Array, shape: [number, number]): Int8Tensor {
  const [N, K] = shape;
  if (w.length !== N * K) throw new Error(`quantizeInt8: ${w.length} values for shape [${shape}]`);
  const nb = Math.ceil(K / INT8_BLOCK);
  const t: Int8Tensor = {
    scheme: 'int8',
    shape,
    b: new Uint8Array(N * nb * INT8_BLOCK),
    scalesF16: new Uint16Array(N * nb),
    zeroPoints: new Uint8Array(N * nb),
  };
  for (let n = 0; n < N; n++) {
    for (let blk = 0; blk < nb; blk++) {
      const k0 = blk * INT8_BLOCK,
        k1 = Math.min(K, k0 + INT8_BLOCK);
      let lo = 0,
        hi = 0; // the range holds 0, so the zero point is a code
      for (let k = k0; k < k1; k++) {
        lo = Math.min(lo, w[n * K + k]);
        hi = Math.max(hi, w[n * K + k]);
      }
      const want = hi > lo ? (hi - lo) / 255 : 1;
      // Rounded up to the next fp16, so 255 steps still span the block (no clamping at its ends).
      let h = f32ToF16(want);
      if (f16ToF32(h) < want) h++;
      const scale = f16ToF32(h) || 1;
      t.scalesF16[n * nb + blk] = h || f32ToF16(1);
      const zp = Math.min(255, Math.max(0, Math.round(-lo / scale)));
      t.zeroPoints[n * nb + blk] = zp;
      for (let j = 0; j < INT8_BLOCK; j++) {
        const k = k0 + j;
        t.b[(n * nb + blk) * INT8_BLOCK + j] = k < k1 ? Math.min(255, Math.max(0, Math.round(w[n * K + k] / scale) + zp)) : zp;
      }
    }
  }
  return t;
}

export function dequantizeInt8(t: Int8Tensor): Float32Array {
  const [N, K] = t.shape;
  const nb = Math.ceil(K / INT8_BLOCK);
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const blk = Math.floor(k / INT8_BLOCK);
      const s = f16ToF32(t.scalesF16[n * nb + blk]);
      out[n * K + k] = Math.fround((t.b[(n * nb + blk) * INT8_BLOCK + (k % INT8_BLOCK)] - t.zeroPoints[n * nb + blk]) * s);
    }
  }
  return out;
}
