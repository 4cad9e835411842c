/** Qwen3ForCausalLM: Llama blocks with a per-head RMSNorm on q and k before RoPE. */
import type { HfConfig } from '../io/hf-config.js';
import { baseSpec, type ModelSpec } from './spec.js';

export function qwen3Spec(cfg: HfConfig, file: string): ModelSpec {
  return { ...baseSpec(cfg, file), qkNorm: true };
}
