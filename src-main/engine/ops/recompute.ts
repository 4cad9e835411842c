/**
 * Values a backward pass rebuilds instead of keeping: a frozen weight dequantized from 4 bits is cheap
 * to make again and costs 2–4 bytes a parameter to keep, so the forward's copy is freed after its use
 * and a gradient rule that needs the weight (Gemm's, Einsum's, MatMulNBits') asks for a fresh one.
 */
import type { Graph, Value } from '../graph/ir.js';
import { concat, transpose } from './shape.js';

const rebuilders = new WeakMap<Value, (after: Value) => Value>();

/**
 * Marks `v` as cheap to recompute: backward rules call `rebuild` and ORT frees `v` after its forward
 * use. `build(after)` must not start before the value `after` exists (quant-linear.ts `after`).
 */
export function recomputable(v: Value, build: (after: Value) => Value): Value {
  rebuilders.set(v, build);
  return v;
}

export const isRecomputable = (v: Value): boolean => rebuilders.has(v);

/** A fresh copy of a recomputable `v`, made once `after` exists; any other value as it is. */
export const rebuild = (v: Value, after: Value): Value => rebuilders.get(v)?.(after) ?? v;

/**
 * `packed`, but only once `after` has been computed. A dequantization depends on constants alone, so
 * ORT may schedule it anywhere before its use, up to all layers' fp32 weights at once; an Expand to
 * `after`'s empty shape slice copies the packed bytes (0.5 byte/parameter) and ties the chain to the
 * activation that needs it.
 */
export function after(g: Graph, packed: Value, dep: Value): Value {
  // An ordering edge, not a data path: no gradient flows through it.
  return g.noGrad(() => {
    const none = g.add('Shape', [dep], [{ dtype: 'int64', shape: [0] }], { start: { i: 0 }, end: { i: 0 } })[0];
    return g.add('Expand', [packed, none], [{ dtype: packed.dtype, shape: packed.shape }])[0];
  });
}

const transposers = new WeakMap<Value, (after: Value) => Value>();

/**
 * Registers how to make `wt`ᵀ for a backward pass, once `after` exists: a frozen weight stored [in, out]
 * for the EP's fast MatMul has its [out, in] form made when dX = dY·W needs it (a Transpose of a copy
 * that waits for dY, or a table already resident), instead of a Transpose of a constant that ORT would
 * fold into a second resident copy of every weight.
 */
export function withTranspose(wt: Value, build: (after: Value) => Value): Value {
  transposers.set(wt, build);
  return wt;
}

/** `v`ᵀ as registered by `withTranspose`, made once `after` exists; null for any other value. */
export const transposedOf = (v: Value, after: Value): Value | null => transposers.get(v)?.(after) ?? null;

/** A recomputed copy of `from` (activation checkpointing's clones) is rebuilt and transposed as `from` is. */
export function inheritRecompute(from: Value, to: Value): void {
  const r = rebuilders.get(from);
  if (r) rebuilders.set(to, r);
  const t = transposers.get(from);
  if (t) transposers.set(to, t);
}

/**
 * Weights [in, out_i] side by side as one [in, Σ out_i] (one product for projections that read the same input),
 * with its [Σ out_i, in] form registered as the parts' own transposed forms stacked, made once `after` exists.
 */
export function joinedColumns(g: Graph, ws: readonly Value[]): Value {
  if (ws.length === 1) return ws[0];
  return withTranspose(concat(g, ws, 1), (after) => concat(g, ws.map((w) => transposedOf(w, after) ?? transpose(g, w, [1, 0])), 0));
}
