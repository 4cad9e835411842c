/** ReduceSum, ReduceMean, ReduceMax and broadcasting's adjoint (summing a gradient back to a shape). */
import type { Graph, Value } from '../graph/ir.js';
import { numel, sameShape } from '../graph/ir.js';
import { int64s, normAxis, scalar } from './consts.js';
import { mul } from './elementwise.js';
import { defineGrad } from './registry.js';
import { reshape } from './shape.js';

function reducedShape(shape: readonly number[], axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function reduce(op: string, g: Graph, x: Value, axes: readonly number[], keepdims: boolean): Value {
  const ax = axes.map((a) => normAxis(a, x.shape.length));
  const shape = reducedShape(x.shape, ax, keepdims);
  return g.add(op, [x, int64s(g, ax)], [{ dtype: x.dtype, shape }], { keepdims: { i: keepdims ? 1 : 0 } })[0];
}

export const reduceSum = (g: Graph, x: Value, axes: readonly number[], keepdims = false) => reduce('ReduceSum', g, x, axes, keepdims);
export const reduceMean = (g: Graph, x: Value, axes: readonly number[], keepdims = false) => reduce('ReduceMean', g, x, axes, keepdims);
export const reduceMax = (g: Graph, x: Value, axes: readonly number[], keepdims = false) => reduce('ReduceMax', g, x, axes, keepdims);

/**
 * Parts to reduce n values over first, for a reduction in two steps: the largest divisor of n up to `most` that
 * leaves parts of at least 256 values, or 1 where that gives fewer than 8 parts. The WebGPU EP's reductions give
 * each output one workgroup, so a reduction of a long row (or of all of a tensor) runs on one.
 */
export function reductionParts(n: number, most: number): number {
  let parts = 1;
  for (let c = 2; c <= most && n / c >= 256; c++) if (n % c === 0) parts = c;
  return parts < 8 ? 1 : parts;
}

/** Parts of a total (totalSum): up to 4,096. */
export const totalParts = (n: number): number => reductionParts(n, 4096);

/**
 * The sum of every value of x as a scalar, in two reductions where its size divides into parts (totalParts): the H200
 * profile of the 1.5B step had one ReduceSum over its 18.5 M gradient squares at 7.3 ms of 298. Only the order of
 * the additions changes.
 */
export function totalSum(g: Graph, x: Value): Value {
  const n = numel(x.shape);
  const parts = totalParts(n);
  if (parts === 1) return reduceSum(g, x, x.shape.map((_, i) => i));
  return reduceSum(g, reduceSum(g, reshape(g, x, [parts, n / parts]), [1]), [0]);
}

/** Sums a gradient of a broadcast result back to the shape of the operand that was broadcast. */
export function unbroadcast(g: Graph, dy: Value, shape: readonly number[]): Value {
  if (sameShape(dy.shape, shape)) return dy;
  const lead = dy.shape.length - shape.length;
  const axes: number[] = [];
  dy.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const summed = axes.length ? reduceSum(g, dy, axes, true) : dy;
  return sameShape(summed.shape, shape) ? summed : reshape(g, summed, shape);
}

/** Broadcasts a reduced gradient back over the reduced axes. */
function expandBack(g: Graph, dy: Value, x: Value, axes: readonly number[], keepdims: boolean): Value {
  const kept = keepdims ? dy : reshape(g, dy, reducedShape(x.shape, axes, true));
  return g.add('Expand', [kept, int64s(g, x.shape)], [{ dtype: dy.dtype, shape: x.shape }])[0];
}

function axesOf(g: Graph, v: Value): number[] {
  return Array.from(g.initializers.get(v)!.data as BigInt64Array, Number);
}

defineGrad('ReduceSum', (g, n, [dy]) => {
  const x = n.inputs[0]!;
  const keep = (n.attrs.keepdims as { i: number }).i === 1;
  return [dy && expandBack(g, dy, x, axesOf(g, n.inputs[1]!), keep), null];
});
defineGrad('ReduceMean', (g, n, [dy]) => {
  if (!dy) return [null, null];
  const x = n.inputs[0]!;
  const axes = axesOf(g, n.inputs[1]!);
  const count = numel(x.shape) / numel(n.outputs[0].shape);
  const keep = (n.attrs.keepdims as { i: number }).i === 1;
  return [mul(g, expandBack(g, dy, x, axes, keep), scalar(g, 1 / count, x.dtype)), null];
});
// ReduceMax is used only under noGrad (log-sum-exp shift); a rule would need tie handling.
