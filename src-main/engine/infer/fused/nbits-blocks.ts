/**
 * ONNX Runtime's fused 4-bit decode ops (com.microsoft, WebGPU kernels since 1.30), each an RMSNorm (after a
 * residual add when given a skip) and the projections that read the normed row, in one dispatch:
 * - MatMulNBitsQkv: q, k and v (Nq and Nkv outputs) from one normed row, and the residual sum;
 * - MatMulNBitsMlp: SiLU(x·Gᵀ)·(x·Uᵀ) from one normed row, and the residual sum.
 * On an H200 (docs/gpu-speed.md, eighth pass) the MLP op took 7.3 µs of GPU time for the gate and up of a
 * 896 → 4,864 layer, where one 4-bit MatMulNBits of that size took 16 µs, before its Split, SiLU and Mul.
 * They take symmetric codes only (no zero-point input: the midpoint is implied) and block 32; with several
 * tokens (prefill) the EP runs them unfused, with the same results. The CPU EP has neither: the fused graph
 * uses them only on the GPU (FusedDecodeGraphOpts.nbitsFusion).
 */
import type { Graph, Value } from '../../graph/ir.js';
import type { PackedProjection } from './fused-weights.js';
import { node } from './nodes.js';

const MS = 'com.microsoft';

/** Optional inputs left out at the end, as ONNX allows. */
function trim(xs: (Value | null)[]): (Value | null)[] {
  let n = xs.length;
  while (n > 0 && xs[n - 1] === null) n--;
  return xs.slice(0, n);
}

/** The attributes both ops share; `p` from FusedWeights.symmetricProjection (symmetric 4-bit codes). */
function common(p: PackedProjection, eps: number) {
  return { K: { i: p.K }, bits: { i: 4 }, block_size: { i: 32 }, accuracy_level: { i: 0 }, epsilon: { f: eps } };
}

/** RMSNorm(a (+ skip))·norm, then its q, k, v projections; `sum` is a + skip (null without a skip). */
export function qkvNBits(g: Graph, a: Value, skip: Value | null, norm: Value, eps: number, q: PackedProjection, k: PackedProjection, v: PackedProjection) {
  const lead = a.shape.slice(0, -1);
  const t = (n: number) => ({ dtype: a.dtype, shape: [...lead, n] });
  const outs = node(g, 'MatMulNBitsQkv', trim([a, skip, norm, q.b, q.scales, null, k.b, k.scales, null, v.b, v.scales, null]), [t(q.N), t(k.N), t(v.N), skip ? { dtype: a.dtype, shape: a.shape } : null], { ...common(q, eps), Nq: { i: q.N }, Nkv: { i: k.N } }, MS);
  return { q: outs[0], k: outs[1], v: outs[2], sum: skip ? outs[3] : null };
}

/** RMSNorm(a + skip)·norm, then SiLU(·Gᵀ)·(·Uᵀ); `sum` is a + skip. */
export function mlpNBits(g: Graph, a: Value, skip: Value, norm: Value, eps: number, gate: PackedProjection, up: PackedProjection) {
  const out = { dtype: a.dtype, shape: [...a.shape.slice(0, -1), gate.N] };
  const outs = node(g, 'MatMulNBitsMlp', trim([a, skip, norm, gate.b, gate.scales, null, up.b, up.scales, null]), [out, { dtype: a.dtype, shape: a.shape }], { ...common(gate, eps), N: { i: gate.N }, activation: { s: 'silu' } }, MS);
  return { y: outs[0], sum: outs[1] };
}
