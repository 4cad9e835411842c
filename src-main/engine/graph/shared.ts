/**
 * One value per graph and key, made at the first ask: a table, a constant or a transposed input that several
 * builders of one graph read (the quantized codebooks, split-K's transposed x, shape initializers).
 */
import type { Graph, Value } from './ir.js';

const tables = new WeakMap<Graph, Map<string, Value>>();

export function shared(g: Graph, key: string, make: () => Value): Value {
  let m = tables.get(g);
  if (!m) tables.set(g, (m = new Map()));
  let v = m.get(key);
  if (!v) m.set(key, (v = make()));
  return v;
}

/** An int64 initializer (a shape, an axis list) shared under its name. */
export const sharedI64 = (g: Graph, name: string, v: readonly number[]): Value =>
  shared(g, name, () => g.init(name, { dtype: 'int64', shape: [v.length], data: BigInt64Array.from(v.map(BigInt)) }));
