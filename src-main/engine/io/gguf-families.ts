/**
 * What differs between the llama.cpp architectures Graft maps: the HF class, tensor stems that mean
 * something else than in Llama, whether the converter interleaved q/k rotary halves, shifted norm
 * weights, and the config fields its metadata carries (llama.cpp's converters: conversion/llama.py,
 * phi.py, gemma.py; runtime defaults from its src/models/*.cpp where the GGUF leaves them out).
 */
import type { GgufValue } from './gguf-types.js';
import type { HfConfig } from './hf-config.js';

type Metadata = Record<string, GgufValue>;

export interface GgufFamily {
  /** The Hugging Face class this architecture corresponds to. */
  hf: string;
  /** HF model_type, for configs made from GGUF metadata. */
  modelType: string;
  /** llama.cpp's LlamaModel converter (and subclasses) permutes q/k rows for interleaved RoPE. */
  permuteQK: boolean;
  /** Block tensor stems whose HF module differs from Llama's meaning. */
  blocks?: Record<string, string>;
  /** Added to every `*norm.weight` by the converter (Gemma 3 stores 1 + w). */
  normShift?: number;
  /** Config fields from this family's metadata (keys under `${arch}.`) and tensors. */
  config?: (md: Metadata, arch: string, base: HfConfig, tensors: Set<string>) => Partial<HfConfig>;
}

const num = (v: GgufValue | undefined): number | undefined => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined);

export const GGUF_FAMILIES: Record<string, GgufFamily> = {
  llama: { hf: 'LlamaForCausalLM', modelType: 'llama', permuteQK: true },
  qwen2: { hf: 'Qwen2ForCausalLM', modelType: 'qwen2', permuteQK: false },
  qwen3: { hf: 'Qwen3ForCausalLM', modelType: 'qwen3', permuteQK: false },
  // SmolLM3Model is a LlamaModel; llama.cpp puts RoPE off on every 4th layer (n_no_rope_layer_step = 4).
  smollm3: { hf: 'SmolLM3ForCausalLM', modelType: 'smollm3', permuteQK: true, config: () => ({ no_rope_layer_interval: 4 }) },
  phi3: {
    hf: 'Phi3ForCausalLM',
    modelType: 'phi3',
    permuteQK: false,
    blocks: { attn_qkv: 'self_attn.qkv_proj', ffn_up: 'mlp.gate_up_proj' },
    config: (md, arch, base) => {
      const rot = num(md[`${arch}.rope.dimension_count`]);
      const window = num(md[`${arch}.attention.sliding_window`]);
      return {
        partial_rotary_factor: rot ? rot / base.head_dim! : 1,
        // 0 marks "none" (Phi-4); otherwise every layer slides.
        sliding_window: window ? window : null,
        original_max_position_embeddings: num(md[`${arch}.rope.scaling.original_context_length`]),
      };
    },
  },
  gemma3: {
    hf: 'Gemma3ForCausalLM',
    modelType: 'gemma3_text',
    permuteQK: false,
    blocks: { ffn_norm: 'pre_feedforward_layernorm', post_attention_norm: 'post_attention_layernorm', post_ffw_norm: 'post_feedforward_layernorm' },
    normShift: 1,
    config: (md, arch, base) => {
      const window = num(md[`${arch}.attention.sliding_window`]);
      const pattern = md[`${arch}.attention.sliding_window_pattern`];
      const n = base.num_hidden_layers;
      // llama.cpp: a bool per layer (true = sliding) if given, else every 6th layer is full (its set_swa_pattern(6)).
      const every = num(pattern as GgufValue) ?? 6;
      const layerTypes = Array.from({ length: n }, (_, i) =>
        (Array.isArray(pattern) ? Boolean(pattern[i]) : i % every < every - 1) ? 'sliding_attention' : 'full_attention',
      );
      const heads = base.num_attention_heads;
      return {
        hidden_activation: 'gelu_pytorch_tanh',
        sliding_window: window || base.max_position_embeddings,
        layer_types: layerTypes,
        rope_local_base_freq: num(md[`${arch}.rope.freq_base_swa`]) ?? 10000,
        // llama.cpp's attention scale: 1/√head_dim, except the 27B (62 layers): 1/√(hidden/heads).
        query_pre_attn_scalar: n === 62 ? base.hidden_size / heads : base.head_dim,
        final_logit_softcapping: num(md[`${arch}.final_logit_softcapping`]) ?? null,
      };
    },
  },
};
