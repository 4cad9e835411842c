/** Folding LoRA into the base: W' = W + s·B·A per adapted projection, in fp32. */
import type { LoadedModel } from '../model.js';
import { readWeight } from '../models/weights.js';
import type { AdapterWeights } from './adapter-weights.js';
import { loraScale } from './lora-config.js';
import { loraSlots } from './lora.js';

/** Merged weights of every adapted projection, by HF name (the other tensors are unchanged). */
export function mergedWeights(model: LoadedModel, adapter: AdapterWeights, scale = 1): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const s = loraScale(adapter) * scale;
  for (const slot of loraSlots(model.spec, adapter)) {
    const name = slot.peftA.replace('base_model.model.', '').replace('.lora_A.weight', '.weight');
    const a = adapter.tensors.get(slot.peftA)!;
    const b = adapter.tensors.get(slot.peftB)!;
    const [r, inDim] = slot.shapeA;
    const outDim = slot.shapeB[0];
    const w = Float32Array.from(out.get(name) ?? readWeight(model.source, name));
    for (let o = 0; o < outDim; o++) {
      for (let k = 0; k < r; k++) {
        const bk = s * b[o * r + k];
        if (bk === 0) continue;
        const row = o * inDim;
        const arow = k * inDim;
        for (let i = 0; i < inDim; i++) w[row + i] += bk * a[arow + i];
      }
    }
    out.set(name, w);
  }
  return out;
}
