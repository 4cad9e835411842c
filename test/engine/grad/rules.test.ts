import { describe, expect, it } from 'vitest';
import type { Graph, Value } from '../../../src-main/engine/graph/ir.js';
import * as op from '../../../src-main/engine/ops/index.js';
import { gradCheck, type InputSpec } from './fd-harness.js';
import { matMulNBitsGradCheck } from './matmulnbits-check.js';

type Case = [name: string, ops: string[], specs: InputSpec[], build: (g: Graph, x: Value[]) => Value];

const pos = { lo: 0.5, hi: 2 };
const cases: Case[] = [
  ['Add broadcast', ['Add'], [{ shape: [3, 4] }, { shape: [4] }], (g, [a, b]) => op.add(g, a, b)],
  ['Sub broadcast', ['Sub'], [{ shape: [2, 1, 3] }, { shape: [4, 3] }], (g, [a, b]) => op.sub(g, a, b)],
  ['Mul broadcast', ['Mul'], [{ shape: [2, 3] }, { shape: [2, 1] }], (g, [a, b]) => op.mul(g, a, b)],
  ['Div', ['Div'], [{ shape: [3, 2] }, { shape: [3, 2], ...pos }], (g, [a, b]) => op.div(g, a, b)],
  ['Neg', ['Neg'], [{ shape: [5] }], (g, [a]) => op.neg(g, a)],
  ['Exp', ['Exp'], [{ shape: [2, 3] }], (g, [a]) => op.exp(g, a)],
  ['Log', ['Log'], [{ shape: [2, 3], ...pos }], (g, [a]) => op.log(g, a)],
  ['Sqrt', ['Sqrt'], [{ shape: [4], ...pos }], (g, [a]) => op.sqrt(g, a)],
  ['Reciprocal', ['Reciprocal'], [{ shape: [4], ...pos }], (g, [a]) => op.reciprocal(g, a)],
  // Values kept away from the kink at 0, where the derivative jumps and central differences straddle it.
  ['Relu', ['Relu'], [{ shape: [3, 4], lo: 0.05, hi: 1 }, { shape: [3, 4], lo: -1, hi: -0.05 }], (g, [a, b]) => op.add(g, op.relu(g, a), op.relu(g, b))],
  ['Sigmoid (SiLU)', ['Sigmoid'], [{ shape: [3, 3], lo: -3, hi: 3 }], (g, [a]) => op.silu(g, a)],
  ['Tanh (GELU, tanh approximation)', ['Tanh'], [{ shape: [3, 3], lo: -3, hi: 3 }], (g, [a]) => op.geluTanh(g, a)],
  ['MatMul batched broadcast', ['MatMul'], [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }], (g, [a, b]) => op.matmul(g, a, b)],
  // A 2-D weight's gradient over 1,024 rows takes the split-K form (sumOverRows): 4 slices of 256 rows.
  ['MatMul weight, rows split (result transposed)', ['MatMul'], [{ shape: [1024, 3], fixed: true }, { shape: [3, 2] }], (g, [a, b]) => op.matmul(g, a, b)],
  ['MatMul weight, rows split over leading axes', ['MatMul'], [{ shape: [2, 512, 2], fixed: true }, { shape: [2, 3] }], (g, [a, b]) => op.matmul(g, a, b)],
  // dY·Bᵀ over 2,048 outputs takes the split form (longInnerProduct): 8 slices of 256.
  ['MatMul input, long inner product split', ['MatMul'], [{ shape: [4, 3] }, { shape: [3, 2048], fixed: true }], (g, [a, b]) => op.matmul(g, a, b)],
  ['Gemm', ['Gemm'], [{ shape: [3, 4] }, { shape: [4, 5] }], (g, [a, b]) => op.gemm(g, a, b)],
  ['Gemm transB + bias', ['Gemm'], [{ shape: [3, 4] }, { shape: [5, 4] }, { shape: [5] }], (g, [a, b, c]) => op.gemm(g, a, b, c, { transB: true })],
  ['Gemm transA', ['Gemm'], [{ shape: [4, 3] }, { shape: [4, 5] }], (g, [a, b]) => op.gemm(g, a, b, null, { transA: true, alpha: 0.5 })],
  ['Gemm transA transB', ['Gemm'], [{ shape: [4, 3] }, { shape: [5, 4] }], (g, [a, b]) => op.gemm(g, a, b, null, { transA: true, transB: true })],
  ['Reshape', ['Reshape'], [{ shape: [2, 6] }], (g, [a]) => op.mul(g, op.reshape(g, a, [3, -1]), op.reshape(g, a, [3, 4]))],
  ['Transpose', ['Transpose'], [{ shape: [2, 3, 4] }], (g, [a]) => op.transpose(g, a, [2, 0, 1])],
  ['Identity', ['Identity'], [{ shape: [3] }], (g, [a]) => op.identity(g, a)],
  // float64 → float64: a float32 round trip would drown h = 1e-6 in rounding; the rule is dtype-generic.
  ['Cast', ['Cast'], [{ shape: [3] }], (g, [a]) => g.add('Cast', [a], [{ dtype: 'float64', shape: a.shape }], { to: { i: 11 } })[0]],
  ['Concat', ['Concat'], [{ shape: [2, 3] }, { shape: [2, 2] }], (g, [a, b]) => op.concat(g, [a, b, a], 1)],
  ['Split (one piece unused)', ['Split'], [{ shape: [7, 2] }], (g, [a]) => {
    const [x, , z] = op.split(g, a, [3, 1, 3], 0);
    return op.mul(g, x, z);
  }],
  ['Split tree (splitMany, fan-out 2)', ['Split'], [{ shape: [9] }], (g, [a]) => {
    const parts = op.splitMany(g, a, [1, 2, 1, 3, 2], 0, 2);
    return op.concat(g, parts.map((p) => op.mul(g, p, p)).reverse(), 0);
  }],
  ['Slice', ['Slice'], [{ shape: [3, 5] }], (g, [a]) => op.slice(g, a, 1, 1, 4)],
  ['ReduceSum', ['ReduceSum'], [{ shape: [2, 3, 4] }], (g, [a]) => op.reduceSum(g, op.mul(g, a, a), [1])],
  ['ReduceMean keepdims', ['ReduceMean'], [{ shape: [2, 3, 4] }], (g, [a]) => op.mul(g, op.reduceMean(g, a, [-1], true), a)],
  ['Softmax', ['Softmax'], [{ shape: [3, 5], lo: -2, hi: 2 }], (g, [a]) => op.softmax(g, a)],
  // QLoRA's NF4 linear: Einsum "kj,ij->ik" (x·Wᵀ) over a frozen weight (its rule refuses other equations).
  ['Einsum frozen linear', ['Einsum'], [{ shape: [5, 4], fixed: true }, { shape: [3, 4] }], (g, [w, x]) => g.add('Einsum', [w, x], [{ dtype: 'float64', shape: [3, 5] }], { equation: { s: 'kj,ij->ik' } })[0]],
  ['log-sum-exp (ReduceMax stop-gradient)', ['Exp', 'Log'], [{ shape: [3, 6], lo: -3, hi: 3 }], (g, [a]) => op.logSumExp(g, a)],
];

describe('gradient rules against central finite differences (float64, rel err ≤ 1e-6)', () => {
  for (const [name, , specs, build] of cases) {
    it(name, async () => {
      const err = await gradCheck(specs, build);
      expect(err).toBeLessThan(1e-6);
    });
  }

  // MatMulNBits takes only float32/float16 activations, so no float64 FD: its rule is checked in
  // float32 against the exact adjoint of a linear map, dY·dequant(W) computed on the host in float64.
  it('com.microsoft::MatMulNBits (float32, against dY·dequant(W))', async () => {
    expect(await matMulNBitsGradCheck()).toBeLessThan(1e-5);
  });

  it('every registered gradient rule has a finite-difference case', () => {
    const covered = new Set([...cases.flatMap((c) => c[1]), 'com.microsoft::MatMulNBits']);
    const missing = op.registeredGradOps().filter((r) => r !== 'Gather' && !covered.has(r));
    expect(missing).toEqual([]);
  });

  it('Gather refuses to differentiate its (frozen) data', async () => {
    await expect(
      gradCheck([{ shape: [4, 3] }], (g, [table]) => {
        const idx = g.init('idx', { dtype: 'int32', shape: [2], data: Int32Array.from([3, 1]) });
        return op.gather(g, table, idx);
      }),
    ).rejects.toThrow(/embeddings are frozen/);
  });
});
