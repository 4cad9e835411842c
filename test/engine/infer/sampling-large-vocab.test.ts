/**
 * The sampler on a real-sized vocabulary (49,152 like SmolLM2): plain temperature sampling follows the
 * softmax without sorting anything, and the filtered paths (which sort only the likely candidates) draw
 * exactly what a full sort of the vocabulary draws, seed for seed.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../../src-main/engine/data/rng.js';
import { Sampler, type SamplingOpts } from '../../../src-main/engine/infer/sampling.js';

const V = 49152;
function logitsOf(seed: number, spread: number): Float32Array {
  const r = new SeededRng(seed);
  return Float32Array.from({ length: V }, () => spread * (r.next() - 0.5) + (r.next() < 0.001 ? 8 : 0));
}

/** The plain definition: every token sorted by logit, filters, renormalize, one draw in sorted order. */
const order = new WeakMap<Float32Array, number[]>();
function reference(logits: Float32Array, o: SamplingOpts, rng: SeededRng): number {
  const temp = o.temperature ?? 1;
  if (!order.has(logits)) order.set(logits, Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]));
  let idx = order.get(logits)!;
  if (o.topK) idx = idx.slice(0, o.topK);
  const max = logits[idx[0]];
  let probs = idx.map((i) => Math.exp((logits[i] - max) / temp));
  let total = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / total);
  if (o.topP !== undefined && o.topP < 1) {
    let cum = 0,
      keep = 0;
    while (keep < probs.length && (keep === 0 || cum < o.topP)) cum += probs[keep++];
    [idx, probs] = [idx.slice(0, keep), probs.slice(0, keep)];
  }
  if (o.minP) {
    const keep = probs.filter((p) => p >= probs[0] * o.minP!).length;
    [idx, probs] = [idx.slice(0, keep), probs.slice(0, keep)];
  }
  total = probs.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let k = 0; k < idx.length; k++) if ((u -= probs[k]) <= 0) return idx[k];
  return idx[idx.length - 1];
}

const VECTORS = [
  [1, 4],
  [2, 20],
  [3, 0.5],
].map(([seed, spread]) => logitsOf(seed, spread));
// Many exact ties (logits on a coarse grid), so that top-k's selection must break them as the stable sort
// does (the lower index first), and a row as flat as a random model's, where every token is a candidate.
VECTORS.push(Float32Array.from(logitsOf(4, 6), (x) => Math.round(x)), logitsOf(5, 0.01));

describe('sampler on a 49k vocabulary', () => {
  it.each<SamplingOpts>([
    { temperature: 0.8, topP: 0.9 },
    { temperature: 1, topK: 40 },
    { temperature: 1.3, topK: 200, topP: 0.95 },
    { temperature: 0.7, minP: 0.05 },
    { temperature: 1, topP: 0.999999 }, // reaches past the sorted candidates: falls back to a full sort
    { temperature: 1, minP: 1e-9 },
    { temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05 }, // the Chat screen's filters
  ])('filters draw exactly what a full sort draws (%o)', (o) => {
    for (const logits of VECTORS) {
      const s = new Sampler({ ...o, seed: 77 });
      const rng = new SeededRng(77);
      for (let k = 0; k < 8; k++) expect(s.sample(logits, [])).toBe(reference(logits, o, rng));
    }
  });

  it('plain temperature sampling follows the softmax', () => {
    const logits = new Float32Array(V).fill(-30);
    [0, 1, 2].forEach((i) => (logits[100 + i * 999] = [2, 1, 0][i]));
    const s = new Sampler({ temperature: 1, seed: 5 });
    const n = 5000;
    const counts = new Map<number, number>();
    for (let k = 0; k < n; k++) {
      const t = s.sample(logits, []);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    const z = Math.exp(2) + Math.exp(1) + 1;
    [0, 1, 2].forEach((i) => expect((counts.get(100 + i * 999) ?? 0) / n).toBeCloseTo(Math.exp([2, 1, 0][i]) / z, 1));
    expect([...counts.keys()].every((t) => [100, 1099, 2098].includes(t))).toBe(true);
  });
});
