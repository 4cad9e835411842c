/**
 * int4 block-wise with zero points in the layout com.microsoft::MatMulNBits reads (bits 4, block 32):
 *  - B           uint8 [N, blocks, 16]: row n, block b, byte j holds k = 32b+2j (low nibble) and 32b+2j+1;
 *  - scales      [N·blocks], row-major; value = (q − zero_point) · scale;
 *  - zero_points uint8 [N·ceil(blocks/2)]: per row, block b in byte b>>1, low nibble for even b.
 * N is the HF weight's out dimension and K its in dimension; a partial last block is padded with the
 * zero point. Scales are rounded to fp16 (stored fp16, Cast to fp32 in the graph): that keeps the
 * weights at 0.578 bytes per parameter where fp32 scales would need 0.64.
 */
import { f16ToF32, f32ToF16 } from '../io/half.js';
import { INT4_BLOCK } from '../ops/quant-linear.js';

/** The block MatMulNBits reads, declared with that op (ops/quant-linear.ts). */
export { INT4_BLOCK };

export interface Int4Tensor {
  scheme: 'int4';
  shape: [number, number];
  /** [N, blocks, 16] packed codes. */
  b: Uint8Array;
  /** [N·blocks] fp16 bits. */
  scalesF16: Uint16Array;
  /** [N·ceil(blocks/2)] packed zero points. */
  zeroPoints: Uint8Array;
}

export const int4Blocks = (k: number) => Math.ceil(k / INT4_BLOCK);

export function int4Scales(t: Int4Tensor): Float32Array {
  const out = new Float32Array(t.scalesF16.length);
  for (let i = 0; i < out.length; i++) out[i] = f16ToF32(t.scalesF16[i]);
  return out;
}

/** Scale (fp16 bits as stored, and its value) and zero point of a block quantized over [lo, hi], lo ≤ 0 ≤ hi. */
export function int4BlockParams(lo: number, hi: number): { bits: number; scale: number; zp: number } {
  const h = f32ToF16(hi > lo ? (hi - lo) / 15 : 1);
  const scale = f16ToF32(h) || 1;
  return { bits: h || f32ToF16(1), scale, zp: Math.min(15, Math.max(0, Math.round(-lo / scale))) };
}

/** The 4-bit code of x in a block with this scale and zero point. */
export const int4Code = (x: number, scale: number, zp: number): number => Math.min(15, Math.max(0, Math.round(x / scale) + zp));

/**
 * Block range [lo, hi] to quantize over (default: the block's min and max, 0 included). GPTQ passes
 * a search over narrower ranges weighted by input energy: clipping a rare outlier can cost less than
 * the coarser steps it forces on the rest of the block.
 */
export type Int4Range = (n: number, k0: number, k1: number, lo: number, hi: number) => [number, number];

/**
 * Symmetric blocks: the range [-8s, 7s] around 0 with s = max(-lo/8, hi/7), so every block's zero point is 8,
 * the midpoint ONNX Runtime's fused 4-bit decode ops imply (infer/fused/nbits-blocks.ts). An all-zero block
 * gets scale 1 (its codes are all 8, exact zeros).
 */
export const int4SymmetricRange: Int4Range = (_n, _k0, _k1, lo, hi) => {
  const s = Math.max(-lo / 8, hi / 7);
  return s > 0 ? [-8 * s, 7 * s] : [-8, 7];
};

export function quantizeInt4(w: Float32Array, shape: [number, number], range?: Int4Range): Int4Tensor {
  const [N, K] = shape;
  if (w.length !== N * K) throw new Error(`quantizeInt4: ${w.length} values for shape [${shape}]`);
  const nb = int4Blocks(K);
  const zpRow = Math.ceil(nb / 2);
  const t: Int4Tensor = {
    scheme: 'int4',
    shape,
    b: new Uint8Array(N * nb * 16),
    scalesF16: new Uint16Array(N * nb),
    zeroPoints: new Uint8Array(N * zpRow),
  };
  for (let n = 0; n < N; n++) {
    for (let blk = 0; blk < nb; blk++) {
      const k0 = blk * INT4_BLOCK,
        k1 = Math.min(K, k0 + INT4_BLOCK);
      // The range always holds 0, so the zero point is a code and an exact 0 stays exact.
      let lo = 0,
        hi = 0;
      for (let k = k0; k < k1; k++) {
        const x = w[n * K + k];
        if (x < lo) lo = x;
        if (x > hi) hi = x;
      }
      if (range) [lo, hi] = range(n, k0, k1, lo, hi);
      const { bits, scale, zp } = int4BlockParams(lo, hi);
      t.scalesF16[n * nb + blk] = bits;
      t.zeroPoints[n * zpRow + (blk >> 1)] |= blk & 1 ? zp << 4 : zp;
      for (let j = 0; j < INT4_BLOCK; j++) {
        const k = k0 + j;
        const q = k < k1 ? int4Code(w[n * K + k], scale, zp) : zp;
        t.b[(n * nb + blk) * 16 + (j >> 1)] |= j & 1 ? q << 4 : q;
      }
    }
  }
  return t;
}

export function dequantizeInt4(t: Int4Tensor): Float32Array {
  const [N, K] = t.shape;
  const nb = int4Blocks(K);
  const zpRow = Math.ceil(nb / 2);
  const scales = int4Scales(t);
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const blk = Math.floor(k / INT4_BLOCK),
        j = k % INT4_BLOCK;
      const byte = t.b[(n * nb + blk) * 16 + (j >> 1)];
      const q = j & 1 ? byte >> 4 : byte & 15;
      const zb = t.zeroPoints[n * zpRow + (blk >> 1)];
      const zp = blk & 1 ? zb >> 4 : zb & 15;
      out[n * K + k] = Math.fround((q - zp) * scales[n * nb + blk]);
    }
  }
  return out;
}
