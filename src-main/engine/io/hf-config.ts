import { MODEL_FAMILIES } from './model-families.js';

/**
 * A parsed config.json, typed loosely: the fields Graft's model builders read are named, anything else
 * passes through. Rope settings appear as `rope_theta` + `rope_scaling` (transformers 4) or
 * `rope_parameters` (transformers 5); readers should accept either.
 */
export interface HfConfig {
  architectures?: string[];
  model_type?: string;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  rms_norm_eps?: number;
  rope_theta?: number;
  rope_parameters?: { rope_theta?: number; rope_type?: string; [k: string]: unknown };
  rope_scaling?: { rope_type?: string; type?: string; factor?: number; [k: string]: unknown } | null;
  max_position_embeddings?: number;
  vocab_size: number;
  tie_word_embeddings?: boolean;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  pad_token_id?: number | null;
  attention_bias?: boolean;
  hidden_act?: string;
  torch_dtype?: string;
  dtype?: string;
  [key: string]: unknown;
}

/** The architectures Graft's engine builds (config.json `architectures[0]`), from io/model-families.ts. */
export const SUPPORTED_ARCHITECTURES: readonly string[] = MODEL_FAMILIES.flatMap((f) => f.architectures);
