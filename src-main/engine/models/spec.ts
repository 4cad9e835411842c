/**
 * A model is data: the shapes and the block recipe of a decoder-only transformer, derived from its
 * config.json by one thin file per architecture. Graph builders read only this.
 */
import { GraftError } from '../errors.js';
import { printable } from '../printable.js';
import type { HfConfig } from '../io/hf-config.js';

export type RopeScaling =
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
  /** Every frequency divided by `factor` (Gemma 3's full-attention layers in the 4B and larger). */
  | { type: 'linear'; factor: number }
  /**
   * Phi-3.5 / Phi-4-mini: per-frequency divisors, `short` up to originalMaxPositions and `long`
   * beyond, and cos/sin scaled by attentionFactor. transformers switches per forward on the longest
   * position; Graft's tables switch on their length (the training length, or a chat's capacity).
   */
  | { type: 'longrope'; shortFactor: number[]; longFactor: number[]; originalMaxPositions: number; attentionFactor: number };

/** One RoPE: base and frequency scaling. */
export interface RopeSpec {
  theta: number;
  scaling: RopeScaling | null;
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
  /** Qwen3, Gemma 3: RMSNorm over each head of q and k before RoPE. */
  qkNorm: boolean;
  /**
   * Architecture differences the shared decoder reads (models/decoder.ts); baseSpec sets the Llama
   * values, one thin file per architecture sets its own.
   */
  /** Multiplier of the scaled dot product (1/√head_dim; Gemma: query_pre_attn_scalar^-½). */
  attnScale: number;
  /** Leading dims of each head that RoPE rotates (Phi-3 partial_rotary_factor); headDim = all. */
  rotaryDim: number;
  /** Layers that use no RoPE at all (SmolLM3's NoPE layers). */
  noRopeLayers: number[];
  /** Sliding-window attention: each query sees the last `window` keys, on `layers` only (Gemma 3). */
  sliding: { window: number; layers: number[]; rope: RopeSpec } | null;
  /** Phi-3: q/k/v in one qkv_proj and gate/up in one gate_up_proj (and LoRA targets them so). */
  fusedProjections: boolean;
  /** Embeddings are multiplied by this (Gemma: √hidden). */
  embedScale: number;
  /** Added to every RMSNorm weight (Gemma stores w for a scale of 1 + w). */
  normOffset: number;
  /** The MLP's gate activation. */
  mlpAct: 'silu' | 'gelu_tanh';
  /** Gemma 2/3: norms after attention and after the MLP (post_attention_layernorm, post_feedforward_layernorm) and pre_feedforward_layernorm before it. */
  sandwichNorms: boolean;
  /** cap·tanh(x/cap) on attention scores / final logits, where the config sets it (Gemma 2). */
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  bosId: number | null;
  eosIds: number[];
}

/** The RoPE of a config, or of one layer type's entry in rope_parameters (transformers 5's per-type form). */
export function ropeOf(cfg: HfConfig, file: string, layerType?: string): RopeSpec {
  const all = (cfg.rope_parameters ?? {}) as Record<string, unknown>;
  const typed = layerType ? (all[layerType] as HfConfig['rope_parameters'] | undefined) : undefined;
  const p = typed ?? (all.full_attention as HfConfig['rope_parameters'] | undefined) ?? cfg.rope_parameters ?? {};
  const s = typed ? null : ((cfg.rope_scaling ?? null) as Record<string, unknown> | null);
  const theta = Number(p.rope_theta ?? cfg.rope_theta ?? 10000);
  const type = String(p.rope_type ?? s?.rope_type ?? s?.type ?? 'default');
  if (type === 'default') return { theta, scaling: null };
  const src = (s && (s.rope_type ?? s.type) ? s : p) as Record<string, unknown>;
  const where = s && (s.rope_type ?? s.type) ? 'rope_scaling' : 'rope_parameters';
  // A missing or zero factor would make every frequency NaN or infinite: the model would run and print noise.
  const positive = (key: string, fallback?: number): number => {
    const v = src[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new GraftError('BAD_FILE', `${file}: ${where}.${key} is ${printable(JSON.stringify(v) ?? 'missing')}, not a positive number (rope type ${type})`, { file, where: `${where}.${key}` });
    }
    return v;
  };
  if (type === 'llama3') {
    const scaling = {
      type: 'llama3' as const,
      factor: positive('factor'),
      lowFreqFactor: positive('low_freq_factor', 1),
      highFreqFactor: positive('high_freq_factor', 4),
      originalMaxPositions: positive('original_max_position_embeddings', 8192),
    };
    if (scaling.highFreqFactor <= scaling.lowFreqFactor) {
      throw new GraftError('BAD_FILE', `${file}: ${where}.high_freq_factor must be above low_freq_factor`, { file, where: `${where}.high_freq_factor` });
    }
    return { theta, scaling };
  }
  if (type === 'linear') return { theta, scaling: { type: 'linear', factor: positive('factor') } };
  if (type === 'longrope' || type === 'su') return { theta, scaling: longrope(cfg, src, file) };
  throw new GraftError('UNSUPPORTED', `${file}: rope scaling type "${printable(type)}" is not supported (supported: default, linear, llama3, longrope)`, { file, where: 'rope_scaling' });
}

/** transformers' longrope parameters: factor from the context growth, attention factor √(1 + ln f / ln original). */
function longrope(cfg: HfConfig, src: Record<string, unknown>, file: string): RopeScaling {
  const list = (key: string) => {
    const v = src[key];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw new GraftError('BAD_FILE', `${file}: longrope needs ${key} as a list of numbers`, { file, where: key });
    return v as number[];
  };
  const maxPos = cfg.max_position_embeddings ?? 2048;
  const original = Number(src.original_max_position_embeddings ?? cfg.original_max_position_embeddings ?? maxPos);
  const factor = cfg.original_max_position_embeddings != null || src.factor == null ? maxPos / original : Number(src.factor);
  const attentionFactor = src.attention_factor != null ? Number(src.attention_factor) : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
  return { type: 'longrope', shortFactor: list('short_factor'), longFactor: list('long_factor'), originalMaxPositions: original, attentionFactor };
}

/** Shared reading of the fields every Llama-family config has; architecture files set the rest. */
export function baseSpec(cfg: HfConfig, file: string): ModelSpec {
  const heads = cfg.num_attention_heads;
  const rope = ropeOf(cfg, file);
  const eos = cfg.eos_token_id;
  const headDim = cfg.head_dim ?? cfg.hidden_size / heads;
  return {
    arch: cfg.architectures?.[0] ?? 'unknown',
    vocab: cfg.vocab_size,
    hidden: cfg.hidden_size,
    intermediate: cfg.intermediate_size,
    layers: cfg.num_hidden_layers,
    heads,
    kvHeads: cfg.num_key_value_heads ?? heads,
    headDim,
    eps: cfg.rms_norm_eps ?? 1e-6,
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    maxPositions: cfg.max_position_embeddings ?? 2048,
    tiedEmbeddings: cfg.tie_word_embeddings ?? false,
    qkvBias: cfg.attention_bias ?? false,
    qkNorm: false,
    attnScale: 1 / Math.sqrt(headDim),
    rotaryDim: headDim,
    noRopeLayers: [],
    sliding: null,
    fusedProjections: false,
    embedScale: 1,
    normOffset: 0,
    mlpAct: 'silu',
    sandwichNorms: false,
    attnSoftcap: null,
    finalSoftcap: null,
    bosId: cfg.bos_token_id ?? null,
    eosIds: eos == null ? [] : Array.isArray(eos) ? eos : [eos],
  };
}

/**
 * A sliding window over every layer from `sliding_window` (Phi-3, Mistral-style configs), or null
 * when there is none or it is no shorter than the context (then it masks nothing).
 */
export function slidingOf(cfg: HfConfig, base: ModelSpec, file: string): ModelSpec['sliding'] {
  const w = cfg.sliding_window;
  if (w == null || cfg.use_sliding_window === false) return null;
  const window = Number(w);
  if (!Number.isInteger(window) || window < 1) throw new GraftError('BAD_FILE', `${file}: sliding_window ${JSON.stringify(w)} is not a positive integer`, { file, where: 'sliding_window' });
  if (window >= base.maxPositions) return null;
  return { window, layers: Array.from({ length: base.layers }, (_, i) => i), rope: { theta: base.ropeTheta, scaling: base.ropeScaling } };
}
