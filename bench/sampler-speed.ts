/**
 * The sampler's host time per token at a 152k-word vocabulary (Qwen2.5's), on a flat row (a random model's)
 * and a peaked one (a trained model's: a few tokens far above the rest), for plain temperature sampling and
 * the Chat screen's filters. Beside it, the sort of every candidate within 1e-7 of the top token that the
 * filters ran before the bounded top-k selection (sampling.ts), timed on the same rows.
 *   npx tsx bench/sampler-speed.ts   → bench/results/sampler-cpu-<date>.json
 */
import { SeededRng } from '../src-main/engine/data/rng.js';
import { Sampler, type SamplingOpts } from '../src-main/engine/infer/sampling.js';
import { CHAT_SAMPLING } from '../src-main/engine/options/generate.js';
import { commit, machine, writeResult } from './common.js';

const V = 151_936;
const rng = new SeededRng(3);
const rows = {
  flat: Float32Array.from({ length: V }, () => 2 * (rng.next() - 0.5)),
  peaked: Float32Array.from({ length: V }, () => 4 * (rng.next() - 0.5) + (rng.next() < 2e-4 ? 14 : 0)),
};
const { seed: _seed, ...chat } = CHAT_SAMPLING;
const seen = Array.from({ length: 400 }, (_, i) => (i * 379) % V);

function msPer(f: () => void, n = 60): number {
  for (let i = 0; i < 5; i++) f();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  return +((performance.now() - t0) / n).toFixed(3);
}

/** The candidates' sort the filters ran before: every token within a factor 1e-7 of the top, sorted by logit. */
function sortCandidates(row: Float32Array, temp: number): number {
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (row[i] > max) max = row[i];
  const cut = max + temp * Math.log(1e-7);
  const idx: number[] = [];
  for (let i = 0; i < V; i++) if (row[i] >= cut) idx.push(i);
  idx.sort((a, b) => row[b] - row[a]);
  return idx.length;
}

const results = [];
for (const [name, row] of Object.entries(rows)) {
  for (const [label, opts] of [['temperature 0.8', { temperature: 0.8 }], ['chat filters', chat]] as [string, SamplingOpts][]) {
    const s = new Sampler({ ...opts, seed: 1 });
    results.push({ row: name, sampling: label, opts, ms_per_token: msPer(() => s.sample(row, seen)) });
  }
  let candidates = 0;
  results.push({ row: name, sampling: 'the candidates sort the chat filters ran before', ms_per_token: msPer(() => (candidates = sortCandidates(row, chat.temperature))), candidates });
}
const r = { bench: 'sampler-speed', vocab: V, date: new Date().toISOString(), commit: commit(), machine: machine(), results };
console.log(JSON.stringify(r, null, 1));
console.log('wrote', writeResult(`sampler-cpu-${r.date.slice(0, 10)}`, r));
