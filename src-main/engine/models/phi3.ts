/**
 * Phi3ForCausalLM (Phi-3, Phi-3.5-mini, Phi-4-mini): Llama blocks whose checkpoint fuses q/k/v into
 * qkv_proj and gate/up into gate_up_proj (LoRA targets the fused projections, as PEFT names them),
 * partial rotary (partial_rotary_factor), longrope scaling, and a sliding window over every layer
 * where the config sets one shorter than the context.
 */
import type { HfConfig } from '../io/hf-config.js';
import { baseSpec, slidingOf, type ModelSpec } from './spec.js';

export function phi3Spec(cfg: HfConfig, file: string): ModelSpec {
  const base = baseSpec(cfg, file);
  const factor = Number(cfg.rope_parameters?.partial_rotary_factor ?? cfg.partial_rotary_factor ?? 1);
  return {
    ...base,
    fusedProjections: true,
    rotaryDim: Math.floor(base.headDim * factor),
    sliding: slidingOf(cfg, base, file),
  };
}
