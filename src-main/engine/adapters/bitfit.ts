/**
 * BitFit: only bias vectors train. Every targeted projection gets a trainable bias b (named as the HF bias,
 * e.g. model.layers.0.self_attn.q_proj.bias): where the base has one (Qwen2's q/k/v) it starts as the base's
 * bias and replaces it, where it has none (Llama, every o/MLP projection) it starts at zero, which adds
 * nothing, so the model is unchanged at init. The trained biases merge exactly only into a base that has them all.
 * (Training the norm weights as well is not offered yet.)
 */
import type { Graph, Value } from '../graph/ir.js';
import type { WeightSource } from '../io/model-source.js';
import type { ModelSpec } from '../models/spec.js';
import { readWeight } from '../models/weights.js';
import * as op from '../ops/index.js';
import { LORA_TARGETS, type LoraTarget, TARGET_MODULE } from './lora-config.js';
import { targetDims } from './lora.js';
import type { MethodAdapter } from './method.js';

export interface BitfitConfig {
  targets: LoraTarget[];
}

export const biasName = (layer: number, t: LoraTarget) => `model.layers.${layer}.${TARGET_MODULE[t]}.bias`;

export function bitfitMethod(spec: ModelSpec, cfg: BitfitConfig = { targets: [...LORA_TARGETS] }): MethodAdapter {
  const params: { name: string; shape: number[] }[] = [];
  for (let layer = 0; layer < spec.layers; layer++) for (const t of cfg.targets) params.push({ name: biasName(layer, t), shape: [targetDims(spec, t).out] });
  const wanted = new Set(params.map((p) => p.name));
  return {
    kind: 'bitfit',
    spec,
    params,
    virtualTokens: 0,
    hooks(g: Graph, values: ReadonlyMap<string, Value>) {
      return {
        linear: (layer, target, x, frozen) => {
          const b = values.get(biasName(layer, target));
          return b ? op.add(g, frozen.apply(x, false), b) : null;
        },
      };
    },
    init: (source: WeightSource) => new Map(params.map((p) => [p.name, source.has(p.name) ? Float32Array.from(readWeight(source, p.name)) : new Float32Array(p.shape[0])])),
    // Exact only where the base already has those biases: the decoder reads a bias only where the architecture has one.
    merge(source, tensors) {
      const missing = params.find((p) => !source.has(p.name));
      if (missing) return { refused: `the base has no ${missing.name}; a merged model would need bias tensors its architecture does not read` };
      return new Map([...tensors].filter(([n]) => wanted.has(n)));
    },
    peftConfig: () => ({ graft_method: 'bitfit', target_modules: cfg.targets.map((t) => TARGET_MODULE[t].split('.')[1]) }),
  };
}
