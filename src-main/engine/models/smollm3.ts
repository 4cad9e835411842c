/** SmolLM3ForCausalLM: Llama blocks with RoPE switched off on some layers (no_rope_layers[i] = 0: a NoPE layer). */
import type { HfConfig } from '../io/hf-config.js';
import { baseSpec, slidingOf, type ModelSpec } from './spec.js';

export function smollm3Spec(cfg: HfConfig, file: string): ModelSpec {
  const base = baseSpec(cfg, file);
  const flags = cfg.no_rope_layers as number[] | undefined;
  // transformers' default when the list is absent: every `no_rope_layer_interval`-th layer (4) is NoPE.
  const interval = Number(cfg.no_rope_layer_interval ?? 4);
  const layers = Array.from({ length: base.layers }, (_, i) => i);
  const noRopeLayers = flags ? layers.filter((i) => !flags[i]) : layers.filter((i) => (i + 1) % interval === 0);
  return { ...base, noRopeLayers, sliding: cfg.use_sliding_window ? slidingOf(cfg, base, file) : null };
}
