/**
 * Token sampling from one row of logits, in Hugging Face's order: repetition and presence penalties,
 * temperature, then top-k, top-p and min-p filters. Temperature 0 is greedy. Each sampler owns a
 * seeded generator, so a seeded generation is reproducible and a side-by-side row samples exactly as
 * it would alone.
 */
import { SeededRng } from '../data/rng.js';

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

  constructor(readonly opts: SamplingOpts = {}) {
    this.rng = new SeededRng(opts.seed ?? Date.now());
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

    // Candidates sorted by logit; filters cut the list, then one draw from the renormalized rest.
    let idx = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
    if (o.topK && o.topK > 0) idx = idx.slice(0, o.topK);
    const max = logits[idx[0]];
    let probs = idx.map((i) => Math.exp((logits[i] - max) / temp));
    let total = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / total);
    if (o.topP !== undefined && o.topP < 1) {
      let cum = 0;
      let keep = 0;
      while (keep < probs.length && (keep === 0 || cum < o.topP)) cum += probs[keep++];
      idx = idx.slice(0, keep);
      probs = probs.slice(0, keep);
    }
    if (o.minP && o.minP > 0) {
      const floor = probs[0] * o.minP;
      const keep = probs.filter((p) => p >= floor).length;
      idx = idx.slice(0, keep);
      probs = probs.slice(0, keep);
    }
    total = probs.reduce((a, b) => a + b, 0);
    let u = this.rng.next() * total;
    for (let k = 0; k < idx.length; k++) {
      u -= probs[k];
      if (u <= 0) return idx[k];
    }
    return idx[idx.length - 1];
  }
}

export function argmax(a: ArrayLike<number>, from = 0, to = a.length): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (a[i] > a[best]) best = i;
  return best - from;
}
