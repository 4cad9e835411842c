/**
 * Cross-entropy summed over target positions, written with plain ops (log-sum-exp minus the target
 * logit picked by a one-hot mask) because the WebGPU EP lacks SoftmaxCrossEntropyLoss and fp32
 * LogSoftmax. Targets are shifted on the host (target[t] = label[t+1]); ignored positions have
 * weight 0, so the sum divided by the count of non-zero weights is Hugging Face's mean loss.
 */
import type { Graph, Value } from '../graph/ir.js';
import * as op from '../ops/index.js';
import { after } from '../ops/recompute.js';
import { backward } from '../autodiff/backward.js';

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

/**
 * Logits up to this many bytes are made whole; above it the LM head and the loss run over slices of rows.
 * An 8B model's [1,024, 128,256] fp32 logits are 525 MB, and the softmax, the weighted copy and the scatter of
 * the loss's gradient are as big again each; the WebGPU EP keeps every such buffer for the session's life
 * (~3 GB of the 8B step's 25.5 GB, docs/gpu-speed.md). Slices of equal size reuse one set. They cost time: on the
 * H200 the 0.5B 1×512 step took 145.6 ms sliced against 129.2 ms whole, 8×512 581 against 515 ms (same call), so
 * only a step with activation checkpointing, the memory-first mode, slices (step-graph.ts). GRAFT_LOSS_SLICE_MB
 * sets the budget for measurements (a large value keeps the logits whole).
 */
export const lossChunking = { bytes: Number(process.env.GRAFT_LOSS_SLICE_MB ?? 128) * 2 ** 20 };

/** Rows per slice for N rows of V logits of `bytes` each (N itself where the whole fits the budget). */
export function lossRows(N: number, V: number, bytes: number): number {
  const slices = Math.ceil((N * V * bytes) / lossChunking.bytes);
  return slices <= 1 ? N : Math.ceil(N / slices);
}

/**
 * The summed cross-entropy of `head(hidden)` and, with `wantGrad`, its gradient w.r.t. `hidden` [N, D], made
 * over slices of `rows` rows (lossRows): each slice's logits, loss and dLogits, then the slice's dHidden through
 * the head's own gradient rules (autodiff from the slice's logits back to its rows). A slice's rows are read
 * only once the previous slice's loss and dHidden exist, and dHidden waits for the whole loss, so one slice of
 * logits is alive at a time. The head is frozen: it gets no gradient.
 */
export function slicedHeadLoss(
  g: Graph,
  head: (rows: Value) => Value,
  hidden: Value,
  targets: Value,
  weights: Value,
  wantGrad: boolean,
  rows: number,
): { lossSum: Value; dHidden: Value | null } {
  const [N] = hidden.shape;
  let lossSum: Value | null = null;
  const dRows: Value[] = [];
  // The WebGPU EP has no Slice for int32: the ids are sliced as floats (exact below 2^24) and cast back.
  const ids = g.noGrad(() => op.cast(g, targets, 'float32'));
  for (let s = 0; s < N; s += rows) {
    const piece = (v: Value) => op.slice(g, v, 0, s, Math.min(N, s + rows));
    // Ordering edges only (no gradient flows through them): the rows wait for the previous slice's work.
    const h = g.noGrad(() => {
      let x = piece(hidden);
      if (lossSum) x = after(g, x, lossSum);
      if (dRows.length) x = after(g, x, dRows[dRows.length - 1]);
      return x;
    });
    const logits = head(h);
    const r = crossEntropyWithGrad(g, logits, g.noGrad(() => op.cast(g, piece(ids), 'int32')), piece(weights), wantGrad);
    lossSum = lossSum ? op.add(g, lossSum, r.lossSum) : r.lossSum;
    if (wantGrad) dRows.push(backward(g, logits, [h], r.dLogits!).grads[0]);
  }
  if (!wantGrad) return { lossSum: lossSum!, dHidden: null };
  const dHidden = dRows.length === 1 ? dRows[0] : op.concat(g, dRows, 0);
  return { lossSum: lossSum!, dHidden: g.noGrad(() => after(g, dHidden, lossSum!)) };
}
