/**
 * Gemma3ForCausalLM (Gemma 3 text: 270M, 1B): embeddings scaled by √hidden, RMSNorm with (1 + w),
 * q/k norms, query_pre_attn_scalar, norms before and after both attention and MLP, GeGLU (tanh GELU),
 * and sliding-window layers (layer_types) with their own RoPE base (rope_parameters.sliding_attention,
 * or rope_local_base_freq in transformers 4 configs); soft-capping where the config sets it.
 */
import { GraftError } from '../errors.js';
import type { HfConfig } from '../io/hf-config.js';
import { baseSpec, ropeOf, type ModelSpec, type RopeSpec } from './spec.js';

export function gemma3Spec(cfg: HfConfig, file: string): ModelSpec {
  const base = baseSpec(cfg, file);
  const act = cfg.hidden_activation ?? cfg.hidden_act ?? 'gelu_pytorch_tanh';
  if (act !== 'gelu_pytorch_tanh') throw new GraftError('UNSUPPORTED', `${file}: hidden_activation ${JSON.stringify(act)} is not supported (gelu_pytorch_tanh)`, { file, where: 'hidden_activation' });
  if (cfg.use_bidirectional_attention) throw new GraftError('UNSUPPORTED', `${file}: bidirectional attention (an embedding model) is not supported`, { file, where: 'use_bidirectional_attention' });
  const pattern = Number(cfg.sliding_window_pattern ?? cfg._sliding_window_pattern ?? 6);
  const types = (cfg.layer_types as string[] | undefined) ?? Array.from({ length: base.layers }, (_, i) => ((i + 1) % pattern === 0 ? 'full_attention' : 'sliding_attention'));
  const perType = (cfg.rope_parameters as Record<string, unknown> | undefined)?.sliding_attention;
  const localRope: RopeSpec = perType ? ropeOf(cfg, file, 'sliding_attention') : { theta: Number(cfg.rope_local_base_freq ?? 10000), scaling: null };
  const softcap = (v: unknown) => (typeof v === 'number' && v > 0 ? v : null);
  return {
    ...base,
    tiedEmbeddings: cfg.tie_word_embeddings ?? true,
    qkNorm: true,
    attnScale: Number(cfg.query_pre_attn_scalar ?? base.headDim) ** -0.5,
    sliding: {
      window: Number(cfg.sliding_window ?? 4096),
      layers: types.flatMap((t, i) => (t === 'sliding_attention' ? [i] : [])),
      rope: localRope,
    },
    embedScale: Math.sqrt(base.hidden),
    normOffset: 1,
    mlpAct: 'gelu_tanh',
    sandwichNorms: true,
    attnSoftcap: softcap(cfg.attn_logit_softcapping),
    finalSoftcap: softcap(cfg.final_logit_softcapping),
  };
}
