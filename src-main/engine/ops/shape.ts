/** Reshape, Transpose, Identity, Cast, Concat, Slice: forward builders and their gradient rules. */
import type { DType, Graph, Value } from '../graph/ir.js';
import { numel } from '../graph/ir.js';
import { int64s, normAxis } from './consts.js';
import { defineGrad } from './registry.js';

export function reshape(g: Graph, x: Value, shape: readonly number[]): Value {
  const known = shape.filter((d) => d !== -1);
  const infer = shape.indexOf(-1);
  const out = [...shape];
  if (infer >= 0) out[infer] = numel(x.shape) / numel(known);
  if (numel(out) !== numel(x.shape) || !Number.isInteger(out[infer >= 0 ? infer : 0] ?? 0)) {
    throw new Error(`cannot reshape [${x.shape.join(',')}] to [${shape.join(',')}]`);
  }
  return g.add('Reshape', [x, int64s(g, out)], [{ dtype: x.dtype, shape: out }])[0];
}

export function transpose(g: Graph, x: Value, perm: readonly number[]): Value {
  if (perm.length !== x.shape.length) throw new Error(`perm [${perm}] does not match rank ${x.shape.length}`);
  const shape = perm.map((p) => x.shape[p]);
  return g.add('Transpose', [x], [{ dtype: x.dtype, shape }], { perm: { ints: [...perm] } })[0];
}

export function identity(g: Graph, x: Value): Value {
  return g.add('Identity', [x], [{ dtype: x.dtype, shape: x.shape }])[0];
}

const CAST_TO: Record<DType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };

export function cast(g: Graph, x: Value, to: DType): Value {
  if (x.dtype === to) return x;
  return g.add('Cast', [x], [{ dtype: to, shape: x.shape }], { to: { i: CAST_TO[to] } })[0];
}

export function concat(g: Graph, xs: readonly Value[], axis: number): Value {
  const a = normAxis(axis, xs[0].shape.length);
  const shape = [...xs[0].shape];
  shape[a] = xs.reduce((s, x) => s + x.shape[a], 0);
  return g.add('Concat', xs, [{ dtype: xs[0].dtype, shape }], { axis: { i: a } })[0];
}

/** Static slice [start, end) along one axis. */
export function slice(g: Graph, x: Value, axis: number, start: number, end: number): Value {
  const a = normAxis(axis, x.shape.length);
  const shape = [...x.shape];
  shape[a] = end - start;
  return g.add('Slice', [x, int64s(g, [start]), int64s(g, [end]), int64s(g, [a])], [{ dtype: x.dtype, shape }])[0];
}

function isFloat(t: DType): boolean {
  return t === 'float32' || t === 'float64' || t === 'float16';
}

/** Splits along `axis` into pieces of the given sizes (one node, many outputs). */
export function split(g: Graph, x: Value, sizes: readonly number[], axis = 0): Value[] {
  const a = normAxis(axis, x.shape.length);
  if (sizes.reduce((s, n) => s + n, 0) !== x.shape[a]) throw new Error(`split sizes [${sizes}] do not add up to ${x.shape[a]}`);
  const outs = sizes.map((n) => {
    const shape = [...x.shape];
    shape[a] = n;
    return { dtype: x.dtype, shape };
  });
  return g.add('Split', [x, int64s(g, sizes)], outs, { axis: { i: a } });
}

/**
 * Splits into any number of pieces as a tree of Splits of at most 15 outputs each: a WebGPU shader
 * binds at most 16 storage buffers, so one Split (or its gradient's Concat) cannot have more.
 */
export function splitMany(g: Graph, x: Value, sizes: readonly number[], axis = 0, fanout = 15): Value[] {
  if (sizes.length <= fanout) return split(g, x, sizes, axis);
  // Bottom-up: pieces in groups of `fanout`, the groups split from their parents the same way.
  const groups: number[][] = [];
  for (let i = 0; i < sizes.length; i += fanout) groups.push(sizes.slice(i, i + fanout));
  const parents = splitMany(g, x, groups.map((gr) => gr.reduce((a, b) => a + b, 0)), axis, fanout);
  return groups.flatMap((gr, k) => (gr.length === 1 ? [parents[k]] : split(g, parents[k], gr, axis)));
}

defineGrad('Split', (g, n, dOut) => {
  if (dOut.every((d) => d === null)) return [null, null];
  const axis = (n.attrs.axis as { i: number }).i;
  // A piece nothing depends on contributes zeros.
  const parts = n.outputs.map((o, k) => dOut[k] ?? g.add('Expand', [g.init(`zero_${o.name}`, { dtype: o.dtype, shape: [], data: o.dtype === 'float64' ? new Float64Array(1) : new Float32Array(1) }), int64s(g, o.shape)], [{ dtype: o.dtype, shape: o.shape }])[0]);
  return [concat(g, parts, axis), null];
});

defineGrad('Reshape', (g, n, [dy]) => [dy && reshape(g, dy, n.inputs[0]!.shape), null]);
defineGrad('Identity', (_g, _n, [dy]) => [dy]);
defineGrad('Transpose', (g, n, [dy]) => {
  const perm = (n.attrs.perm as { ints: number[] }).ints;
  const inv: number[] = [];
  perm.forEach((p, i) => (inv[p] = i));
  return [dy && transpose(g, dy, inv)];
});
defineGrad('Cast', (g, n, [dy]) => {
  const from = n.inputs[0]!.dtype;
  return [dy && isFloat(from) ? cast(g, dy, from) : null];
});
defineGrad('Concat', (g, n, [dy], needs) => {
  if (!dy) return n.inputs.map(() => null);
  const axis = (n.attrs.axis as { i: number }).i;
  let at = 0;
  return n.inputs.map((x, k) => {
    const len = x!.shape[axis];
    const piece = needs[k] ? slice(g, dy, axis, at, at + len) : null;
    at += len;
    return piece;
  });
});
defineGrad('Slice', (g, n, [dy]) => {
  if (!dy) return [null, null, null, null];
  const x = n.inputs[0]!;
  const axis = normAxis(Number((g.initializers.get(n.inputs[3]!)!.data as BigInt64Array)[0]), x.shape.length);
  const start = Number((g.initializers.get(n.inputs[1]!)!.data as BigInt64Array)[0]);
  const pads = new Array(2 * x.shape.length).fill(0);
  pads[axis] = start;
  pads[x.shape.length + axis] = x.shape[axis] - start - dy.shape[axis];
  const padded = g.add('Pad', [dy, int64s(g, pads)], [{ dtype: dy.dtype, shape: x.shape }])[0];
  return [padded, null, null, null];
});
