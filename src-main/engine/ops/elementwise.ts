/** Broadcasting binary ops and unary math: forward builders and gradient rules side by side. */
import type { DType, Graph, Value } from '../graph/ir.js';
import { broadcastShapes, scalar } from './consts.js';
import { unbroadcast } from './reduce.js';
import { cast } from './shape.js';
import { defineGrad } from './registry.js';

function binary(op: string, g: Graph, a: Value, b: Value, dtype: DType = a.dtype): Value {
  if (a.dtype !== b.dtype) throw new Error(`${op}: dtype mismatch ${a.dtype} vs ${b.dtype}`);
  return g.add(op, [a, b], [{ dtype, shape: broadcastShapes(a.shape, b.shape) }])[0];
}

function unary(op: string, g: Graph, x: Value): Value {
  return g.add(op, [x], [{ dtype: x.dtype, shape: x.shape }])[0];
}

export const add = (g: Graph, a: Value, b: Value) => binary('Add', g, a, b);
export const sub = (g: Graph, a: Value, b: Value) => binary('Sub', g, a, b);
export const mul = (g: Graph, a: Value, b: Value) => binary('Mul', g, a, b);
export const div = (g: Graph, a: Value, b: Value) => binary('Div', g, a, b);
export const min = (g: Graph, a: Value, b: Value) => binary('Min', g, a, b);
export const max = (g: Graph, a: Value, b: Value) => binary('Max', g, a, b);
export const equal = (g: Graph, a: Value, b: Value) => binary('Equal', g, a, b, 'bool');
export const neg = (g: Graph, x: Value) => unary('Neg', g, x);
export const exp = (g: Graph, x: Value) => unary('Exp', g, x);
export const log = (g: Graph, x: Value) => unary('Log', g, x);
export const sqrt = (g: Graph, x: Value) => unary('Sqrt', g, x);
export const sigmoid = (g: Graph, x: Value) => unary('Sigmoid', g, x);
export const reciprocal = (g: Graph, x: Value) => unary('Reciprocal', g, x);
export const tanh = (g: Graph, x: Value) => unary('Tanh', g, x);
export const relu = (g: Graph, x: Value) => unary('Relu', g, x);
export const greater = (g: Graph, a: Value, b: Value) => binary('Greater', g, a, b, 'bool');

/** cond ? a : b, broadcasting. Inference only (per-row selection in batched decoding): it has no gradient rule. */
export function where(g: Graph, cond: Value, a: Value, b: Value): Value {
  if (cond.dtype !== 'bool' || a.dtype !== b.dtype) throw new Error(`where: bool condition and equal value dtypes needed, got ${cond.dtype}, ${a.dtype}, ${b.dtype}`);
  return g.add('Where', [cond, a, b], [{ dtype: a.dtype, shape: broadcastShapes(cond.shape, broadcastShapes(a.shape, b.shape)) }])[0];
}

/** x · sigmoid(x), the SwiGLU gate activation. */
export const silu = (g: Graph, x: Value) => mul(g, x, sigmoid(g, x));
export const square = (g: Graph, x: Value) => mul(g, x, x);
/** GELU, tanh approximation (PyTorch's gelu(approximate='tanh')): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export const geluTanh = (g: Graph, x: Value) => {
  const inner = mul(g, add(g, x, mul(g, mul(g, square(g, x), x), scalar(g, 0.044715, x.dtype))), scalar(g, Math.sqrt(2 / Math.PI), x.dtype));
  return mul(g, mul(g, x, scalar(g, 0.5, x.dtype)), add(g, tanh(g, inner), scalar(g, 1, x.dtype)));
};

defineGrad('Add', (g, n, [dy], needs) => [
  dy && needs[0] ? unbroadcast(g, dy, n.inputs[0]!.shape) : null,
  dy && needs[1] ? unbroadcast(g, dy, n.inputs[1]!.shape) : null,
]);
defineGrad('Sub', (g, n, [dy], needs) => [
  dy && needs[0] ? unbroadcast(g, dy, n.inputs[0]!.shape) : null,
  dy && needs[1] ? unbroadcast(g, neg(g, dy), n.inputs[1]!.shape) : null,
]);
defineGrad('Mul', (g, n, [dy], needs) => {
  const [a, b] = n.inputs as Value[];
  return [
    dy && needs[0] ? unbroadcast(g, mul(g, dy, b), a.shape) : null,
    dy && needs[1] ? unbroadcast(g, mul(g, dy, a), b.shape) : null,
  ];
});
defineGrad('Div', (g, n, [dy], needs) => {
  const [a, b] = n.inputs as Value[];
  const y = n.outputs[0];
  return [
    dy && needs[0] ? unbroadcast(g, div(g, dy, b), a.shape) : null,
    // d(a/b)/db = -(a/b)/b
    dy && needs[1] ? unbroadcast(g, neg(g, div(g, mul(g, dy, y), b)), b.shape) : null,
  ];
});
defineGrad('Neg', (g, _n, [dy]) => [dy && neg(g, dy)]);
defineGrad('Exp', (g, n, [dy]) => [dy && mul(g, dy, n.outputs[0])]);
defineGrad('Log', (g, n, [dy]) => [dy && div(g, dy, n.inputs[0]!)]);
defineGrad('Sqrt', (g, n, [dy]) => [dy && div(g, dy, mul(g, n.outputs[0], scalar(g, 2, dy.dtype)))]);
defineGrad('Reciprocal', (g, n, [dy]) => {
  const y = n.outputs[0];
  return [dy && neg(g, mul(g, dy, mul(g, y, y)))];
});
defineGrad('Tanh', (g, n, [dy]) => {
  const y = n.outputs[0];
  return [dy && mul(g, dy, sub(g, scalar(g, 1, y.dtype), mul(g, y, y)))];
});
// d relu/dx = 1 where x > 0, else 0 (0 at the kink, as PyTorch); the mask is built without gradient.
defineGrad('Relu', (g, n, [dy]) => {
  const x = n.inputs[0]!;
  return [dy && mul(g, dy, g.noGrad(() => cast(g, greater(g, x, scalar(g, 0, x.dtype)), x.dtype)))];
});
defineGrad('Sigmoid', (g, n, [dy]) => {
  const y = n.outputs[0];
  return [dy && mul(g, dy, mul(g, y, sub(g, scalar(g, 1, y.dtype), y)))];
});
