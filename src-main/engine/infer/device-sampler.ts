/**
 * Top-k sampling on the device, so that sampled steps chain as greedy ones do: a step's id is drawn where its
 * logits are and written where the next step reads its input, and nothing comes back to the host until the
 * chain ends. The host's sampler (sampling.ts) needed each step's candidates read back first: the GPU then idled
 * while the host drew and sent the next step (the Chat's sampling ran at 134 against 172 tok/s greedy, 0.5B on
 * the H200, session 16).
 *
 * The graph follows Sampler.sample, stage by stage: the penalties on the whole row (HF's repetition penalty, then
 * the presence penalty, on tokens marked in `seen`); then, for top-k sampling ('topk'), the K_MAX best
 * (device-topk.ts), the row's own top-k of those, probabilities at the temperature, top-p then min-p over them;
 * for plain temperature sampling ('plain'), the whole row's probabilities, summed in parts of PART tokens; and one
 * draw with the uniform the row's sampler would have drawn (Sampler.uniform). Greedy decoding with a penalty is
 * top-k sampling of one. Each row carries its own settings (`params`), so one graph of a mode serves every setting.
 * The draw is the host's in float32 instead of float64: a uniform within float32 rounding of a boundary between
 * two tokens may pick the other one. A row whose logits are not finite draws V, past the vocabulary. `seen_out` is
 * `seen` with the drawn token marked, for the next step.
 */
import { Graph, type Value } from '../graph/ir.js';
import { sharedI64 } from '../graph/shared.js';
import { node, rowMax, rowSum, splitLast } from './fused/nodes.js';
import { topKNodes } from './device-topk.js';
import { type SamplingOpts, TOP_CANDIDATES } from './sampling.js';

/** The most candidates a row's top-k may ask for (the device takes this many first): the host path's TOP_CANDIDATES. */
export const K_MAX = TOP_CANDIDATES;
/** params columns, in order: temperature, top-k, top-p (2: off), min-p (0: off), repetition penalty, presence penalty. */
export const PARAMS = 6;
export const SAMPLED_IDS = 'sampled_ids';
export const SEEN_OUT = 'seen_out';

/** 'topk': top-k sampling (top-p and min-p over the k); 'plain': temperature sampling over the whole row. */
export type SamplerMode = 'topk' | 'plain';

/**
 * The graph that draws what these options ask, or null where the host must: top-p or min-p without top-k (they
 * take the whole row in order), top-k beyond K_MAX, greedy decoding without penalties (the decode graph's argmax).
 */
export function samplerMode(o: SamplingOpts, vocab: number): SamplerMode | null {
  const k = o.topK ?? 0;
  if ((o.temperature ?? 1) <= 0) return penalized(o) ? 'topk' : null;
  if (k > 0) return Number.isInteger(k) && k <= Math.min(K_MAX, vocab) ? 'topk' : null;
  return (o.topP ?? 1) < 1 || (o.minP ?? 0) > 0 ? null : 'plain';
}

/** A row's params (PARAMS values); greedy decoding with a penalty draws the best of one at temperature 1. */
export function samplerParams(o: SamplingOpts): number[] {
  if ((o.temperature ?? 1) <= 0) return [1, 1, 2, 0, o.repetitionPenalty ?? 1, o.presencePenalty ?? 0];
  const topP = o.topP !== undefined && o.topP < 1 ? o.topP : 2;
  return [o.temperature ?? 1, o.topK ?? 0, topP, o.minP && o.minP > 0 ? o.minP : 0, o.repetitionPenalty ?? 1, o.presencePenalty ?? 0];
}

/** Whether `seen` matters under these options (a penalty is set). */
export const penalized = (o: SamplingOpts): boolean => (o.repetitionPenalty ?? 1) !== 1 || (o.presencePenalty ?? 0) !== 0;

/** Tokens a part of the row holds in the plain draw's running sums (the last part padded with zeros). */
export const PART = 1024;

/**
 * logits [B, V], seen [B, V] (1 where present), uniform [B, 1], params [B, PARAMS] → sampled_ids [B, 1] int32 and
 * seen_out [B, V].
 */
export function buildSamplerGraph(B: number, V: number, mode: SamplerMode = 'topk'): Graph {
  const g = new Graph(`device_sampler_${mode}_b${B}_v${V}`);
  const b = builder(g, B);
  const logits = g.input('logits', 'float32', [B, V]);
  const seen = g.input('seen', 'float32', [B, V]);
  const uniform = g.input('uniform', 'float32', [B, 1]);
  const [temperature, topK, topP, minP, rp, pp] = splitLast(g, g.input('params', 'float32', [B, PARAMS]), PARAMS);

  // Penalties, as Sampler.sample: a present token's logit divided by the penalty if positive, else multiplied,
  // then the presence penalty subtracted.
  const positive = b.op('Greater', [logits, b.zero], b.bool([B, V]));
  const scaled = b.op('Where', [positive, b.op('Div', [logits, rp], b.f32([B, V])), b.op('Mul', [logits, rp], b.f32([B, V]))], b.f32([B, V]));
  const present = b.op('Greater', [seen, b.scalar('sampler_half', 0.5)], b.bool([B, V]));
  const pen = b.op('Where', [present, b.op('Sub', [scaled, pp], b.f32([B, V])), logits], b.f32([B, V]));

  // A row with a value that is not finite (NaN or ±inf: an fp16 decode that overflowed) draws V, past the
  // vocabulary, which the host refuses (generate.ts); without it such a row drew an id that looked like any other.
  // Its sum shows one (NaN and inf propagate through sums; the maximum skips a NaN); sum − sum is 0 only where finite.
  const sum = rowSum(g, pen, b.axis(1));
  const finite = b.op('Equal', [b.op('Sub', [sum, sum], b.f32([B, 1])), b.zero], b.bool([B, 1]));
  const drawn = mode === 'topk' ? topKDraw(g, b, pen, { temperature, topK, topP, minP }, uniform) : plainDraw(g, b, pen, temperature, uniform);
  const id = b.op('Where', [finite, drawn, b.scalar('sampler_past_vocab', V)], b.f32([B, 1]));
  g.output(b.op('Cast', [id], { dtype: 'int32', shape: [B, 1], name: SAMPLED_IDS }, { to: { i: 6 } }));
  // The drawn token is present from now on.
  const vocab = g.init('sampler_vocab_iota', { dtype: 'float32', shape: [V], data: Float32Array.from({ length: V }, (_, i) => i) });
  g.output(b.op('Where', [b.op('Equal', [vocab, id], b.bool([B, V])), b.one, seen], { dtype: 'float32', shape: [B, V], name: SEEN_OUT }));
  return g;
}

type Out = { dtype: 'float32' | 'bool' | 'int32'; shape: number[]; name?: string };

/** Small helpers over one graph of B rows. */
function builder(g: Graph, B: number) {
  const f32 = (shape: number[]): Out => ({ dtype: 'float32', shape });
  const bool = (shape: number[]): Out => ({ dtype: 'bool', shape });
  const op = (name: string, inputs: Value[], out: Out, attrs = {}) => node(g, name, inputs, [out], attrs)[0];
  const scalar = (name: string, v: number) => g.init(name, { dtype: 'float32', shape: [], data: Float32Array.of(v) });
  const axis = (a: number) => sharedI64(g, `sampler_axis${a}`, [a]);
  const axis1 = axis(1);
  const iotas = new Map<number, Value>();
  const uppers = new Map<number, Value>();
  return {
    f32,
    bool,
    op,
    scalar,
    axis,
    zero: scalar('sampler_zero', 0),
    one: scalar('sampler_one', 1),
    /** Each row's sum [B, 1]. */
    rowSum: (x: Value) => op('ReduceSum', [x, axis1], f32([B, 1]), { keepdims: { i: 1 } }),
    /** 0..n−1 as floats. */
    iota: (n: number) => iotas.get(n) ?? iotas.set(n, g.init(`sampler_iota_${n}`, { dtype: 'float32', shape: [n], data: Float32Array.from({ length: n }, (_, i) => i) })).get(n)!,
    /** Inclusive running sums along rows of n: a product with an upper-triangular matrix of ones. */
    cumsum: (x: Value) => {
      const n = x.shape[1];
      let u = uppers.get(n);
      if (!u) uppers.set(n, (u = g.init(`sampler_upper_${n}`, { dtype: 'float32', shape: [n, n], data: Float32Array.from({ length: n * n }, (_, i) => (Math.floor(i / n) <= i % n ? 1 : 0)) })));
      return op('MatMul', [x, u], f32([B, n]));
    },
    /** How many of each row's entries of `x` are below `target` [B, 1] (where `within`, when given). */
    countBelow: (x: Value, target: Value, within: Value | null = null) => {
      let below = op('Less', [x, target], bool(x.shape as number[]));
      if (within) below = op('And', [below, within], bool(x.shape as number[]));
      return op('ReduceSum', [op('Cast', [below], f32(x.shape as number[]), { to: { i: 1 } }), axis1], f32([B, 1]), { keepdims: { i: 1 } });
    },
  };
}
type Builder = ReturnType<typeof builder>;

/** Top-k (then top-p and min-p) over the K_MAX best of the penalized row; the drawn token's id [B, 1] as float. */
function topKDraw(g: Graph, b: Builder, pen: Value, p: { temperature: Value; topK: Value; topP: Value; minP: Value }, uniform: Value): Value {
  const [B, V] = pen.shape;
  const K = Math.min(K_MAX, V);
  const axis1 = b.axis(1);
  // The K_MAX best, then the row's own k of them: probabilities at the temperature over those.
  const top = topKNodes(g, pen, K);
  const iota = b.iota(K);
  const inK = b.op('Less', [iota, p.topK], b.bool([B, K]));
  const max = b.op('ReduceMax', [top.vals, axis1], b.f32([B, 1]), { keepdims: { i: 1 } });
  const w = b.op('Exp', [b.op('Div', [b.op('Sub', [top.vals, max], b.f32([B, K])), p.temperature], b.f32([B, K]))], b.f32([B, K]));
  const wk = b.op('Where', [inK, w, b.zero], b.f32([B, K]));
  const probs = b.op('Div', [wk, b.rowSum(wk)], b.f32([B, K]));
  // Top-p keeps a candidate while the mass before it is below p; min-p those of at least min-p × the best's.
  const keepP = b.op('Less', [b.op('Sub', [b.cumsum(probs), probs], b.f32([B, K])), p.topP], b.bool([B, K]));
  const pMax = b.op('ReduceMax', [probs, axis1], b.f32([B, 1]), { keepdims: { i: 1 } });
  const keepM = b.op('GreaterOrEqual', [probs, b.op('Mul', [pMax, p.minP], b.f32([B, 1]))], b.bool([B, K]));
  const keep = b.op('And', [b.op('And', [inK, keepP], b.bool([B, K])), keepM], b.bool([B, K]));
  const kept = b.op('Where', [keep, probs, b.zero], b.f32([B, K]));
  // The draw: the first kept candidate whose running sum reaches uniform × the kept mass (the last kept one if
  // rounding leaves none), as Sampler.draw walks them.
  const target = b.op('Mul', [uniform, b.rowSum(kept)], b.f32([B, 1]));
  const last = b.op('Sub', [b.rowSum(b.op('Cast', [keep], b.f32([B, K]), { to: { i: 1 } })), b.one], b.f32([B, 1]));
  const at = b.op('Min', [b.countBelow(b.cumsum(kept), target, keep), last], b.f32([B, 1]));
  return b.rowSum(b.op('Where', [b.op('Equal', [iota, at], b.bool([B, K])), top.ids, b.zero], b.f32([B, K])));
}

/**
 * Temperature sampling over the whole penalized row, as Sampler.sample's unfiltered draw: the first token whose
 * running sum of exp((logit − max) / T) reaches uniform × the total. The running sums go in two levels: the
 * row's parts of PART tokens, then the tokens of the part the draw falls in. The drawn token's id [B, 1] as float.
 */
function plainDraw(g: Graph, b: Builder, pen: Value, temperature: Value, uniform: Value): Value {
  const [B, V] = pen.shape;
  const L = Math.min(PART, V);
  const C = Math.ceil(V / L);
  const max = rowMax(g, pen, b.axis(1));
  let w = b.op('Exp', [b.op('Div', [b.op('Sub', [pen, max], b.f32([B, V])), temperature], b.f32([B, V]))], b.f32([B, V]));
  if (C * L > V) {
    const pad = g.init('sampler_pad', { dtype: 'float32', shape: [B, C * L - V], data: new Float32Array(B * (C * L - V)) });
    w = b.op('Concat', [w, pad], b.f32([B, C * L]), { axis: { i: 1 } });
  }
  const shape = g.init('sampler_parts', { dtype: 'int64', shape: [3], data: BigInt64Array.of(BigInt(B), BigInt(C), BigInt(L)) });
  const parts = b.op('Reshape', [w, shape], b.f32([B, C, L]));
  const partSums = b.op('ReduceSum', [parts, b.axis(2)], b.f32([B, C]), { keepdims: { i: 0 } });
  const target = b.op('Mul', [uniform, b.rowSum(partSums)], b.f32([B, 1]));
  // The part the draw falls in, and the mass before it.
  const cumParts = b.cumsum(partSums);
  const c = b.op('Min', [b.countBelow(cumParts, target), b.scalar('sampler_last_part', C - 1)], b.f32([B, 1]));
  const inPart = b.op('Equal', [b.iota(C), c], b.bool([B, C]));
  const before = b.rowSum(b.op('Where', [inPart, b.op('Sub', [cumParts, partSums], b.f32([B, C])), b.zero], b.f32([B, C])));
  // That part's tokens, their running sums after the mass before, the first to reach the target.
  const column = g.init('sampler_column', { dtype: 'int64', shape: [3], data: BigInt64Array.of(BigInt(B), BigInt(C), 1n) });
  const pick = b.op('Reshape', [inPart, column], b.bool([B, C, 1]));
  const tokens = b.op('ReduceSum', [b.op('Where', [pick, parts, b.zero], b.f32([B, C, L])), b.axis(1)], b.f32([B, L]), { keepdims: { i: 0 } });
  const j = b.op('Min', [b.countBelow(b.op('Add', [b.cumsum(tokens), before], b.f32([B, L])), target), b.scalar('sampler_last_token', L - 1)], b.f32([B, 1]));
  const id = b.op('Add', [b.op('Mul', [c, b.scalar('sampler_part', L)], b.f32([B, 1])), j], b.f32([B, 1]));
  return b.op('Min', [id, b.scalar('sampler_last_id', V - 1)], b.f32([B, 1]));
}
