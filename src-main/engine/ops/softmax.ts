/** Softmax over the last axis, and the log-sum-exp used by the hand-written cross-entropy. */
import type { Graph, Value } from '../graph/ir.js';
import { add, exp, log, mul, sub } from './elementwise.js';
import { reduceMax, reduceSum } from './reduce.js';
import { defineGrad } from './registry.js';

export function softmax(g: Graph, x: Value): Value {
  return g.add('Softmax', [x], [{ dtype: x.dtype, shape: x.shape }], { axis: { i: -1 } })[0];
}

/**
 * log Σ exp(x) over the last axis, keepdims. The max shift is a constant for autodiff (the result
 * does not depend on it), so its gradient is exactly softmax(x) and ReduceMax needs no rule.
 */
export function logSumExp(g: Graph, x: Value): Value {
  const m = g.noGrad(() => reduceMax(g, x, [-1], true));
  return add(g, log(g, reduceSum(g, exp(g, sub(g, x, m)), [-1], true)), m);
}

defineGrad('Softmax', (g, n, [dy]) => {
  if (!dy) return [null];
  const y = n.outputs[0];
  const axis = (n.attrs.axis as { i: number }).i;
  if (axis !== -1 && axis !== y.shape.length - 1) throw new Error('Softmax gradient supports the last axis only');
  const dot = reduceSum(g, mul(g, dy, y), [-1], true);
  return [mul(g, y, sub(g, dy, dot))];
});
