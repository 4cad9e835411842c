/** A PEFT adapter folder as AdapterWeights for the graphs (validated: every tensor must be a LoRA factor Graft applies). */
import type { AdapterWeights } from './adapter-weights.js';
import { readAdapterWeights } from './compat.js';

export function loadAdapter(dir: string): AdapterWeights {
  return readAdapterWeights(dir);
}
