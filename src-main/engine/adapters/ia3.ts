/**
 * IA³ as PEFT's IA3Config computes it: a learned vector l per target. On an attention projection
 * (k, v) it scales the output, bias included: y = (W·x + b) ⊙ l, with l saved as [out, 1]. On a
 * feed-forward target (down) it scales the input: y = W·(x ⊙ l) + b, with l saved as [1, in].
 * Init is all ones, so the block is unchanged until training moves l. Merging is exact: rows (or
 * columns) of W times l, and for an attention target the bias too.
 */
import type { Graph, Value } from '../graph/ir.js';
import type { WeightSource } from '../io/model-source.js';
import type { ModelSpec } from '../models/spec.js';
import { readWeight } from '../models/weights.js';
import * as op from '../ops/index.js';
import { type LoraTarget, TARGET_MODULE } from './lora-config.js';
import { targetDims } from './lora.js';
import { type MethodAdapter, peftModule, size } from './method.js';
import { IA3_DEFAULT_TARGETS } from './method-kinds.js';

export interface Ia3Config {
  targets: LoraTarget[];
  /** Targets whose input (not output) is scaled; PEFT's feedforward_modules. */
  feedforward: LoraTarget[];
}

export const IA3_DEFAULTS: Ia3Config = { targets: [...IA3_DEFAULT_TARGETS], feedforward: ['down'] };

const tensorName = (layer: number, t: LoraTarget) => `${peftModule(layer, TARGET_MODULE[t])}.ia3_l`;

export function ia3Method(spec: ModelSpec, cfg: Ia3Config = IA3_DEFAULTS): MethodAdapter {
  const ff = new Set(cfg.feedforward);
  const slots: { layer: number; target: LoraTarget; name: string; shape: number[] }[] = [];
  for (let layer = 0; layer < spec.layers; layer++)
    for (const target of cfg.targets) {
      const d = targetDims(spec, target);
      slots.push({ layer, target, name: tensorName(layer, target), shape: ff.has(target) ? [1, d.in] : [d.out, 1] });
    }
  const params = slots.map((s) => ({ name: s.name, shape: s.shape }));
  return {
    kind: 'ia3',
    spec,
    params,
    virtualTokens: 0,
    hooks(g: Graph, values: ReadonlyMap<string, Value>) {
      return {
        linear: (layer, target, x, frozen) => {
          if (!cfg.targets.includes(target)) return null;
          const l = values.get(tensorName(layer, target))!;
          const vec = op.reshape(g, l, [size(l.shape)]);
          return ff.has(target) ? frozen.apply(op.mul(g, x, vec)) : op.mul(g, frozen.apply(x), vec);
        },
      };
    },
    init: () => new Map(params.map((p) => [p.name, new Float32Array(size(p.shape)).fill(1)])),
    merge(source: WeightSource, tensors) {
      const out = new Map<string, Float32Array>();
      for (const s of slots) {
        const l = tensors.get(s.name)!;
        const wName = `model.layers.${s.layer}.${TARGET_MODULE[s.target]}.weight`;
        const w = Float32Array.from(readWeight(source, wName));
        const { in: inF } = targetDims(spec, s.target);
        for (let i = 0; i < w.length; i++) w[i] *= ff.has(s.target) ? l[i % inF] : l[Math.floor(i / inF)];
        out.set(wName, w);
        const bName = wName.replace(/weight$/, 'bias');
        if (!ff.has(s.target) && source.has(bName)) out.set(bName, readWeight(source, bName).map((b, o) => b * l[o]));
      }
      return out;
    },
    peftConfig: () => ({
      peft_type: 'IA3',
      task_type: 'CAUSAL_LM',
      target_modules: cfg.targets.map((t) => TARGET_MODULE[t].split('.')[1]),
      feedforward_modules: cfg.feedforward.map((t) => TARGET_MODULE[t].split('.')[1]),
      fan_in_fan_out: false,
      init_ia3_weights: true,
      inference_mode: true,
    }),
  };
}
