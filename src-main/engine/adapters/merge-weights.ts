/** Folding LoRA into the base in memory (W' = W + s·B·A), as overrides for graphs: zero-overhead inference. */
import type { LoadedModel } from '../model.js';
import { readWeight } from '../models/weights.js';
import type { AdapterWeights } from './adapter-weights.js';
import { baseWeightName } from './compat.js';
import { loraScale } from './lora-config.js';
import { loraSlots } from './lora.js';
import { mergedWeight } from './merge.js';

/** Merged weights of every adapted projection, by HF name (the other tensors are unchanged). */
export function mergedWeights(model: LoadedModel, adapter: AdapterWeights, scale = 1): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const s = loraScale(adapter) * scale;
  for (const slot of loraSlots(model.spec, adapter)) {
    const name = baseWeightName(slot.layer, slot.target);
    const w = out.get(name) ?? readWeight(model.source, name);
    out.set(name, mergedWeight(w, adapter.tensors.get(slot.peftA)!, adapter.tensors.get(slot.peftB)!, slot.shapeB[0], slot.shapeA[1], adapter.r, s));
  }
  return out;
}
