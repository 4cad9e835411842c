import type { AdapterWeights } from '../../../src-main/engine/adapters/adapter-weights.js';
import { computeLogits } from '../../../src-main/engine/infer/logits.js';
import type { LoadedModel } from '../../../src-main/engine/model.js';

/** Greedy ids from `prompt`, by full-sequence logits each step (slow but simple: tiny models only). */
export async function greedy(model: LoadedModel, prompt: number[], steps: number, adapter?: AdapterWeights): Promise<number[]> {
  const ids = prompt.slice();
  const V = model.spec.vocab;
  for (let s = 0; s < steps; s++) {
    const logits = await computeLogits(model, [ids], { adapters: adapter ? [{ weights: adapter }] : [], device: 'cpu' });
    const last = logits.subarray((ids.length - 1) * V, ids.length * V);
    let best = 0;
    for (let i = 1; i < V; i++) if (last[i] > last[best]) best = i;
    ids.push(best);
  }
  return ids;
}
