import { describe, expect, it } from 'vitest';
import { backward } from '../../../src-main/engine/autodiff/backward.js';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { resolveDevice, type DevicePref } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { crossEntropySum, crossEntropyWithGrad } from '../../../src-main/engine/train/loss.js';
import { gpuError, gpuOk } from '../webgpu-under-test.js';

// The written-out loss gradient (the training step's fast path) against autodiff of the plain
// formulation: same loss, same gradient w.r.t. the logits, with ignored positions (weight 0).
// Tolerance: 1e-5 relative on the loss and 1e-6 absolute on gradients, fp32 rounding of two orders of summation.

function run(pref: DevicePref, fast: boolean, N: number, V: number, logits: Float32Array, targets: Int32Array, weights: Float32Array) {
  const g = new Graph('ce');
  const x = g.input('logits', 'float32', [N, V]);
  const t = g.input('targets', 'int32', [N]);
  const w = g.input('weights', 'float32', [N]);
  if (fast) {
    const r = crossEntropyWithGrad(g, x, t, w);
    g.output(r.lossSum, 'loss');
    g.output(r.dLogits!, 'd');
  } else {
    const loss = crossEntropySum(g, x, t, w);
    g.output(loss, 'loss');
    g.output(backward(g, loss, [x]).grads[0], 'd');
  }
  return resolveDevice(pref).then(async (device) => {
    const s = await GraphSession.create(g, { device });
    const out = await s.run({ logits: { dtype: 'float32', shape: [N, V], data: logits }, targets: { dtype: 'int32', shape: [N], data: targets }, weights: { dtype: 'float32', shape: [N], data: weights } });
    await s.release();
    return { loss: (out.loss as HostTensor).data[0] as number, d: (out.d as HostTensor).data as Float32Array };
  });
}

describe('cross-entropy with its gradient written out', () => {
  it.each([
    ['CPU EP', 'cpu', true],
    [gpuError === null ? 'WebGPU EP' : `WebGPU EP (skipped: ${gpuError.slice(0, 60)})`, 'gpu', gpuOk],
  ] as [string, DevicePref, boolean][])('%s: loss and dlogits equal autodiff of the plain formulation', async (_n, pref, enabled) => {
    if (!enabled) return;
    const N = 12;
    const V = 1000;
    let s = 7;
    const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 8;
    const logits = Float32Array.from({ length: N * V }, rnd);
    const targets = Int32Array.from({ length: N }, (_, i) => (i * 337) % V);
    const weights = Float32Array.from({ length: N }, (_, i) => (i % 4 === 3 ? 0 : 1));
    const plain = await run(pref, false, N, V, logits, targets, weights);
    const fast = await run(pref, true, N, V, logits, targets, weights);
    expect(Math.abs(fast.loss - plain.loss) / plain.loss).toBeLessThan(1e-5);
    expect(plain.loss).toBeGreaterThan(1);
    let maxDiff = 0;
    for (let i = 0; i < fast.d.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fast.d[i] - plain.d[i]));
    expect(maxDiff).toBeLessThan(1e-6);
    // ignored rows get no gradient; a target's gradient is p - 1 (negative)
    expect(fast.d.subarray(3 * V, 4 * V).every((v) => v === 0)).toBe(true);
    expect(fast.d[0 * V + targets[0]]).toBeLessThan(0);
  }, 120_000);
});
