/**
 * A model is data: the shapes and the block recipe of a decoder-only transformer, derived from its
 * config.json by one thin file per architecture. Graph builders read only this.
 */
import { GraftError } from '../errors.js';
import type { HfConfig } from '../io/hf-config.js';

export interface RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

export interface ModelSpec {
  arch: string;
  vocab: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  maxPositions: number;
  tiedEmbeddings: boolean;
  /** Qwen2: q/k/v projections have biases. */
  qkvBias: boolean;
  /** Qwen3: RMSNorm over each head of q and k before RoPE. */
  qkNorm: boolean;
  bosId: number | null;
  eosIds: number[];
}

function ropeOf(cfg: HfConfig, file: string): { theta: number; scaling: RopeScaling | null } {
  const p = cfg.rope_parameters ?? {};
  const s = (cfg.rope_scaling ?? null) as Record<string, unknown> | null;
  const theta = Number(p.rope_theta ?? cfg.rope_theta ?? 10000);
  const type = String(p.rope_type ?? s?.rope_type ?? s?.type ?? 'default');
  if (type === 'default') return { theta, scaling: null };
  const src = (s && (s.rope_type ?? s.type) ? s : p) as Record<string, unknown>;
  if (type === 'llama3') {
    return {
      theta,
      scaling: {
        type: 'llama3',
        factor: Number(src.factor),
        lowFreqFactor: Number(src.low_freq_factor ?? 1),
        highFreqFactor: Number(src.high_freq_factor ?? 4),
        originalMaxPositions: Number(src.original_max_position_embeddings ?? 8192),
      },
    };
  }
  throw new GraftError('UNSUPPORTED', `${file}: rope scaling type "${type}" is not supported (supported: default, llama3)`, { file, where: 'rope_scaling' });
}

/** Shared reading of the fields every Llama-family config has; architecture files set the rest. */
export function baseSpec(cfg: HfConfig, file: string): ModelSpec {
  const heads = cfg.num_attention_heads;
  const rope = ropeOf(cfg, file);
  const eos = cfg.eos_token_id;
  return {
    arch: cfg.architectures?.[0] ?? 'unknown',
    vocab: cfg.vocab_size,
    hidden: cfg.hidden_size,
    intermediate: cfg.intermediate_size,
    layers: cfg.num_hidden_layers,
    heads,
    kvHeads: cfg.num_key_value_heads ?? heads,
    headDim: cfg.head_dim ?? cfg.hidden_size / heads,
    eps: cfg.rms_norm_eps ?? 1e-6,
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    maxPositions: cfg.max_position_embeddings ?? 2048,
    tiedEmbeddings: cfg.tie_word_embeddings ?? false,
    qkvBias: cfg.attention_bias ?? false,
    qkNorm: false,
    bosId: cfg.bos_token_id ?? null,
    eosIds: eos == null ? [] : Array.isArray(eos) ? eos : [eos],
  };
}
