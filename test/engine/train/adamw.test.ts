import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { totalParts, totalSum } from '../../../src-main/engine/ops/reduce.js';
import { EPS_UNDER_TEST } from '../webgpu-under-test.js';
import { ADAMW_SCALARS, adamwInputs, adamwScalars, adamwSlicing, adamwUpdate } from '../../../src-main/engine/train/adamw.js';

// PyTorch's torch.optim.AdamW (foreach=False) for one tensor, in float64, with clipping by global norm
// done the way torch.nn.utils.clip_grad_norm_ does it (coef = max_norm / (norm + 1e-6), capped at 1).
function torchAdamW(p: number[], grads: number[][], o: { lr: number; b1: number; b2: number; eps: number; wd: number; clip: number }) {
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const norms: number[] = [];
  grads.forEach((g0, k) => {
    const t = k + 1;
    const norm = Math.sqrt(g0.reduce((s, x) => s + x * x, 0));
    norms.push(norm);
    const coef = Math.min(1, o.clip / (norm + 1e-6));
    const g = g0.map((x) => x * coef);
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - o.lr * o.wd;
      m[i] = o.b1 * m[i] + (1 - o.b1) * g[i];
      v[i] = o.b2 * v[i] + (1 - o.b2) * g[i] * g[i];
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - o.b2 ** t) + o.eps;
      p[i] -= (o.lr / (1 - o.b1 ** t)) * (m[i] / denom);
    }
  });
  return { p, norms };
}

describe('AdamW in the graph', () => {
  // Slices of 2 over 5 values: the sliced form a long vector takes (three slices, the last shorter), against the same reference.
  it.each([
    ['whole', adamwSlicing.values],
    ['in slices of 2', 2],
  ])('matches PyTorch AdamW with decoupled weight decay, bias correction and norm clipping (float64, 1e-12), %s', async (_, per) => {
    const g = new Graph('adamw');
    const param = g.input('p', 'float64', [5]);
    const grad = g.input('g', 'float64', [5]);
    const h = adamwInputs(g, 'float64');
    const saved = { ...adamwSlicing };
    Object.assign(adamwSlicing, { values: per, above: 0 });
    const out = (() => {
      try {
        return adamwUpdate(g, [{ name: 'p', param, grad }], h);
      } finally {
        Object.assign(adamwSlicing, saved);
      }
    })();
    expect(g.nodes.filter((n) => n.op === 'Slice').length).toBe(per === 2 ? 12 : 0);
    g.output(out.params[0], 'p1');
    g.output(out.m[0], 'm1');
    g.output(out.v[0], 'v1');
    g.output(out.gradNorm, 'norm');
    const s = await GraphSession.create(g, { device: await resolveDevice('cpu') });
    const o = { lr: 0.05, b1: 0.9, b2: 0.99, eps: 1e-8, wd: 0.1, clip: 1.0 };
    const grads = [[3, -1, 0.5, 2, -2], [0.1, 0.2, -0.3, 0.05, 0], [-1, 1, -1, 1, 0.5]];
    const tokens = 4; // the graph gets summed gradients and divides by the token count
    let p: HostTensor = { dtype: 'float64', shape: [5], data: Float64Array.from([0.5, -0.2, 0.1, 0, 1]) };
    let m: HostTensor = { dtype: 'float64', shape: [5], data: new Float64Array(5) };
    let v: HostTensor = { dtype: 'float64', shape: [5], data: new Float64Array(5) };
    const want = torchAdamW(Array.from(p.data as Float64Array), grads, o);
    for (let k = 0; k < grads.length; k++) {
      const vals = adamwScalars({ lr: o.lr, beta1: o.b1, beta2: o.b2, eps: o.eps, weightDecay: o.wd, step: k + 1, maxGradNorm: o.clip }, tokens);
      const feeds: Record<string, HostTensor> = { p, 'm.p': m, 'v.p': v, g: { dtype: 'float64', shape: [5], data: Float64Array.from(grads[k], (x) => x * tokens) } };
      for (const n of ADAMW_SCALARS) feeds[`adamw.${n}`] = { dtype: 'float64', shape: [], data: Float64Array.of(vals[n]) };
      const r = (await s.run(feeds)) as Record<string, HostTensor>;
      expect(r.norm.data[0]).toBeCloseTo(want.norms[k], 12);
      [p, m, v] = [r.p1, r.m1, r.v1];
    }
    Array.from(p.data as Float64Array).forEach((x, i) => expect(Math.abs(x - want.p[i])).toBeLessThan(1e-12));
  });
});

describe('the total of a long vector in two reductions (ops/reduce.ts, totalSum)', () => {
  it('takes the largest divisor up to 4,096 that leaves parts of 256 or more, and one reduction where none does', () => {
    expect(totalParts(18_464_768)).toBe(4096); // the 1.5B model's LoRA values at r = 16
    expect(totalParts(8_192)).toBe(32);
    expect(totalParts(1_000)).toBe(1); // parts of 256 leave fewer than 8
    expect(totalParts(65_537)).toBe(1); // a prime
    expect(totalParts(3 * 4099 * 256)).toBe(768); // 4,099 is prime: 3·256 is the largest divisor up to 4,096
  });

  describe.each(EPS_UNDER_TEST)('on the %s', (_name, pref, enabled) => {
    it.skipIf(!enabled)("the gradient norm AdamW takes: the same total as one reduction, within fp32's summation order", async () => {
      const n = 3 * 4099 * 256;
      const g = new Graph('total_sum');
      const x = g.input('x', 'float32', [n]);
      g.output(totalSum(g, x), 'parts');
      g.output(g.add('ReduceSum', [x, g.init('all', { dtype: 'int64', shape: [1], data: BigInt64Array.of(0n) })], [{ dtype: 'float32', shape: [] }], { keepdims: { i: 0 } })[0], 'one');
      expect(g.nodes.filter((k) => k.op === 'ReduceSum')).toHaveLength(3);
      const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) ** 2);
      const exact = data.reduce((a, b) => a + b, 0);
      const s = await GraphSession.create(g, { device: await resolveDevice(pref) });
      try {
        const r = (await s.run({ x: { dtype: 'float32', shape: [n], data } })) as Record<string, HostTensor>;
        expect(Math.abs(r.parts.data[0] as number - exact) / exact).toBeLessThan(1e-5);
        expect(Math.abs(r.one.data[0] as number - exact) / exact).toBeLessThan(1e-4);
      } finally {
        await s.release();
      }
    }, 60_000);
  });
});
