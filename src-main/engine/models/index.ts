import { GraftError } from '../errors.js';
import type { HfConfig } from '../io/hf-config.js';
import { supportedArchitectures } from '../io/model-families.js';
import { gemma3Spec } from './gemma3.js';
import { llamaSpec } from './llama.js';
import { phi3Spec } from './phi3.js';
import { qwen2Spec } from './qwen2.js';
import { qwen3Spec } from './qwen3.js';
import { smollm3Spec } from './smollm3.js';
import type { ModelSpec } from './spec.js';

/** Keys: io/model-families.ts's architectures (a test checks they are the same). */
export const ARCHITECTURES: Record<string, (cfg: HfConfig, file: string) => ModelSpec> = {
  LlamaForCausalLM: llamaSpec,
  MistralForCausalLM: llamaSpec,
  Qwen2ForCausalLM: qwen2Spec,
  Qwen3ForCausalLM: qwen3Spec,
  SmolLM3ForCausalLM: smollm3Spec,
  Phi3ForCausalLM: phi3Spec,
  Gemma3ForCausalLM: gemma3Spec,
};

export function specFromConfig(cfg: HfConfig, file: string): ModelSpec {
  const arch = cfg.architectures?.[0] ?? '(none)';
  const make = ARCHITECTURES[arch];
  if (!make) {
    throw new GraftError('UNSUPPORTED', `${file}: architecture ${arch} is not supported (supported: ${supportedArchitectures()})`, {
      file,
      where: 'architectures',
    });
  }
  return make(cfg, file);
}

export type { ModelSpec } from './spec.js';
