/**
 * The frozen quantized linear layers' op family: com.microsoft::MatMulNBits (int4 projections, an 8-bit LM head)
 * and Einsum "kj,ij->ik" (x·Wᵀ over a weight the graph rebuilds, QLoRA's NF4 linear), each with its gradient
 * rule in the one table (registry.ts), like every other op family. The 4-bit formats themselves live in quant/,
 * which builds on these pieces.
 *  - MatMulNBits's rule gives dA = dY·dequant(B) with the dequantization written in plain ONNX ops (Cast,
 *    Gather of a 256-entry nibble-pair table, Sub, Mul), so it runs wherever Gather and Gemm run, WebGPU
 *    included.
 *  - Einsum is used instead of Gemm because its rule (for this one equation) *re-emits* the dequantization in
 *    the backward pass instead of reading the forward's fp32 weight: with Gemm, ORT would have to keep every
 *    layer's dequantized weight alive from the forward to the backward, which is the fp32 model QLoRA exists to
 *    avoid.
 * Every dequantization waits (`after`) for the activation that consumes it, x in the forward and dY in
 * the backward, and the weight is Einsum's first operand: without both, ORT's execution order computed
 * many layers' fp32 weights ahead of use (measured on Qwen2.5-0.5B shapes: ~2 GB more peak).
 * Values that a backward pass should rebuild rather than keep are marked `recomputable` (recompute.ts).
 */
import type { Graph, Value } from '../graph/ir.js';
import { shared } from '../graph/shared.js';
import { add, mul, sub } from './elementwise.js';
import { gather } from './gather.js';
import { after, isRecomputable, rebuild } from './recompute.js';
import { defineGrad } from './registry.js';
import { cast, reshape, slice } from './shape.js';

export { after, recomputable } from './recompute.js';

/** Columns per block of MatMulNBits's scales (and of Graft's int4/int8 layouts, quant/int4.ts). */
export const INT4_BLOCK = 32;

/** [256, 2] table: byte → (value of its low nibble, value of its high nibble), in `dtype`. */
export function pairTable(g: Graph, name: string, level: (q: number) => number, dtype: 'float32' | 'float16' = 'float32'): Value {
  const data = new Float32Array(512);
  for (let b = 0; b < 256; b++) {
    data[2 * b] = level(b & 15);
    data[2 * b + 1] = level(b >> 4);
  }
  const t = g.init(name, { dtype: 'float32', shape: [256, 2], data });
  // 512 values: a Cast once per step is cheaper than a second encoder for fp16 initializers here.
  return dtype === 'float32' ? t : cast(g, t, dtype);
}


/** Packed uint8 nibbles [..., n] → their levels as float [..., 2n]. */
export function unpack(g: Graph, packed: Value, table: Value): Value {
  const v = gather(g, table, cast(g, packed, 'int32'));
  return reshape(g, v, [...packed.shape.slice(0, -1), packed.shape[packed.shape.length - 1] * 2]);
}

export interface Int4Values {
  b: Value; // uint8 [N, blocks, 16] (bits 4) or [N, blocks, 32] (bits 8)
  scales: Value; // float32 [N·blocks] (a recomputable Cast of the fp16 initializer)
  zeroPoints: Value; // uint8 [N·ceil(blocks/2)] (bits 4) or [N·blocks] (bits 8)
}

/**
 * Y = X·dequant(B)ᵀ with MatMulNBits (block 32; bits 4 for projections, 8 for an 8-bit LM head). X is
 * [..., K] (the fused decode graph passes [B, T, K]); the gradient rule below takes 2-D X only.
 */
export function matMulNBits(g: Graph, x: Value, q: Int4Values, N: number, K: number, bits: 4 | 8 = 4): Value {
  if (x.shape.length < 2 || x.shape[x.shape.length - 1] !== K) throw new Error(`MatMulNBits: input [${x.shape}] does not have K = ${K} columns`);
  const attrs = { K: { i: K }, N: { i: N }, bits: { i: bits }, block_size: { i: INT4_BLOCK }, accuracy_level: { i: 0 } };
  return g.add('MatMulNBits', [x, q.b, q.scales, q.zeroPoints], [{ dtype: x.dtype, shape: [...x.shape.slice(0, -1), N] }], attrs, 'com.microsoft')[0];
}

function floatType(v: Value): 'float32' | 'float16' {
  if (v.dtype !== 'float32' && v.dtype !== 'float16') throw new Error(`dequantization: scales ${v.name} are ${v.dtype}, not float32 or float16`);
  return v.dtype;
}

/** dequant(B) of 8-bit MatMulNBits inputs as float [N, K] (the scales' type), computed once `dep` exists. */
export function int8DequantGraph(g: Graph, q: Int4Values, N: number, K: number, dep: Value): Value {
  const nb = q.b.shape[1];
  const dt = floatType(q.scales);
  const codes = cast(g, after(g, q.b, dep), dt); // [N, nb, 32]
  const zp = reshape(g, cast(g, q.zeroPoints, dt), [N, nb, 1]);
  const w = reshape(g, mul(g, sub(g, codes, zp), reshape(g, q.scales, [N, nb, 1])), [N, nb * INT4_BLOCK]);
  return K === nb * INT4_BLOCK ? w : slice(g, w, 1, 0, K);
}

/** dequant(B) as float [N, K] (the scales' type), from the MatMulNBits inputs, computed once `dep` exists. */
export function int4DequantGraph(g: Graph, q: Int4Values, N: number, K: number, dep: Value): Value {
  const nb = q.b.shape[1];
  const dt = floatType(q.scales);
  const nibble = shared(g, `int4_pairs_${dt}`, () => pairTable(g, `int4_pairs_${dt}`, (k) => k, dt));
  const codes = unpack(g, after(g, q.b, dep), nibble); // [N, nb, 32]
  let zp = unpack(g, reshape(g, q.zeroPoints, [N, -1]), nibble); // [N, 2·ceil(nb/2)]
  if (zp.shape[1] !== nb) zp = slice(g, zp, 1, 0, nb);
  const w = mul(g, sub(g, codes, reshape(g, zp, [N, nb, 1])), reshape(g, q.scales, [N, nb, 1]));
  const flat = reshape(g, w, [N, nb * INT4_BLOCK]);
  return K === nb * INT4_BLOCK ? flat : slice(g, flat, 1, 0, K);
}

/** x·Wᵀ for a frozen W the backward pass re-derives (see the file comment). */
export function linearOfRecomputed(g: Graph, x: Value, w: Value): Value {
  if (!isRecomputable(w)) throw new Error(`linearOfRecomputed: ${w.name} has no rebuilder`);
  return g.add('Einsum', [w, x], [{ dtype: x.dtype, shape: [x.shape[0], w.shape[0]] }], { equation: { s: 'kj,ij->ik' } })[0];
}

/** dY·W as Einsum with the (re-derived) weight as the first operand: see the file comment on ordering. */
function weightFirstBackward(g: Graph, w: Value, dy: Value): Value {
  return g.add('Einsum', [w, dy], [{ dtype: dy.dtype, shape: [dy.shape[0], w.shape[1]] }], { equation: { s: 'kj,ik->ij' } })[0];
}

/**
 * Largest weight (elements) the backward dequantizes in one piece. A bigger one (an 8-bit LM head over
 * a 150k vocabulary) is done in row chunks, each waiting for the previous partial sum, so one chunk's
 * fp32 rows exist at a time instead of several fp32 copies of the whole table. Tests lower it.
 */
export const BACKWARD_CHUNK = { elements: 1 << 24 };

defineGrad(
  'MatMulNBits',
  (g, n, [dy], needs) => {
    if (needs[1] || needs[2] || needs[3])
      throw new Error(`MatMulNBits ${n.outputs[0].name}: quantized weights are frozen and get no gradient`);
    if (!dy || !needs[0]) return n.inputs.map(() => null);
    if (dy.shape.length !== 2) throw new Error(`MatMulNBits ${n.outputs[0].name}: the gradient rule takes 2-D inputs, not [${dy.shape}]`);
    const nulls = n.inputs.slice(1).map(() => null);
    const [, b, scales, zeroPoints] = n.inputs as Value[];
    const N = (n.attrs.N as { i: number }).i;
    const K = (n.attrs.K as { i: number }).i;
    const dequant = (q: Int4Values, rows: number, dep: Value) =>
      (n.attrs.bits as { i: number }).i === 8 ? int8DequantGraph(g, q, rows, K, dep) : int4DequantGraph(g, q, rows, K, dep);
    const scalesF = rebuild(scales, dy);
    const chunks = Math.ceil((N * K) / BACKWARD_CHUNK.elements);
    if (chunks <= 1) return [weightFirstBackward(g, dequant({ b, scales: scalesF, zeroPoints }, N, dy), dy), ...nulls];
    const per = Math.ceil(N / chunks);
    const scales2 = reshape(g, scalesF, [N, -1]);
    const zp2 = reshape(g, zeroPoints, [N, -1]);
    let acc: Value | null = null;
    for (let r0 = 0; r0 < N; r0 += per) {
      const r1 = Math.min(N, r0 + per);
      // Rows of the uint8 tensors by Gather: WebGPU has no uint8 Slice, but gathers uint8 rows.
      const rows = g.init(`chunk_rows_${r0}_${r1}`, {
        dtype: 'int32',
        shape: [r1 - r0],
        data: Int32Array.from({ length: r1 - r0 }, (_, i) => r0 + i),
      });
      const q = {
        b: gather(g, b, rows),
        scales: reshape(g, slice(g, scales2, 0, r0, r1), [-1]),
        zeroPoints: reshape(g, gather(g, zp2, rows), [-1]),
      };
      const part = weightFirstBackward(g, dequant(q, r1 - r0, acc ?? dy), slice(g, dy, 1, r0, r1));
      acc = acc ? add(g, acc, part) : part;
    }
    return [acc, ...nulls];
  },
  'com.microsoft',
);

defineGrad('Einsum', (g, n, [dy], needs) => {
  const eq = (n.attrs.equation as { s: string }).s;
  if (eq !== 'kj,ij->ik') throw new Error(`no gradient rule for Einsum "${eq}" (only the frozen linear "kj,ij->ik")`);
  if (needs[0]) throw new Error(`Einsum ${n.outputs[0].name}: its weight is frozen and gets no gradient`);
  if (!dy || !needs[1]) return [null, null];
  return [null, weightFirstBackward(g, rebuild(n.inputs[0]!, dy), dy)];
});
