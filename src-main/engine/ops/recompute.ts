/**
 * Values a backward pass rebuilds instead of keeping: a frozen weight dequantized from 4 bits is cheap
 * to make again and costs 2–4 bytes a parameter to keep, so the forward's copy is freed after its use
 * and a gradient rule that needs the weight (Gemm's, Einsum's, MatMulNBits') asks for a fresh one.
 */
import type { Value } from '../graph/ir.js';

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
