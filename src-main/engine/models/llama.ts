/** LlamaForCausalLM (Llama 2/3, SmolLM, TinyLlama) and MistralForCausalLM without sliding window. */
import { GraftError } from '../errors.js';
import type { HfConfig } from '../io/hf-config.js';
import { baseSpec, type ModelSpec } from './spec.js';

export function llamaSpec(cfg: HfConfig, file: string): ModelSpec {
  if (cfg.architectures?.[0] === 'MistralForCausalLM' && cfg.sliding_window != null && cfg.use_sliding_window !== false) {
    const window = Number(cfg.sliding_window);
    if (window < (cfg.max_position_embeddings ?? 0)) {
      throw new GraftError('UNSUPPORTED', `${file}: Mistral sliding-window attention (window ${window}) is not supported`, { file, where: 'sliding_window' });
    }
  }
  return baseSpec(cfg, file);
}
