/**
 * MatMul (batched, broadcasting) and Gemm (2-D with transposes and bias). fp32 linear layers keep the
 * Hugging Face [out, in] weight and use Gemm with transB, so the backward dX = dY·W (a MatMul) reads the
 * same weight tensor and no transposed copy of a frozen weight is ever made; the fp16 ones lay their
 * weights out [in, out] for MatMul (models/half-weights.ts, `withTranspose`).
 */
import type { Graph, Value } from '../graph/ir.js';
import { shared } from '../graph/shared.js';
import { broadcastShapes } from './consts.js';
import { reduceSum, unbroadcast } from './reduce.js';
import { rebuild, transposedOf } from './recompute.js';
import { defineGrad } from './registry.js';
import { reshape, transpose } from './shape.js';

export function matmul(g: Graph, a: Value, b: Value): Value {
  if (a.shape.length < 2 || b.shape.length < 2) throw new Error('matmul needs rank ≥ 2 operands');
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2) throw new Error(`matmul: [${a.shape}] x [${b.shape}] inner dims differ`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return g.add('MatMul', [a, b], [{ dtype: a.dtype, shape: [...batch, m, n] }])[0];
}

export interface GemmOpts {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
}

export function gemm(g: Graph, a: Value, b: Value, c: Value | null = null, o: GemmOpts = {}): Value {
  const [m, k] = o.transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [k2, n] = o.transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (a.shape.length !== 2 || b.shape.length !== 2 || k !== k2) {
    throw new Error(`gemm: [${a.shape}]${o.transA ? 'ᵀ' : ''} x [${b.shape}]${o.transB ? 'ᵀ' : ''} do not fit`);
  }
  const attrs: Record<string, { i: number } | { f: number }> = {};
  if (o.transA) attrs.transA = { i: 1 };
  if (o.transB) attrs.transB = { i: 1 };
  if (o.alpha !== undefined && o.alpha !== 1) attrs.alpha = { f: o.alpha };
  return g.add('Gemm', c ? [a, b, c] : [a, b], [{ dtype: a.dtype, shape: [m, n] }], attrs)[0];
}

/** Swaps the last two axes. */
export function transposeLast(g: Graph, x: Value): Value {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return transpose(g, x, perm);
}

/** Rows per slice of a split-K product: enough work per slice, and slices enough to fill the GPU. */
const SPLIT_ROWS = 256;

/**
 * pᵀ·q for p [M, a] and q [M, b], summed over the M rows: a trained weight's gradient (X ᵀ·dY). With many rows
 * and a small result (a LoRA factor's [r, in]) one product has too few output tiles to fill the GPU and each
 * loops over all M rows (the WebGPU EP's Gemm with transA ran such a product at ~0.7 TFLOP/s), so the rows
 * are cut into slices, multiplied as one batched MatMul and the slices' products summed. Only the smaller
 * operand is transposed; when that is q the product is made as [b, a] and transposed back.
 */
export function sumOverRows(g: Graph, p: Value, q: Value): Value {
  const [M, a] = p.shape;
  const b = q.shape[1];
  if (a > b) return transpose(g, sumOverRows(g, q, p), [1, 0]);
  const slices = M % SPLIT_ROWS === 0 && M >= 2 * SPLIT_ROWS ? M / SPLIT_ROWS : 1;
  if (slices === 1) return matmul(g, transposeLast(g, p), q);
  const pt = transpose(g, reshape(g, p, [slices, SPLIT_ROWS, a]), [0, 2, 1]);
  return reduceSum(g, matmul(g, pt, reshape(g, q, [slices, SPLIT_ROWS, b])), [0]);
}

/**
 * p·q for p [M, N] and q [N, K] with a long N and a small [M, K] result (dY·B of a LoRA factor: N is the
 * projection's 4,864–8,960 outputs, K its rank): as one product it had few output tiles, each looping over all
 * of N (260–451 µs for [512, 16] in the H200 profiles). The N axis is cut into slices of 256, p's slices brought
 * to the front by one Transpose, the slices multiplied as one batched MatMul and their products summed. Only
 * for gradients: its own gradient would carry those passes into a second backward.
 */
export function longInnerProduct(g: Graph, p: Value, q: Value): Value {
  const [M, N] = p.shape;
  const K = q.shape[1];
  if (N < 2048 || N % SPLIT_ROWS !== 0 || M * K > 65536) return matmul(g, p, q);
  const slices = N / SPLIT_ROWS;
  const pt = transpose(g, reshape(g, p, [M, slices, SPLIT_ROWS]), [1, 0, 2]);
  return reduceSum(g, matmul(g, pt, reshape(g, q, [slices, SPLIT_ROWS, K])), [0]);
}

/** Slices of the inner axis in a forward split product (splitInnerForward), the first that divides it. */
const FORWARD_SLICES = [256, 128];
/** From this many rows (M/32 row tiles: 64) the plain product has workgroups enough. */
const FORWARD_SPLIT_MAX_ROWS = 2048;

/**
 * x·W in a forward pass, x [..., N] and W [N, K] with a long N and a small K (a LoRA factor's x·Aᵀ, K its
 * rank), for the GPU: as one MatMul it gets ceil(M/32) workgroups, each looping over all of N (the H200 profile
 * of the 1.5B step: [512, 8,960]·[8,960, 16] 451 µs, [512, 1,536]·[1,536, 16] 87 µs, ~20% of the step's GPU
 * time). N is cut into slices as longInnerProduct does; x's slices, brought to the front by one Transpose, are
 * shared in the graph (graph/shared.ts), so the targets that read one x (q, k, v; gate, up) transpose it once. Its backward
 * (autodiff through Transpose, MatMul and ReduceSum) adds a transpose of dX and of x for dW: x-sized passes,
 * worth it while M is small and N long. The same profile after the change: the 8,960-long product 451 µs →
 * 33 µs plus ~165 µs of transposes; the 1,536-long ones 87 µs → about as much in added kernels, so from
 * `minInner` (2,048) only. Only the order of the additions changes.
 */
export function splitInnerForward(g: Graph, x: Value, w: Value, minInner = 2048): Value {
  const lead = x.shape.slice(0, -1);
  const N = x.shape[x.shape.length - 1];
  const K = w.shape[1];
  const M = lead.reduce((a, b) => a * b, 1);
  const rows = FORWARD_SLICES.find((s) => N % s === 0 && N / s >= 2);
  if (!rows || w.shape.length !== 2 || M >= FORWARD_SPLIT_MAX_ROWS || N < Math.max(minInner, 512)) return matmul(g, x, w);
  const S = N / rows;
  const xt = shared(g, `split_inner_xt.${x.name}|${rows}`, () => transpose(g, reshape(g, x, [M, S, rows]), [1, 0, 2]));
  return reshape(g, reduceSum(g, matmul(g, xt, reshape(g, w, [S, rows, K])), [0]), [...lead, K]);
}

/** The rows of x as a matrix [rows, last]. */
const asRows = (g: Graph, x: Value) => (x.shape.length === 2 ? x : reshape(g, x, [x.shape.slice(0, -1).reduce((s, d) => s * d, 1), x.shape[x.shape.length - 1]]));

defineGrad('MatMul', (g, n, [dy], needs) => {
  const [a, b] = n.inputs as Value[];
  // A 2-D b (a weight) gets Aᵀ·dY summed over every row of A, leading axes included, as one split-K product.
  const db = () => (b.shape.length === 2 ? sumOverRows(g, asRows(g, a), asRows(g, dy!)) : unbroadcast(g, matmul(g, transposeLast(g, a), dy!), b.shape));
  const da = () => {
    const bt = transposedOf(b, dy!) ?? transposeLast(g, b);
    if (b.shape.length === 2 && a.shape.length === 2) return longInnerProduct(g, dy!, bt);
    return unbroadcast(g, matmul(g, dy!, bt), a.shape);
  };
  return [dy && needs[0] ? da() : null, dy && needs[1] ? db() : null];
});

defineGrad('Gemm', (g, n, [dy], needs) => {
  if (!dy) return n.inputs.map(() => null);
  const [a, c] = [n.inputs[0]!, n.inputs[2]];
  // A frozen weight dequantized in the forward (recompute.ts) is made again for dA, not kept alive until now.
  const b = needs[0] ? rebuild(n.inputs[1]!, dy) : n.inputs[1]!;
  const tA = (n.attrs.transA as { i: number } | undefined)?.i === 1;
  const tB = (n.attrs.transB as { i: number } | undefined)?.i === 1;
  const alpha = (n.attrs.alpha as { f: number } | undefined)?.f ?? 1;
  // Y = α·op(A)·op(B) + C. dop(A) = α·dY·op(B)ᵀ, dop(B) = α·op(A)ᵀ·dY, then undo the op.
  // dX = dY·W of a linear layer (transB, W [out, in]) is a MatMul: the WebGPU EP's MatMul runs 2.2–2.7× its Gemm's rate.
  const da = !needs[0]
    ? null
    : tA
      ? gemm(g, b, dy, null, { transA: tB, transB: true, alpha })
      : tB && alpha === 1
        ? matmul(g, dy, b)
        : gemm(g, dy, b, null, { transB: !tB, alpha });
  const db = !needs[1] ? null : tB ? gemm(g, dy, a, null, { transA: true, transB: tA, alpha }) : gemm(g, a, dy, null, { transA: !tA, alpha });
  const dc = c && needs[2] ? unbroadcast(g, dy, c.shape) : null;
  return c ? [da, db, dc] : [da, db];
});
