/**
 * The float32 check of MatMulNBits' gradient rule (see rules.test.ts): L = Σ MatMulNBits(X)⊙R, so
 * ∂L/∂X = R·dequant(W) exactly; the autodiff result must match it computed on the host in float64.
 */
import { backward } from '../../../src-main/engine/autodiff/backward.js';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import * as op from '../../../src-main/engine/ops/index.js';
import { matMulNBits } from '../../../src-main/engine/ops/quant-linear.js';
import { dequantizeInt4, quantizeInt4 } from '../../../src-main/engine/quant/int4.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';

export async function matMulNBitsGradCheck(): Promise<number> {
  const [M, N, K] = [4, 6, 70]; // K = 70: two full int4 blocks and a partial one
  let s = 7;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const w = Float32Array.from({ length: N * K }, rand);
  const r = Float32Array.from({ length: M * N }, rand);
  const x = Float32Array.from({ length: M * K }, rand);
  const t = quantizeInt4(w, [N, K]);
  const g = new Graph('mmnb_grad');
  const xin = g.input('x', 'float32', [M, K]);
  const scales = op.cast(g, g.init('s', { dtype: 'float16', shape: [t.scalesF16.length], data: t.scalesF16 }), 'float32');
  const q = {
    b: g.init('b', { dtype: 'uint8', shape: [N, t.b.length / N / 16, 16], data: t.b }),
    scales,
    zeroPoints: g.init('zp', { dtype: 'uint8', shape: [t.zeroPoints.length], data: t.zeroPoints }),
  };
  const y = matMulNBits(g, xin, q, N, K);
  const loss = op.reduceSum(g, op.mul(g, y, g.init('r', { dtype: 'float32', shape: [M, N], data: r })), [0, 1]);
  g.output(backward(g, loss, [xin]).grads[0], 'dx');
  g.keepConstantsPacked = true;
  const session = await GraphSession.create(g, { device: await resolveDevice('cpu') });
  const dx = ((await session.run({ x: { dtype: 'float32', shape: [M, K], data: x } })).dx as HostTensor).data as Float32Array;
  await session.release();
  const dq = dequantizeInt4(t);
  let d2 = 0,
    n2 = 0;
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      let want = 0;
      for (let n = 0; n < N; n++) want += r[m * N + n] * dq[n * K + k];
      d2 += (dx[m * K + k] - want) ** 2;
      n2 += want ** 2;
    }
  }
  return Math.sqrt(d2 / n2);
}
