/**
 * Token sampling from one row of logits, in Hugging Face's order: repetition and presence penalties,
 * temperature, then top-k, top-p and min-p filters. Temperature 0 is greedy. Each sampler owns a
 * seeded generator, so a seeded generation is reproducible and a side-by-side row samples exactly as
 * it would alone.
 */
import { SeededRng } from '../data/rng.js';

/** How many best logits a sampled decode step reads back per row for sampleAmong (infer/device-topk.ts). */
export const TOP_CANDIDATES = 128;

export interface SamplingOpts {
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  /** > 1 discourages tokens already present (HF semantics: divide positive logits, multiply negative). */
  repetitionPenalty?: number;
  /** Subtracted once from the logit of every token already present (OpenAI semantics). */
  presencePenalty?: number;
  seed?: number;
}

export class Sampler {
  private readonly rng: SeededRng;
  /** Unnormalized probabilities of the current row (a buffer reused across tokens). */
  private weights = new Float64Array(0);

  constructor(readonly opts: SamplingOpts = {}) {
    this.rng = new SeededRng(opts.seed ?? Date.now());
  }

  /** The generator's next value: what this sampler's next draw would use (the device's draw, device-sampler.ts). */
  uniform(): number {
    return this.rng.next();
  }

  /** Whether sampleAmong can decide draws with these options (top-k sampling, penalties that only lower logits). */
  static decidedByBest(o: SamplingOpts): boolean {
    return (o.temperature ?? 1) > 0 && (o.topK ?? 0) > 0 && (o.topK ?? 0) < TOP_CANDIDATES && (o.repetitionPenalty ?? 1) >= 1 && (o.presencePenalty ?? 0) >= 0;
  }

  /** `seen`: the tokens present so far (prompt and reply), read only when a penalty is set. */
  sample(row: Float32Array, seen: Iterable<number>): number {
    const o = this.opts;
    const rp = o.repetitionPenalty ?? 1;
    const pp = o.presencePenalty ?? 0;
    const penalize = rp !== 1 || pp !== 0;
    const logits = penalize ? Float32Array.from(row) : row;
    if (penalize) {
      for (const t of new Set(seen)) {
        if (t < 0 || t >= logits.length) continue;
        if (rp !== 1) logits[t] = logits[t] > 0 ? logits[t] / rp : logits[t] * rp;
        logits[t] -= pp;
      }
    }
    const temp = o.temperature ?? 1;
    if (temp <= 0) return argmax(logits);

    const V = logits.length;
    let max = -Infinity;
    for (let i = 0; i < V; i++) if (logits[i] > max) max = logits[i];
    const filtered = (o.topK !== undefined && o.topK > 0) || (o.topP !== undefined && o.topP < 1) || (o.minP !== undefined && o.minP > 0);
    // With top-k the draw depends on the k best tokens only: no pass of exp over the whole vocabulary.
    if (o.topK !== undefined && o.topK > 0 && o.topK < V) return this.sampleTopK(logits, max, temp, o.topK);
    if (this.weights.length !== V) this.weights = new Float64Array(V);
    const w = this.weights;
    let total = 0;
    for (let i = 0; i < V; i++) total += w[i] = Math.exp((logits[i] - max) / temp);
    if (!filtered) {
      // Plain temperature sampling needs no order: one draw against the total (no sort of the vocabulary).
      let u = this.rng.next() * total;
      for (let i = 0; i < V; i++) if ((u -= w[i]) <= 0) return i;
      return argmax(logits);
    }
    const cut = max + temp * Math.log(CANDIDATE_RATIO);
    return this.sampleFiltered(logits, total, cut) ?? this.sampleFiltered(logits, total, -Infinity)!;
  }

  /**
   * Top-k (then top-p and min-p over those k): the k best tokens by a bounded selection (sorting the
   * candidates of a flat 152k-word row cost ~45 ms a token), their probabilities, one draw. The same
   * tokens in the same order, the same sums in the same order, as sampleFiltered's sort would give.
   */
  private sampleTopK(logits: Float32Array, max: number, temp: number, k: number): number {
    const idx = bestOf(logits, k);
    return this.drawTopK(
      idx,
      idx.map((i) => logits[i]),
      max,
      temp,
    );
  }

  /**
   * sample()'s draw over a whole row, from the row's best logits only (`vals`, best first, ties to the lower id,
   * with their `ids`: infer/device-topk.ts), where those decide it: top-k sampling whose k best tokens after the
   * penalties are all among them. Every other token's logit is at most the last candidate's, and penalties only
   * lower logits here, so that holds when the k-th best penalized candidate is above it. Null where it does not
   * hold or the options are another kind: the caller samples the whole row (the generator is untouched).
   */
  sampleAmong(ids: Int32Array, vals: Float32Array, seen: Iterable<number>): number | null {
    const o = this.opts;
    const rp = o.repetitionPenalty ?? 1;
    const pp = o.presencePenalty ?? 0;
    const k = o.topK ?? 0;
    if (!Sampler.decidedByBest(o) || k >= ids.length) return null;
    // the same float32 roundings as sample()'s penalties
    const post = Float32Array.from(vals);
    if (rp !== 1 || pp !== 0) {
      const present = seen instanceof Set ? (seen as Set<number>) : new Set(seen);
      for (let j = 0; j < ids.length; j++) {
        if (!present.has(ids[j])) continue;
        if (rp !== 1) post[j] = post[j] > 0 ? post[j] / rp : post[j] * rp;
        post[j] -= pp;
      }
    }
    const order = Array.from(ids.keys()).sort((a, b) => post[b] - post[a] || ids[a] - ids[b]);
    if (!(post[order[k - 1]] > vals[vals.length - 1])) return null;
    const best = order.slice(0, k);
    return this.drawTopK(
      best.map((j) => ids[j]),
      best.map((j) => post[j]),
      post[best[0]],
      o.temperature ?? 1,
    );
  }

  /** Top-k's draw: the k best tokens (best first) and their logits, the row's maximum, the temperature. */
  private drawTopK(idx: number[], vals: number[], max: number, temp: number): number {
    const w = vals.map((v) => Math.exp((v - max) / temp));
    let total = 0;
    for (const x of w) total += x;
    return this.draw(...this.cutTopPMinP(idx, w.map((x) => x / total)));
  }

  /** Top-p, then min-p, over candidates sorted best first with their probabilities. */
  private cutTopPMinP(idx: number[], probs: number[]): [number[], number[]] {
    const o = this.opts;
    if (o.topP !== undefined && o.topP < 1) {
      let cum = 0;
      let keep = 0;
      while (keep < probs.length && (keep === 0 || cum < o.topP)) cum += probs[keep++];
      [idx, probs] = [idx.slice(0, keep), probs.slice(0, keep)];
    }
    if (o.minP && o.minP > 0) {
      const floor = probs[0] * o.minP;
      const keep = probs.filter((p) => p >= floor).length;
      [idx, probs] = [idx.slice(0, keep), probs.slice(0, keep)];
    }
    return [idx, probs];
  }

  private draw(idx: readonly number[], probs: readonly number[]): number {
    const kept = probs.reduce((a, b) => a + b, 0);
    let u = this.rng.next() * kept;
    for (let k = 0; k < idx.length; k++) {
      u -= probs[k];
      if (u <= 0) return idx[k];
    }
    return idx[idx.length - 1];
  }

  /**
   * Top-p / min-p without top-k: candidates sorted by logit, cut by the filters, then one draw from the
   * renormalized rest. Only tokens within a factor 1e-7 of the top probability are sorted (a 49k
   * vocabulary would otherwise cost a full sort per token); when the filters reach past them, null,
   * and the caller sorts everything (cut −∞). Reads the row's unnormalized probabilities from `weights`.
   */
  private sampleFiltered(logits: Float32Array, allTotal: number, cut: number): number | null {
    const o = this.opts;
    const w = this.weights;
    const all = cut === -Infinity;
    let idx: number[] = [];
    for (let i = 0; i < logits.length; i++) if (logits[i] >= cut) idx.push(i);
    idx.sort((a, b) => logits[b] - logits[a]);
    let total = allTotal;
    if (o.topK && o.topK > 0) {
      if (o.topK > idx.length && !all) return null;
      idx = idx.slice(0, o.topK);
      total = 0;
      for (const i of idx) total += w[i];
    }
    const probs = idx.map((i) => w[i] / total);
    if (!all) {
      // The filters reach past the sorted candidates: top-p wants more mass than they hold (the running
      // sum top-p takes ends below it only when it ran through them all), or min-p a ratio below theirs.
      if (o.topP !== undefined && o.topP < 1 && !(o.topK && o.topK > 0) && probs.reduce((a, b) => a + b, 0) < o.topP) return null;
      if (o.minP && o.minP > 0 && o.minP < CANDIDATE_RATIO) return null;
    }
    return this.draw(...this.cutTopPMinP(idx, probs));
  }
}

/**
 * The k best tokens by logit, best first, ties to the lower index: what a stable descending sort of all
 * indices then slice(0, k) gives. A min-heap of k holds the best so far (its root the worst).
 */
function bestOf(logits: Float32Array, k: number): number[] {
  // a before b: the larger logit, or on a tie the lower index
  const before = (a: number, b: number) => logits[a] > logits[b] || (logits[a] === logits[b] && a < b);
  const heap: number[] = [];
  const down = (at: number) => {
    for (;;) {
      const l = 2 * at + 1;
      const r = l + 1;
      let worst = at;
      if (l < heap.length && before(heap[worst], heap[l])) worst = l;
      if (r < heap.length && before(heap[worst], heap[r])) worst = r;
      if (worst === at) return;
      [heap[at], heap[worst]] = [heap[worst], heap[at]];
      at = worst;
    }
  };
  for (let i = 0; i < logits.length; i++) {
    if (heap.length < k) {
      heap.push(i);
      for (let at = heap.length - 1; at > 0; ) {
        const up = (at - 1) >> 1;
        if (!before(heap[up], heap[at])) break;
        [heap[at], heap[up]] = [heap[up], heap[at]];
        at = up;
      }
    } else if (before(i, heap[0])) {
      heap[0] = i;
      down(0);
    }
  }
  return heap.sort((a, b) => (before(a, b) ? -1 : 1));
}

/** Tokens less likely than this fraction of the top one are left out of the sorted candidates. */
const CANDIDATE_RATIO = 1e-7;

export function argmax(a: ArrayLike<number>, from = 0, to = a.length): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (a[i] > a[best]) best = i;
  return best - from;
}

/** Each row's most likely id in logits [rows, vocab]. */
export function rowArgmax(logits: ArrayLike<number>, rows: number, vocab: number): Int32Array {
  return Int32Array.from({ length: rows }, (_, b) => argmax(logits, b * vocab, (b + 1) * vocab));
}
