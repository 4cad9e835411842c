/**
 * A model's numbers checked against its own tensors before any graph is built: a config that disagrees with
 * the weights would otherwise surface deep in the engine (a reshape, a transpose) as an INTERNAL error with
 * no file name, or drive work by a number the file cannot back (2^31 layers). Every refusal names the file
 * and the key or tensor.
 */
import { GraftError } from '../errors.js';
import { printable } from '../printable.js';
import type { HfConfig } from './hf-config.js';

/** What the check reads of a weight source (a subset of WeightSource, so it has no cycle with it). */
export interface CheckedSource {
  readonly path: string;
  readonly config: HfConfig;
  names(): string[];
  shape(name: string): number[];
  dtype(name: string): string;
}

/** Integer dtypes hold indices or quantized codes without their scales: never a weight to compute with. */
const INTEGER_DTYPES = new Set(['I8', 'I16', 'I32', 'I64', 'U8', 'U16', 'U32', 'U64', 'BOOL']);

// Bounds far above any released model, far below what would exhaust memory before a shape check could fail.
const MAX_DIM = 1 << 20;
const MAX_VOCAB = 1 << 23;
const MAX_POSITIONS = 1 << 24;

/** For a GGUF, the config was synthesized from these metadata keys: name the key the user's file holds. */
const GGUF_KEYS: Record<string, string> = {
  hidden_size: 'embedding_length',
  intermediate_size: 'feed_forward_length',
  num_hidden_layers: 'block_count',
  num_attention_heads: 'attention.head_count',
  num_key_value_heads: 'attention.head_count_kv',
  head_dim: 'attention.key_length',
  rms_norm_eps: 'attention.layer_norm_rms_epsilon',
  rope_theta: 'rope.freq_base',
  max_position_embeddings: 'context_length',
  partial_rotary_factor: 'rope.dimension_count',
};
/** Keys a GGUF holds outside its architecture's namespace. */
const GGUF_GLOBAL_KEYS: Record<string, string> = {
  vocab_size: 'tokenizer.ggml.tokens (count)',
  bos_token_id: 'tokenizer.ggml.bos_token_id',
  eos_token_id: 'tokenizer.ggml.eos_token_id',
};

export function checkWeights(src: CheckedSource): void {
  const file = src.path;
  const cfg = src.config;
  const gguf = file.toLowerCase().endsWith('.gguf');
  const keyName = (key: string) => (!gguf ? key : (GGUF_GLOBAL_KEYS[key] ?? `${cfg.model_type}.${GGUF_KEYS[key] ?? key}`));
  const bad = (msg: string, where: string) => new GraftError('BAD_FILE', `${file}: ${msg}`, { file, where });

  const int = (key: keyof HfConfig & string, max: number, optional = false): number | undefined => {
    const v = cfg[key];
    if (v === undefined || v === null) {
      if (optional) return undefined;
      throw bad(`${keyName(key)} is missing`, keyName(key));
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
      throw bad(`${keyName(key)} is ${printable(String(v))}, not a whole number from 1 to ${max}`, keyName(key));
    }
    return v;
  };
  const hidden = int('hidden_size', MAX_DIM)!;
  const inter = int('intermediate_size', MAX_DIM)!;
  const layers = int('num_hidden_layers', MAX_DIM)!;
  const heads = int('num_attention_heads', MAX_DIM)!;
  const kvHeads = int('num_key_value_heads', MAX_DIM, true) ?? heads;
  const vocab = int('vocab_size', MAX_VOCAB)!;
  const headDim = cfg.head_dim ?? hidden / heads;
  if (!Number.isInteger(headDim) || headDim < 1 || headDim > MAX_DIM) {
    throw bad(`${keyName('head_dim')} ${printable(String(headDim))} is not a whole number (hidden size ${hidden} / ${heads} heads)`, keyName('head_dim'));
  }
  if (heads % kvHeads !== 0) throw bad(`${keyName('num_attention_heads')} ${heads} is not a multiple of ${keyName('num_key_value_heads')} ${kvHeads}`, keyName('num_key_value_heads'));
  for (const key of ['rms_norm_eps', 'rope_theta'] as const) {
    const v = cfg[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw bad(`${keyName(key)} is ${printable(String(v))}, not a positive number`, keyName(key));
  }
  // The context length sizes the RoPE tables and the KV cache: a string or 0 would fail far from here.
  int('max_position_embeddings', MAX_POSITIONS, true);
  const rotary = cfg.partial_rotary_factor;
  if (rotary !== undefined && rotary !== null) {
    const dims = typeof rotary === 'number' ? headDim * rotary : NaN;
    if (!(typeof rotary === 'number' && rotary > 0 && rotary <= 1 && Number.isInteger(dims) && dims % 2 === 0)) {
      const shown = gguf && typeof rotary === 'number' ? String(Math.round(rotary * headDim)) : printable(JSON.stringify(rotary));
      throw bad(`${keyName('partial_rotary_factor')} is ${shown}, but RoPE rotates an even number of dimensions, at most the head size ${headDim}`, keyName('partial_rotary_factor'));
    }
  }
  // Token ids the engine feeds (BOS) or stops at (EOS) must be rows of the embedding: an id beyond them fails
  // inside the graph (a Gather out of range), a string is silently never matched.
  for (const key of ['bos_token_id', 'eos_token_id'] as const) {
    const v = cfg[key];
    if (v === undefined || v === null) continue;
    const ids = Array.isArray(v) ? v : [v];
    if (ids.some((id) => typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocab)) {
      throw bad(`${keyName(key)} is ${printable(JSON.stringify(v))}, not a token id below the vocabulary size ${vocab}`, keyName(key));
    }
  }

  // The layers stored must be exactly 0..layers-1: fewer would fail mid-graph, more would be silently dropped.
  const stored = new Set<number>();
  for (const n of src.names()) {
    const m = /^model\.layers\.(\d+)\./.exec(n);
    if (m) stored.add(Number(m[1]));
  }
  const top = stored.size ? Math.max(...stored) + 1 : 0;
  const layerKey = keyName('num_hidden_layers');
  if (top !== layers || stored.size !== layers) {
    throw bad(`${layerKey} says ${layers} layers but the file stores ${stored.size === top ? top : `layers ${[...stored].sort((a, b) => a - b).slice(0, 8).join(', ')}…`}`, layerKey);
  }

  // Untied embeddings need their own output matrix; without it the embedding would stand in silently.
  if (cfg.tie_word_embeddings === false && !src.names().includes('lm_head.weight')) {
    throw new GraftError('NOT_FOUND', `${file}: tie_word_embeddings is false but the weights have no lm_head.weight`, { file, where: 'lm_head.weight' });
  }

  const expected: Record<string, number[]> = {
    'model.embed_tokens.weight': [vocab, hidden],
    'lm_head.weight': [vocab, hidden],
    'model.norm.weight': [hidden],
  };
  const perLayer: Record<string, number[]> = {
    'input_layernorm.weight': [hidden],
    'post_attention_layernorm.weight': [hidden],
    'self_attn.q_proj.weight': [heads * headDim, hidden],
    'self_attn.k_proj.weight': [kvHeads * headDim, hidden],
    'self_attn.v_proj.weight': [kvHeads * headDim, hidden],
    'self_attn.o_proj.weight': [hidden, heads * headDim],
    'self_attn.q_proj.bias': [heads * headDim],
    'self_attn.k_proj.bias': [kvHeads * headDim],
    'self_attn.v_proj.bias': [kvHeads * headDim],
    'self_attn.q_norm.weight': [headDim],
    'self_attn.k_norm.weight': [headDim],
    'mlp.gate_proj.weight': [inter, hidden],
    'mlp.up_proj.weight': [inter, hidden],
    'mlp.down_proj.weight': [hidden, inter],
  };
  for (const name of src.names()) {
    const m = /^model\.layers\.\d+\.(.+)$/.exec(name);
    const want = m ? perLayer[m[1]] : expected[name];
    const dtype = src.dtype(name);
    if (INTEGER_DTYPES.has(dtype)) throw bad(`tensor ${printable(name)} is stored as ${dtype}, an integer type, not weights`, name);
    if (!want) continue; // a tensor this check does not know (another family's): its builder checks it
    const shape = src.shape(name);
    if (shape.length !== want.length || shape.some((d, i) => d !== want[i])) {
      throw bad(`tensor ${printable(name)} has shape [${shape.join(', ')}], but the config makes it [${want.join(', ')}]`, name);
    }
  }
}
