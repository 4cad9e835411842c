/**
 * Top-k sampling on the device, so that sampled steps chain as greedy ones do: a step's id is drawn where its
 * logits are and written where the next step reads its input, and nothing comes back to the host until the
 * chain ends. The host's sampler (sampling.ts) needed each step's candidates read back first: the GPU then idled
 * while the host drew and sent the next step (the Chat's sampling ran at 134 against 172 tok/s greedy, 0.5B on
 * the H200, session 16).
 *
 * The graph follows Sampler.sample for top-k sampling, stage by stage: the penalties on the whole row (HF's
 * repetition penalty, then the presence penalty, on tokens marked in `seen`), the K_MAX best (device-topk.ts),
 * the row's own top-k of those, probabilities at the temperature, top-p then min-p over them, and one draw with
 * the uniform the row's sampler would have drawn (Sampler.uniform). Each row carries its own settings (`params`),
 * so one graph serves every setting. The draw is the host's in float32 instead of float64: a uniform within
 * float32 rounding of a boundary between two tokens may pick the other one. `seen_out` is `seen` with the drawn
 * token marked, for the next step.
 */
import { Graph, type Value } from '../graph/ir.js';
import { node, splitLast } from './fused/nodes.js';
import { topKNodes } from './device-topk.js';
import type { SamplingOpts } from './sampling.js';

/** The most candidates a row's top-k may ask for (the device takes this many first). */
export const K_MAX = 128;
/** params columns, in order: temperature, top-k, top-p (2: off), min-p (0: off), repetition penalty, presence penalty. */
export const PARAMS = 6;
export const SAMPLED_IDS = 'sampled_ids';
export const SEEN_OUT = 'seen_out';

/** Whether the device draws exactly what these options ask (top-k sampling of at most K_MAX candidates). */
export function deviceSamplable(o: SamplingOpts, vocab: number): boolean {
  const k = o.topK ?? 0;
  return (o.temperature ?? 1) > 0 && Number.isInteger(k) && k > 0 && k <= Math.min(K_MAX, vocab);
}

/** A row's params (PARAMS values). */
export function samplerParams(o: SamplingOpts): number[] {
  const topP = o.topP !== undefined && o.topP < 1 ? o.topP : 2;
  return [o.temperature ?? 1, o.topK ?? 0, topP, o.minP && o.minP > 0 ? o.minP : 0, o.repetitionPenalty ?? 1, o.presencePenalty ?? 0];
}

/** Whether `seen` matters under these options (a penalty is set). */
export const penalized = (o: SamplingOpts): boolean => (o.repetitionPenalty ?? 1) !== 1 || (o.presencePenalty ?? 0) !== 0;

/**
 * logits [B, V], seen [B, V] (1 where present), uniform [B, 1], params [B, PARAMS] → sampled_ids [B, 1] int32 and
 * seen_out [B, V].
 */
export function buildSamplerGraph(B: number, V: number): Graph {
  const g = new Graph(`device_sampler_b${B}_v${V}`);
  const f32 = (shape: number[]) => ({ dtype: 'float32' as const, shape });
  const bool = (shape: number[]) => ({ dtype: 'bool' as const, shape });
  const op = (name: string, inputs: Value[], out: { dtype: 'float32' | 'bool' | 'int32'; shape: number[]; name?: string }, attrs = {}) => node(g, name, inputs, [out], attrs)[0];
  const scalar = (name: string, v: number) => g.init(name, { dtype: 'float32', shape: [], data: Float32Array.of(v) });
  const axes = g.init('sampler_axis1', { dtype: 'int64', shape: [1], data: BigInt64Array.of(1n) });
  const rowSum = (x: Value) => op('ReduceSum', [x, axes], f32([B, 1]), { keepdims: { i: 1 } });
  const K = Math.min(K_MAX, V);

  const logits = g.input('logits', 'float32', [B, V]);
  const seen = g.input('seen', 'float32', [B, V]);
  const uniform = g.input('uniform', 'float32', [B, 1]);
  const [temperature, topK, topP, minP, rp, pp] = splitLast(g, g.input('params', 'float32', [B, PARAMS]), PARAMS);
  const zero = scalar('sampler_zero', 0);
  const one = scalar('sampler_one', 1);

  // Penalties, as Sampler.sample: a present token's logit divided by the penalty if positive, else multiplied,
  // then the presence penalty subtracted.
  const positive = op('Greater', [logits, zero], bool([B, V]));
  const scaled = op('Where', [positive, op('Div', [logits, rp], f32([B, V])), op('Mul', [logits, rp], f32([B, V]))], f32([B, V]));
  const present = op('Greater', [seen, scalar('sampler_half', 0.5)], bool([B, V]));
  const pen = op('Where', [present, op('Sub', [scaled, pp], f32([B, V])), logits], f32([B, V]));

  // The K_MAX best, then the row's own k of them: probabilities at the temperature over those.
  const top = topKNodes(g, pen, K);
  const iota = g.init('sampler_iota', { dtype: 'float32', shape: [K], data: Float32Array.from({ length: K }, (_, i) => i) });
  const inK = op('Less', [iota, topK], bool([B, K]));
  const max = op('ReduceMax', [top.vals, axes], f32([B, 1]), { keepdims: { i: 1 } });
  const w = op('Exp', [op('Div', [op('Sub', [top.vals, max], f32([B, K])), temperature], f32([B, K]))], f32([B, K]));
  const wk = op('Where', [inK, w, zero], f32([B, K]));
  const probs = op('Div', [wk, rowSum(wk)], f32([B, K]));

  // Inclusive running sums along the row: a product with an upper-triangular matrix of ones.
  const upper = g.init('sampler_upper', { dtype: 'float32', shape: [K, K], data: Float32Array.from({ length: K * K }, (_, i) => (Math.floor(i / K) <= i % K ? 1 : 0)) });
  const cumsum = (x: Value) => op('MatMul', [x, upper], f32([B, K]));
  // Top-p keeps a candidate while the mass before it is below p; min-p those of at least min-p × the best's.
  const keepP = op('Less', [op('Sub', [cumsum(probs), probs], f32([B, K])), topP], bool([B, K]));
  const pMax = op('ReduceMax', [probs, axes], f32([B, 1]), { keepdims: { i: 1 } });
  const keepM = op('GreaterOrEqual', [probs, op('Mul', [pMax, minP], f32([B, 1]))], bool([B, K]));
  const keep = op('And', [op('And', [inK, keepP], bool([B, K])), keepM], bool([B, K]));
  const kept = op('Where', [keep, probs, zero], f32([B, K]));

  // The draw: the first kept candidate whose running sum reaches uniform × the kept mass (the last kept one if
  // rounding leaves none), as Sampler.draw walks them.
  const target = op('Mul', [uniform, rowSum(kept)], f32([B, 1]));
  const below = op('And', [op('Less', [cumsum(kept), target], bool([B, K])), keep], bool([B, K]));
  const count = rowSum(op('Cast', [below], f32([B, K]), { to: { i: 1 } }));
  const last = op('Sub', [rowSum(op('Cast', [keep], f32([B, K]), { to: { i: 1 } })), one], f32([B, 1]));
  const at = op('Min', [count, last], f32([B, 1]));
  const id = rowSum(op('Where', [op('Equal', [iota, at], bool([B, K])), top.ids, zero], f32([B, K])));
  g.output(op('Cast', [id], { dtype: 'int32', shape: [B, 1], name: SAMPLED_IDS }, { to: { i: 6 } }));

  // The drawn token is present from now on.
  const vocab = g.init('sampler_vocab_iota', { dtype: 'float32', shape: [V], data: Float32Array.from({ length: V }, (_, i) => i) });
  g.output(op('Where', [op('Equal', [vocab, id], bool([B, V])), one, seen], { dtype: 'float32', shape: [B, V], name: SEEN_OUT }));
  return g;
}
