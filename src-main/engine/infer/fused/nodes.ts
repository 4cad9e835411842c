/**
 * Builders for the fused ONNX Runtime ops the fused decode graph uses (com.microsoft contrib ops and
 * SimplifiedLayerNormalization, which ORT registers in the ONNX domain). Outputs can be omitted (an
 * optional output nobody reads) or named, so graph outputs need no Identity node.
 */
import type { Attr, DType, Graph, Value } from '../../graph/ir.js';
import { shared, sharedI64 } from '../../graph/shared.js';
import { reductionParts } from '../../ops/reduce.js';

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

/**
 * The width the fused decode graph carries the residual stream at on the GPU: the hidden size, or the next
 * multiple of 256 (zeros after it). The EP's RMSNorm kernels give a row one workgroup of 64 threads, the last
 * of which takes whatever the others leave of the row's vec4s: at 896 wide (224 vec4s) 35 of them where the
 * rest take 3. Timed inside captured replays on an H200 (bench/op-floors.ts, session 20): a one-row
 * SkipSimplifiedLayerNormalization took 13.9 µs at 896, 8.3 at 576, 3.2 at 1,024 and 3.9 at 768 (an Add: 3.1).
 * Whole models of the wider shapes decoded faster despite their larger weights (call P: 0.5B shapes at 1,024
 * wide 213–215 against 194–200 tok/s; 135M at 768 227–251 against 214–217), and the padded graph against the
 * unpadded, alternating in one process (calls B and H): 0.5B 185 → 214 tok/s, 135M 230 → 240.
 */
export function streamWidth(hidden: number): number {
  return Math.ceil(hidden / 256) * 256;
}

/** Slices of K in the LM head's split-K MatMul (the first of these that divides the hidden size), or 1. */
export function headSplit(D: number): number {
  return [8, 4, 2].find((s) => D % s === 0 && D / s >= 32) ?? 1;
}

/**
 * x [B, D] · W for an LM head stored transposed and split along D, [S, D/S, V] (the bytes of [D, V]):
 * a batched MatMul [S, B, D/S]·[S, D/S, V] and a sum over S. With one row, the EP's MatMul gives each
 * thread the whole D-long dot product over few workgroups; S slices make S times the workgroups and an
 * S-th of the serial loop. Measured on an H200 (bench/matvec-variants.ts): 896 × 151,936 fp32,
 * 2.25 ms → 0.55 ms. Only the summation order changes.
 */
export function splitKHead(g: Graph, x: Value, head: Value, name?: string): Value {
  const [B, D] = x.shape;
  const [S, , V] = head.shape;
  const out = { dtype: x.dtype, shape: [B, V], name };
  const i64 = (n: string, v: number[]) => g.init(n, { dtype: 'int64', shape: [v.length], data: BigInt64Array.from(v.map(BigInt)) });
  // One row needs no transpose: [1, D] is [S, 1, D/S] as it lies.
  const xs =
    B === 1
      ? node(g, 'Reshape', [x, i64('head_x_split', [S, 1, D / S])], [{ dtype: x.dtype, shape: [S, 1, D / S] }])[0]
      : node(g, 'Transpose', [node(g, 'Reshape', [x, i64('head_x_split', [B, S, D / S])], [{ dtype: x.dtype, shape: [B, S, D / S] }])[0]], [{ dtype: x.dtype, shape: [S, B, D / S] }], { perm: { ints: [1, 0, 2] } })[0];
  const parts = node(g, 'MatMul', [xs, head], [{ dtype: x.dtype, shape: [S, B, V] }])[0];
  if (S === 1) return node(g, 'Reshape', [parts, i64('head_out', [B, V])], [out])[0];
  return node(g, 'ReduceSum', [parts, i64('head_sum_axis', [0])], [out], { keepdims: { i: 0 } })[0];
}

/**
 * Partial results a split-K projection may hold per token: S·N floats (160 KB). A prompt is prefilled in one
 * run through the same graph, so S·N·T floats exist at once there (320 MB for 2,048 tokens).
 */
const MAX_PARTIALS_PER_TOKEN = 40_960;
/** A plain one-row MatMul with this many workgroups (N ≥ 4,096) is left as it is. */
const PLAIN_ENOUGH_WORKGROUPS = 128;
/** Nor is one whose workgroups loop over fewer inputs than this (a 896 → 1,152 qkv: 46 → 35 µs, less than two dispatches' host time)... */
const SPLIT_MIN_INPUTS = 1024;
/** ...or one of fewer weights than this (4 MB of fp32): the two added dispatches would cost more than it saves. */
const SPLIT_MIN_WEIGHTS = 1_000_000;

/**
 * How many slices a split-K projection [K → N] takes on the GPU: the fewest that give the EP's one-row MatMul
 * about `workgroups` workgroups (it gives each N/32 output columns one, looping over its slice of K), within
 * MAX_PARTIALS_PER_TOKEN; slices of at least 32 inputs and a multiple of 4 (its vec4 path). 1 (a plain MatMul)
 * when `workgroups` is 0, nothing fits, or the plain kernel is good enough (below). The H200 profile
 * (docs/gpu-speed.md, eighth pass): a 4,864 → 896 down projection ran on 28 workgroups, at a quarter of the speed
 * of 38 slices.
 */
export function projectionSlices(K: number, N: number, workgroups: number, all = false): number {
  if (workgroups <= 0) return 1;
  const per = Math.ceil(N / 32);
  // Each split adds two dispatches (the transpose of x, the sum), ~10 µs of the host's time apiece: worth it
  // where the plain kernel has few workgroups, each looping over a long K, for many weights (the H200 profile:
  // a 4,864 → 896 down projection 200 → 48 µs of GPU time with its two added kernels; a 896 → 9,728 gate/up
  // 61 → 60 µs; a 896 → 1,152 qkv 46 → 35 µs). `all` splits wherever slices fit (measurements).
  if (!all && (per >= PLAIN_ENOUGH_WORKGROUPS || K < SPLIT_MIN_INPUTS || K * N < SPLIT_MIN_WEIGHTS)) return 1;
  const want = Math.ceil(workgroups / per);
  let best = 1;
  for (let S = 2; S <= K / 32; S++) {
    if (K % S !== 0 || (K / S) % 4 !== 0 || S * N > MAX_PARTIALS_PER_TOKEN) continue;
    best = S;
    if (S >= want) break;
  }
  return best;
}

/**
 * x [B, T, K] · W split along K: W is a projection weight laid out [S, K/S, N] (the bytes of [K, N]), or each
 * row's own weight [S, B, K/S, N] (the adapter rows' Aᵀ, fused-lora.ts). Each slice of K is its own batch of
 * the MatMul, then one [1, S] · [S, B·T·N] product of ones adds the S partial results. With one row the EP's
 * MatMul gives few workgroups a K-long loop each (N/32 of them); S slices make S times the workgroups and an
 * S-th of the loop. A shared weight multiplies all B·T rows as one [B·T, K/S] matrix a slice, so each slice
 * of W is read once for every row (as a batch axis of B, it was read B times: the H200 profile of 4 rows had
 * the 0.5B down projection at 75.7 µs against 20.1 for one). Only the order of the additions changes. The
 * token axis may be symbolic: every reshape copies it (0) or infers it (-1).
 */
export function splitKProjection(g: Graph, x: Value, w: Value, oneRow = false): Value {
  const [B, T] = x.shape;
  const perRow = w.shape.length === 4;
  const [S, Ks, N] = perRow ? [w.shape[0], w.shape[2], w.shape[3]] : w.shape;
  const i64 = (name: string, v: number[]) => sharedI64(g, name, v);
  // One transpose of x per slicing: the base projection and the adapter rows' x·Aᵀ of one input share it. In a
  // graph of one row and one token (`oneRow`: static shapes, B = T = 1) the slices lie as [S, 1, 1, Ks] already,
  // so a Reshape (no dispatch) serves.
  const xt = shared(g, `splitk_xt.${x.name}.${S}`, () => {
    if (oneRow) {
      if (B * T !== 1) throw new Error(`splitKProjection: oneRow with ${B} rows of ${T} tokens`);
      return node(g, 'Reshape', [x, i64(`splitk_x1_${S}x${Ks}`, [S, 1, 1, Ks])], [{ dtype: x.dtype, shape: [S, 1, 1, Ks] }])[0];
    }
    const xs = node(g, 'Reshape', [x, i64(`splitk_x_${S}x${Ks}`, [0, 0, S, Ks])], [{ dtype: x.dtype, shape: [B, T, S, Ks] }])[0];
    return node(g, 'Transpose', [xs], [{ dtype: x.dtype, shape: [S, B, T, Ks] }], { perm: { ints: [2, 0, 1, 3] } })[0];
  });
  const parts = perRow
    ? node(g, 'MatMul', [xt, w], [{ dtype: x.dtype, shape: [S, B, T, N] }])[0]
    : node(g, 'MatMul', [node(g, 'Reshape', [xt, i64(`splitk_rows_${S}x${Ks}`, [S, -1, Ks])], [{ dtype: x.dtype, shape: [S, B * T, Ks] }])[0], w], [{ dtype: x.dtype, shape: [S, B * T, N] }])[0];
  const flat = node(g, 'Reshape', [parts, i64(`splitk_flat_${S}`, [S, -1])], [{ dtype: x.dtype, shape: [S, B * T * N] }])[0];
  // one row of ones per slicing, in the partials' type (named by it: an initializer's name holds one type)
  const half = x.dtype === 'float16';
  const onesName = `splitk_ones_${S}${half ? '_f16' : ''}`;
  const ones = shared(g, onesName, () => g.init(onesName, { dtype: half ? 'float16' : 'float32', shape: [1, S], data: half ? new Uint16Array(S).fill(0x3c00) : new Float32Array(S).fill(1) }));
  const sum = node(g, 'MatMul', [ones, flat], [{ dtype: x.dtype, shape: [1, B * T * N] }])[0];
  return node(g, 'Reshape', [sum, i64(`splitk_out_${B}x${N}`, [B, -1, N])], [{ dtype: x.dtype, shape: [B, T, N] }])[0];
}

/** Rows of an [S, D/S, V] table (a tied embedding in the LM head's layout) for ids [B, T]: [B, T, D]. */
export function gatherSplitHead(g: Graph, table: Value, ids: Value, oneRow = false): Value {
  const [S, Ds] = table.shape;
  const [B, T] = ids.shape;
  const cols = node(g, 'Gather', [table, ids], [{ dtype: table.dtype, shape: [S, Ds, B, T] }], { axis: { i: 2 } })[0];
  // one row of one token (static shapes): [S, Ds, 1, 1] lies as [1, 1, S, Ds] already
  const rows = oneRow ? cols : node(g, 'Transpose', [cols], [{ dtype: table.dtype, shape: [B, T, S, Ds] }], { perm: { ints: [2, 3, 0, 1] } })[0];
  // 0 copies the batch and (possibly symbolic) token axes.
  const target = g.init('embed_rows_shape', { dtype: 'int64', shape: [3], data: BigInt64Array.of(oneRow ? 1n : 0n, oneRow ? 1n : 0n, BigInt(S * Ds)) });
  return node(g, 'Reshape', [rows, target], [{ dtype: table.dtype, shape: [B, T, S * Ds] }])[0];
}

/** Parts a row's maximum is taken over first, at most (ops/reduce.ts, reductionParts). */
const MAX_PARTS = 256;

/**
 * Each row's maximum of x [B, V] as [B, 1], in two reductions where V divides into parts: the EP's ReduceMax gives
 * a row one workgroup, and the H200 profile (session 16) had a 151,936-long row at 64 µs, 4 rows at 274 µs. The
 * maximum is exact in any order.
 */
export function rowMax(g: Graph, x: Value, axes: Value, inParts = true): Value {
  return rowReduce(g, 'ReduceMax', x, axes, inParts);
}

/** Each row's sum of x [B, V] as [B, 1], in two reductions as rowMax: NaN where the row holds a NaN, ±inf where it holds one. */
export function rowSum(g: Graph, x: Value, axes: Value): Value {
  return rowReduce(g, 'ReduceSum', x, axes, true);
}

function rowReduce(g: Graph, op: 'ReduceMax' | 'ReduceSum', x: Value, axes: Value, inParts: boolean): Value {
  const [B, V] = x.shape;
  const out = { dtype: 'float32' as const, shape: [B, 1] };
  const parts = inParts ? reductionParts(V, MAX_PARTS) : 1;
  if (parts === 1) return node(g, op, [x, axes], [out], { keepdims: { i: 1 } })[0];
  const shape = sharedI64(g, `row_parts_${B}x${parts}x${V / parts}`, [B, parts, V / parts]);
  const last = sharedI64(g, 'row_axis2', [2]);
  const cut = node(g, 'Reshape', [x, shape], [{ dtype: x.dtype, shape: [B, parts, V / parts] }])[0];
  const partial = node(g, op, [cut, last], [{ dtype: x.dtype, shape: [B, parts] }], { keepdims: { i: 0 } })[0];
  return node(g, op, [partial, axes], [out], { keepdims: { i: 1 } })[0];
}
