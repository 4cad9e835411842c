/**
 * Cross-entropy summed over target positions, written with plain ops (log-sum-exp minus the target
 * logit picked by a one-hot mask) because the WebGPU EP lacks SoftmaxCrossEntropyLoss and fp32
 * LogSoftmax. Targets are shifted on the host (target[t] = label[t+1]); ignored positions have
 * weight 0, so the sum divided by the count of non-zero weights is Hugging Face's mean loss.
 */
import type { Graph, Value } from '../graph/ir.js';
import * as op from '../ops/index.js';

export function crossEntropySum(g: Graph, logits: Value, targets: Value, weights: Value): Value {
  const [N, V] = logits.shape;
  const iota = g.init('vocab_iota', { dtype: 'int32', shape: [1, V], data: Int32Array.from({ length: V }, (_, i) => i) });
  const onehot = g.noGrad(() => op.cast(g, op.equal(g, op.reshape(g, targets, [N, 1]), iota), logits.dtype));
  const picked = op.reduceSum(g, op.mul(g, logits, onehot), [-1], true);
  const nll = op.sub(g, op.logSumExp(g, logits), picked); // [N, 1]
  return op.reduceSum(g, op.mul(g, nll, op.reshape(g, weights, [N, 1])), [0, 1]);
}

/** Shifts HF labels ([B, T], -100 = ignored) into per-position targets and weights. */
export function shiftLabels(labels: Int32Array | BigInt64Array, batch: number, seq: number): { targets: Int32Array; weights: Float32Array; count: number } {
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

/** Additive causal mask [B, 1, 1, T, T]: 0 where a query may attend, a large negative elsewhere. */
export function causalMask(batch: number, seq: number, neg = -1e9): Float32Array {
  const m = new Float32Array(batch * seq * seq);
  for (let b = 0; b < batch; b++) for (let i = 0; i < seq; i++) for (let j = i + 1; j < seq; j++) m[b * seq * seq + i * seq + j] = neg;
  return m;
}

export function positionRange(batch: number, seq: number, start = 0): Int32Array {
  const p = new Int32Array(batch * seq);
  for (let b = 0; b < batch; b++) for (let t = 0; t < seq; t++) p[b * seq + t] = start + t;
  return p;
}
