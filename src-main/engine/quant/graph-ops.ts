/**
 * Graph pieces of QLoRA's NF4 base: the double-quantized NF4 weight dequantized in plain ONNX ops, rebuilt in the
 * backward pass instead of kept (ops/quant-linear.ts: the frozen quantized linears and their gradient rules,
 * MatMulNBits for int4/int8 included).
 */
import type { Graph, Value } from '../graph/ir.js';
import { numel } from '../graph/ir.js';
import * as op from '../ops/index.js';
import { shared } from '../graph/shared.js';
import { after, pairTable, unpack } from '../ops/quant-linear.js';
import { E4M3_UNIT } from './fp8.js';
import { f32ToF16 } from '../io/half.js';
import { NF4_ABSMAX_BLOCK, NF4_BLOCK, NF4_CODEBOOK, type Nf4Tensor } from './nf4.js';

export interface Nf4Values {
  codes: Value; // uint8 [blocks·32]
  absmaxCodes: Value; // uint8 [groups·256] (padded)
  absmaxScale: Value; // float32 [groups]
  absmaxOffset: Value; // float32 []
}

/**
 * The NF4 weight dequantized to float [out, in] (fp16 for an fp16 step: the levels and block scales are
 * rounded to fp16, as bitsandbytes' fp16 compute does), computed once `dep` exists.
 */
export function nf4DequantGraph(g: Graph, q: Nf4Values, shape: readonly [number, number], dep: Value, dtype: 'float32' | 'float16' = 'float32'): Value {
  const groups = q.absmaxScale.shape[0];
  const blocks = q.codes.shape[0] / (NF4_BLOCK / 2);
  const fp8 = shared(g, 'e4m3_unit', () => g.init('e4m3_unit', { dtype: 'float32', shape: [256], data: E4M3_UNIT }));
  let absmax = op.gather(g, fp8, op.cast(g, q.absmaxCodes, 'int32')); // [groups·256]
  absmax = op.add(
    g,
    op.mul(g, op.reshape(g, absmax, [groups, NF4_ABSMAX_BLOCK]), op.reshape(g, q.absmaxScale, [groups, 1])),
    q.absmaxOffset,
  );
  absmax = op.reshape(g, absmax, [groups * NF4_ABSMAX_BLOCK, 1]);
  if (groups * NF4_ABSMAX_BLOCK !== blocks) absmax = op.slice(g, absmax, 0, 0, blocks);
  if (dtype !== 'float32') absmax = op.cast(g, absmax, dtype);
  const levels = shared(g, `nf4_pairs_${dtype}`, () => pairTable(g, `nf4_pairs_${dtype}`, (k) => NF4_CODEBOOK[k], dtype));
  const values = op.reshape(g, unpack(g, after(g, q.codes, dep), levels), [blocks, NF4_BLOCK]);
  let w = op.reshape(g, op.mul(g, values, absmax), [blocks * NF4_BLOCK]);
  const n = numel(shape);
  if (n !== blocks * NF4_BLOCK) w = op.slice(g, w, 0, 0, n);
  return op.reshape(g, w, shape);
}


/**
 * The block scales of an NF4 weight as the fp16 dequantization uses them: each double-quantized absmax
 * worked out as nf4DequantGraph does on the device (an fp32 product, an fp32 sum, then rounded to fp16),
 * so the fp16 step reads [blocks, 1] fp16 values, 1/32 byte a weight, instead of making them every time.
 */
export function nf4AbsmaxHalf(t: Pick<Nf4Tensor, 'absmaxCodes' | 'absmaxScale' | 'absmaxOffset'>, blocks: number): Uint16Array {
  const out = new Uint16Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const scaled = Math.fround(E4M3_UNIT[t.absmaxCodes[b]] * t.absmaxScale[Math.floor(b / NF4_ABSMAX_BLOCK)]);
    out[b] = f32ToF16(Math.fround(scaled + t.absmaxOffset));
  }
  return out;
}

/**
 * The NF4 weight dequantized to fp16 [out, in] from its codes and fp16 block scales (nf4AbsmaxHalf), once
 * `dep` exists: a table lookup and one Mul — the same values as nf4DequantGraph's fp16 form in half its
 * dispatches.
 */
export function nf4HalfDequantGraph(g: Graph, codes: Value, absmax16: Value, shape: readonly [number, number], dep: Value): Value {
  const blocks = absmax16.shape[0];
  const levels = shared(g, 'nf4_pairs_float16', () => pairTable(g, 'nf4_pairs_float16', (k) => NF4_CODEBOOK[k], 'float16'));
  // The codes wait for `dep`, so that no lookup runs early and holds a weight's worth of fp16 values.
  const values = op.reshape(g, unpack(g, after(g, codes, dep), levels), [blocks, NF4_BLOCK]);
  let w = op.reshape(g, op.mul(g, values, absmax16), [blocks * NF4_BLOCK]);
  const n = numel(shape);
  if (n !== blocks * NF4_BLOCK) w = op.slice(g, w, 0, 0, n);
  return op.reshape(g, w, shape);
}
