import { describe, expect, it } from 'vitest';
import { Graph } from '../../../src-main/engine/graph/ir.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
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
