/**
 * Builders for the fused ONNX Runtime ops the fused decode graph uses (com.microsoft contrib ops and
 * SimplifiedLayerNormalization, which ORT registers in the ONNX domain). Outputs can be omitted (an
 * optional output nobody reads) or named, so graph outputs need no Identity node.
 */
import type { Attr, DType, Graph, Value } from '../../graph/ir.js';

const MS = 'com.microsoft';

export interface OutSpec {
  dtype: DType;
  shape: readonly number[];
  /** The value's name (e.g. a graph output's); default a fresh one. */
  name?: string;
}

/** Adds a node whose null outputs are left unnamed (ONNX: optional output not produced). */
export function node(g: Graph, op: string, inputs: readonly (Value | null)[], outs: readonly (OutSpec | null)[], attrs: Record<string, Attr> = {}, domain = ''): Value[] {
  let last = outs.length;
  while (last > 0 && outs[last - 1] === null) last--;
  const outputs = outs.slice(0, last).map((o, k): Value => (o ? g.newValue(o.dtype, o.shape, o.name ?? 'v') : { id: -1 - k, name: '', dtype: 'float32', shape: [] }));
  g.nodes.push({ op, domain, inputs: [...inputs], outputs, attrs, noGrad: false });
  return outputs;
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · weight. */
export function simplifiedLayerNorm(g: Graph, x: Value, weight: Value, eps: number): Value {
  return node(g, 'SimplifiedLayerNormalization', [x, weight], [{ dtype: x.dtype, shape: x.shape }], { axis: { i: -1 }, epsilon: { f: eps } })[0];
}

/** sum = x + skip; returns RMSNorm(sum)·weight and sum (the residual stream), or only the norm when the sum is not needed. */
export function skipSimplifiedLayerNorm(g: Graph, x: Value, skip: Value, weight: Value, eps: number, wantSum: boolean): { normed: Value; sum: Value | null } {
  const t = { dtype: x.dtype, shape: x.shape };
  const outs = node(g, 'SkipSimplifiedLayerNormalization', [x, skip, weight], [t, null, null, wantSum ? t : null], { epsilon: { f: eps } }, MS);
  return { normed: outs[0], sum: wantSum ? outs[3] : null };
}

/** x·sigmoid(alpha·x); alpha = 1 is SiLU. */
export function quickGelu(g: Graph, x: Value, alpha = 1): Value {
  return node(g, 'QuickGelu', [x], [{ dtype: x.dtype, shape: x.shape }], { alpha: { f: alpha } }, MS)[0];
}

export function splitLast(g: Graph, x: Value, parts: number): Value[] {
  const d = x.shape[x.shape.length - 1];
  if (d % parts !== 0) throw new Error(`split: last dim ${d} does not divide into ${parts}`);
  const shape = [...x.shape.slice(0, -1), d / parts];
  return node(g, 'Split', [x], Array.from({ length: parts }, () => ({ dtype: x.dtype, shape })), { axis: { i: -1 }, num_outputs: { i: parts } });
}

/** Split along the last axis into the given sizes (an int64 `split` input). */
export function splitSizes(g: Graph, x: Value, sizes: readonly number[], name: string): Value[] {
  const split = g.init(name, { dtype: 'int64', shape: [sizes.length], data: BigInt64Array.from(sizes.map(BigInt)) });
  return node(g, 'Split', [x, split], sizes.map((s) => ({ dtype: x.dtype, shape: [...x.shape.slice(0, -1), s] })), { axis: { i: -1 } });
}

/** HF rotate-half RoPE on [B, S, heads·hd] with position ids [B, S] (int64) and half-width tables [maxPos, hd/2]. */
export function rotaryEmbedding(g: Graph, x: Value, positions: Value, cos: Value, sin: Value, heads: number): Value {
  return node(g, 'RotaryEmbedding', [x, positions, cos, sin], [{ dtype: x.dtype, shape: x.shape }], { interleaved: { i: 0 }, num_heads: { i: heads } }, MS)[0];
}

export interface GqaArgs {
  /** [B, S, H·hd], or packed [B, S, (H + 2·KV)·hd] when key and value are null. */
  query: Value;
  key: Value | null;
  value: Value | null;
  /** [B, KV, C, hd] fixed-capacity caches. */
  pastKey: Value;
  pastValue: Value;
  /** [B] int32: each row's total length - 1. */
  seqlensK: Value;
  /** [] int32: the longest row's total length. */
  totalLength: Value;
  /** Half-width tables [maxPos, hd/2] when GQA applies RoPE itself. */
  rotary: { cos: Value; sin: Value } | null;
  heads: number;
  kvHeads: number;
  headDim: number;
  presentNames: [string, string];
}

export function groupQueryAttention(g: Graph, a: GqaArgs): { out: Value; presentKey: Value; presentValue: Value } {
  const [B, S] = a.query.shape;
  const dt = a.query.dtype;
  const cacheShape = a.pastKey.shape;
  const [out, presentKey, presentValue] = node(
    g,
    'GroupQueryAttention',
    [a.query, a.key, a.value, a.pastKey, a.pastValue, a.seqlensK, a.totalLength, a.rotary?.cos ?? null, a.rotary?.sin ?? null],
    [
      { dtype: dt, shape: [B, S, a.heads * a.headDim] },
      { dtype: dt, shape: cacheShape, name: a.presentNames[0] },
      { dtype: dt, shape: cacheShape, name: a.presentNames[1] },
    ],
    {
      num_heads: { i: a.heads },
      kv_num_heads: { i: a.kvHeads },
      scale: { f: 1 / Math.sqrt(a.headDim) },
      do_rotary: { i: a.rotary ? 1 : 0 },
      rotary_interleaved: { i: 0 },
    },
    MS,
  );
  return { out, presentKey, presentValue };
}
