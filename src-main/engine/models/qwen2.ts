/** Qwen2ForCausalLM: Llama blocks with q/k/v biases. */
import type { HfConfig } from '../io/hf-config.js';
import { baseSpec, type ModelSpec } from './spec.js';

export function qwen2Spec(cfg: HfConfig, file: string): ModelSpec {
  return { ...baseSpec(cfg, file), qkvBias: true };
}
