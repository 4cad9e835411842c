import type { LoraConfig } from '../adapters/lora-config.js';
import { targetsFor } from '../adapters/lora.js';
import type { MethodAdapter } from '../adapters/method.js';
import { buildMethod } from '../adapters/method-options.js';
import type { ModelSpec } from '../models/spec.js';
import { alphaOf, type MethodOptions } from '../options/train.js';

/**
 * What a run adapts on this model: the LoRA layout, with the requested targets as the model names its
 * projections (q/k/v → qkv on Phi-3), and the adapter of a method other than LoRA/QLoRA (null for those).
 */
export function planMethod(o: MethodOptions, spec: ModelSpec): { lora: LoraConfig; method: MethodAdapter | null } {
  const lora: LoraConfig = { r: o.rank, alpha: alphaOf(o), dropout: o.dropout, targets: targetsFor(spec, o.targets), rslora: o.rslora };
  const method = buildMethod(o.method, spec, {
    rank: lora.r,
    alpha: lora.alpha,
    targets: lora.targets,
    rslora: lora.rslora,
    ia3Targets: o.ia3Targets,
    virtualTokens: o.virtualTokens,
    reductionFactor: o.reductionFactor ?? undefined,
    bottleneckSize: o.bottleneckSize ?? undefined,
    nonLinearity: o.nonLinearity === 'default' ? undefined : o.nonLinearity,
    adapterScaling: o.adapterScaling ?? undefined,
    fuseAdapters: o.fuseAdapters
      .split(',')
      .map((d) => d.trim())
      .filter(Boolean),
    adapterDrop: o.adapterDrop,
  });
  return { lora, method };
}
