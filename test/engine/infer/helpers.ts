import type { AdapterWeights } from '../../../src-main/engine/adapters/adapter-weights.js';
import { loraSlots } from '../../../src-main/engine/adapters/lora.js';
import type { LoraTarget } from '../../../src-main/engine/adapters/lora-config.js';
import { SeededRng } from '../../../src-main/engine/data/rng.js';
import type { ModelSpec } from '../../../src-main/engine/models/spec.js';

/** An adapter with random A and non-zero B, so it visibly changes the model. */
export function randomAdapter(spec: ModelSpec, r: number, targets: LoraTarget[], seed: number, std = 1): AdapterWeights {
  const rng = new SeededRng(seed);
  const tensors = new Map<string, Float32Array>();
  for (const s of loraSlots(spec, { r, targets })) {
    tensors.set(s.peftA, Float32Array.from({ length: s.shapeA[0] * s.shapeA[1] }, () => (rng.next() * 2 - 1) * std));
    tensors.set(s.peftB, Float32Array.from({ length: s.shapeB[0] * s.shapeB[1] }, () => (rng.next() * 2 - 1) * std));
  }
  return { r, alpha: 2 * r, rslora: false, targets, tensors };
}
