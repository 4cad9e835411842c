/**
 * AdamW inside the graph, PyTorch's formulation: decoupled weight decay p ← p − lr·wd·p, bias-corrected
 * moments, and global gradient-norm clipping. Scalars are graph inputs so a schedule changes the
 * learning rate without a rebuild. The host passes the bias corrections 1/(1−β₁ᵗ) and 1/(1−β₂ᵗ).
 */
import type { DType, Graph, Value } from '../graph/ir.js';
import * as op from '../ops/index.js';

export const ADAMW_SCALARS = [
  'lr',
  'beta1',
  'one_minus_beta1',
  'beta2',
  'one_minus_beta2',
  'eps',
  'weight_decay',
  'bias_corr1',
  'bias_corr2',
  'inv_tokens',
  'max_grad_norm',
] as const;
export type AdamWScalar = (typeof ADAMW_SCALARS)[number];

export interface AdamWParam {
  name: string;
  param: Value;
  /** Gradient of the summed loss (divided by the token count inside). */
  grad: Value;
}

export interface AdamWOutputs {
  params: Value[];
  m: Value[];
  v: Value[];
  gradNorm: Value;
}

export function adamwInputs(g: Graph, dtype: DType): Record<AdamWScalar, Value> {
  return Object.fromEntries(ADAMW_SCALARS.map((n) => [n, g.input(`adamw.${n}`, dtype, [])])) as Record<AdamWScalar, Value>;
}

/**
 * A flat vector of more than `above` values is updated in slices of `values` (4 MiB in fp32). Every elementwise
 * op of the update makes a buffer the vector's size, and the WebGPU EP pools each for the session's life, reusing
 * a buffer only some dispatches after its release: over an 8B model's 42 M LoRA values the update's twenty
 * buffers of 168 MB were 3.2 GB (docs/gpu-speed.md). Small slices bound what the update holds at once; vectors up
 * to `above` (every model to ~3B at r=16) keep the few-dispatch form, where the slices' extra dispatches would cost
 * more than their memory saves.
 */
export const adamwSlicing = { above: 1 << 25, values: 1 << 20 };

export function adamwUpdate(g: Graph, ps: AdamWParam[], h: Record<AdamWScalar, Value>): AdamWOutputs {
  const dtype = ps[0].param.dtype;
  const m = ps.map((p) => g.input(`m.${p.name}`, dtype, p.param.shape));
  const v = ps.map((p) => g.input(`v.${p.name}`, dtype, p.param.shape));
  // Each tensor as its slices (itself where it is short enough), flattened where sliced.
  const pieces = ps.map((p) => {
    const n = p.param.shape.reduce((a, b) => a * b, 1);
    const per = adamwSlicing.values;
    if (n <= Math.max(per, adamwSlicing.above)) return null;
    const starts = Array.from({ length: Math.ceil(n / per) }, (_, i) => i * per);
    const flat = (x: Value) => (x.shape.length === 1 ? x : op.reshape(g, x, [n]));
    return (x: Value) => starts.map((s) => op.slice(g, flat(x), 0, s, Math.min(n, s + per)));
  });
  const parts = (i: number, x: Value) => pieces[i]?.(x) ?? [x];
  const grads = ps.map((p, i) => parts(i, p.grad).map((d) => op.mul(g, d, h.inv_tokens)));
  const sq = grads.flat().map((d) => op.totalSum(g, op.square(g, d)));
  const gradNorm = op.sqrt(
    g,
    sq.reduce((a, b) => op.add(g, a, b)),
  );
  const coef = op.min(g, op.scalar(g, 1, dtype), op.div(g, h.max_grad_norm, op.add(g, gradNorm, op.scalar(g, 1e-6, dtype))));
  const out: AdamWOutputs = { params: [], m: [], v: [], gradNorm };
  ps.forEach((p, i) => {
    const [params, ms, vs] = [parts(i, p.param), parts(i, m[i]), parts(i, v[i])];
    const upd = grads[i].map((d, k) => {
      const gc = op.mul(g, d, coef);
      const m1 = op.add(g, op.mul(g, ms[k], h.beta1), op.mul(g, gc, h.one_minus_beta1));
      const v1 = op.add(g, op.mul(g, vs[k], h.beta2), op.mul(g, op.square(g, gc), h.one_minus_beta2));
      const denom = op.add(g, op.sqrt(g, op.mul(g, v1, h.bias_corr2)), h.eps);
      const step = op.add(g, op.div(g, op.mul(g, m1, h.bias_corr1), denom), op.mul(g, params[k], h.weight_decay));
      return { p: op.sub(g, params[k], op.mul(g, step, h.lr)), m1, v1 };
    });
    const whole = (xs: Value[]) => {
      if (xs.length === 1) return xs[0];
      const cat = op.concat(g, xs, 0);
      // a flat vector needs no Reshape (which, as an output, would be a copy outside a captured step's dispatches)
      return p.param.shape.length === 1 ? cat : op.reshape(g, cat, p.param.shape);
    };
    out.params.push(whole(upd.map((u) => u.p)));
    out.m.push(whole(upd.map((u) => u.m1)));
    out.v.push(whole(upd.map((u) => u.v1)));
  });
  return out;
}

/** Host-side values of the scalar inputs for one optimizer step. */
export function adamwScalars(
  hp: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number; maxGradNorm?: number },
  tokens: number,
): Record<AdamWScalar, number> {
  return {
    lr: hp.lr,
    beta1: hp.beta1,
    one_minus_beta1: 1 - hp.beta1,
    beta2: hp.beta2,
    one_minus_beta2: 1 - hp.beta2,
    eps: hp.eps,
    weight_decay: hp.weightDecay,
    bias_corr1: 1 / (1 - Math.pow(hp.beta1, hp.step)),
    bias_corr2: 1 / (1 - Math.pow(hp.beta2, hp.step)),
    inv_tokens: 1 / Math.max(tokens, 1),
    max_grad_norm: hp.maxGradNorm && hp.maxGradNorm > 0 ? hp.maxGradNorm : 3e38,
  };
}
