/**
 * Cross-entropy summed over target positions, written with plain ops (log-sum-exp minus the target
 * logit picked by a one-hot mask) because the WebGPU EP lacks SoftmaxCrossEntropyLoss and fp32
 * LogSoftmax. Targets are shifted on the host (target[t] = label[t+1]); ignored positions have
 * weight 0, so the sum divided by the count of non-zero weights is Hugging Face's mean loss.
 */
import type { Graph, Value } from '../graph/ir.js';
import * as op from '../ops/index.js';

/**
 * The summed cross-entropy and its gradient w.r.t. the logits, written out instead of derived: at a
 * 151,936-word vocabulary the logits of a batch of 8 × 512 are 2.5 GB, and autodiff of the plain
 * formulation makes ~10 passes over tensors of that size (one-hot, shifts, broadcasts, products). Here:
 * p = softmax(logits) (one pass), loss = Σ w·(−log p[target]), dlogits = w·p with w·(p[target] − 1)
 * written at each target (a scaled copy and a scatter). The caller seeds backward() at the logits with
 * dLogits. −log p[target] equals log-sum-exp minus the target logit up to rounding; p[target] is
 * clamped at the smallest normal float so a vanishing probability gives a large finite loss, not ∞.
 */
export function crossEntropyWithGrad(
  g: Graph,
  logits: Value,
  targets: Value,
  weights: Value,
  wantGrad = true,
): { lossSum: Value; dLogits: Value | null } {
  const [N] = logits.shape;
  return g.noGrad(() => {
    const p = op.softmax(g, logits);
    const t = op.reshape(g, targets, [N, 1]);
    const w = op.reshape(g, weights, [N, 1]);
    const pt = g.add('GatherElements', [p, t], [{ dtype: p.dtype, shape: [N, 1] }], { axis: { i: 1 } })[0];
    const tiny = op.scalar(g, 1.1754944e-38, p.dtype);
    const nll = op.neg(g, op.log(g, op.max(g, pt, tiny)));
    const lossSum = op.reduceSum(g, op.mul(g, nll, w), [0, 1]);
    if (!wantGrad) return { lossSum, dLogits: null };
    const dTarget = op.mul(g, op.sub(g, pt, op.scalar(g, 1, p.dtype)), w);
    const dLogits = op.scatterElements(g, op.mul(g, p, w), t, dTarget, 1);
    return { lossSum, dLogits };
  });
}

export function crossEntropySum(g: Graph, logits: Value, targets: Value, weights: Value): Value {
  const [N, V] = logits.shape;
  const iota = g.init('vocab_iota', { dtype: 'int32', shape: [1, V], data: Int32Array.from({ length: V }, (_, i) => i) });
  const onehot = g.noGrad(() => op.cast(g, op.equal(g, op.reshape(g, targets, [N, 1]), iota), logits.dtype));
  const picked = op.reduceSum(g, op.mul(g, logits, onehot), [-1], true);
  const nll = op.sub(g, op.logSumExp(g, logits), picked); // [N, 1]
  return op.reduceSum(g, op.mul(g, nll, op.reshape(g, weights, [N, 1])), [0, 1]);
}

/** Shifts HF labels ([B, T], -100 = ignored) into per-position targets and weights. */
export function shiftLabels(
  labels: Int32Array | BigInt64Array,
  batch: number,
  seq: number,
): { targets: Int32Array; weights: Float32Array; count: number } {
  const targets = new Int32Array(batch * seq);
  const weights = new Float32Array(batch * seq);
  let count = 0;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t + 1 < seq; t++) {
      const y = Number(labels[b * seq + t + 1]);
      if (y === -100) continue;
      targets[b * seq + t] = y;
      weights[b * seq + t] = 1;
      count++;
    }
  }
  return { targets, weights, count };
}
