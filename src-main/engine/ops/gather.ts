/** Gather (embedding lookup, table lookup by position): data is frozen, indices are integers. */
import type { Graph, Value } from '../graph/ir.js';
import { normAxis } from './consts.js';
import { defineGrad } from './registry.js';

export function gather(g: Graph, data: Value, indices: Value, axis = 0): Value {
  const a = normAxis(axis, data.shape.length);
  const shape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
  return g.add('Gather', [data, indices], [{ dtype: data.dtype, shape }], { axis: { i: a } })[0];
}

// Graft trains adapters over a frozen base: nothing upstream of a Gather's data is trainable, and
// integer indices have no gradient. The rule states that instead of silently dropping a gradient.
defineGrad('Gather', (_g, n, _dy, needs) => {
  if (needs[0]) throw new Error(`gradient through Gather data (${n.inputs[0]!.name}) is not supported: embeddings are frozen`);
  return [null, null];
});

/** Writes `updates` into a copy of `data` at `indices` along `axis` (the KV cache write). */
export function scatterElements(g: Graph, data: Value, indices: Value, updates: Value, axis: number): Value {
  return g.add('ScatterElements', [data, indices, updates], [{ dtype: data.dtype, shape: data.shape }], { axis: { i: normAxis(axis, data.shape.length) } })[0];
}
