/** Constant initializers (scalars, shape vectors) shared within one graph, and broadcasting helpers. */
import type { DType, Graph, TypedData, Value } from '../graph/ir.js';

const cache = new WeakMap<Graph, Map<string, Value>>();

function typed(dtype: DType, values: readonly number[]): TypedData {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int32':
      return Int32Array.from(values);
    case 'int64':
      return BigInt64Array.from(values.map((v) => BigInt(v)));
    default:
      throw new Error(`no constants of dtype ${dtype}`);
  }
}

/** A constant tensor of the given values; equal constants are shared. */
export function constant(g: Graph, dtype: DType, shape: readonly number[], values: readonly number[]): Value {
  let m = cache.get(g);
  if (!m) cache.set(g, (m = new Map()));
  const key = `${dtype}|${shape.join(',')}|${values.join(',')}`;
  let v = m.get(key);
  if (!v) {
    v = g.init(`c_${dtype}_${m.size}`, { dtype, shape, data: typed(dtype, values) });
    m.set(key, v);
  }
  return v;
}

export function scalar(g: Graph, value: number, dtype: DType = 'float32'): Value {
  return constant(g, dtype, [], [value]);
}

export function int64s(g: Graph, values: readonly number[]): Value {
  return constant(g, 'int64', [values.length], values);
}

export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`cannot broadcast [${a.join(',')}] with [${b.join(',')}]`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}
