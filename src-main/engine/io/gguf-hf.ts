import { GraftError } from '../errors.js';
import { GGUF_FAMILIES } from './gguf-families.js';
import type { GgufValue } from './gguf-types.js';
import type { HfConfig } from './hf-config.js';

/** llama.cpp tensor name stems inside a block -> Hugging Face module paths under model.layers.N. */
const BLOCK_MAP: Record<string, string> = {
  attn_norm: 'input_layernorm',
  ffn_norm: 'post_attention_layernorm',
  attn_q: 'self_attn.q_proj',
  attn_k: 'self_attn.k_proj',
  attn_v: 'self_attn.v_proj',
  attn_output: 'self_attn.o_proj',
  attn_q_norm: 'self_attn.q_norm',
  attn_k_norm: 'self_attn.k_norm',
  ffn_gate: 'mlp.gate_proj',
  ffn_up: 'mlp.up_proj',
  ffn_down: 'mlp.down_proj',
};
const TOP_MAP: Record<string, string> = {
  token_embd: 'model.embed_tokens',
  output_norm: 'model.norm',
  output: 'lm_head',
};
const HF_TOP = Object.fromEntries(Object.entries(TOP_MAP).map(([k, v]) => [v, k]));

/** Block stems of one architecture: Llama's, with the family's own meanings on top (Gemma 3's ffn_norm is its pre-MLP norm). */
const blockMap = (arch: string): Record<string, string> => ({ ...BLOCK_MAP, ...GGUF_FAMILIES[arch]?.blocks });

/** GGUF architectures Graft maps, with the HF class each corresponds to. */
export const GGUF_ARCHITECTURES: Record<string, string> = Object.fromEntries(Object.entries(GGUF_FAMILIES).map(([k, f]) => [k, f.hf]));

/** `blk.3.attn_q.weight` -> `model.layers.3.self_attn.q_proj.weight` (in `arch`'s meaning); null for tensors with no HF counterpart (rope_freqs). */
export function ggufToHfName(name: string, arch = 'llama'): string | null {
  const blk = /^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$/.exec(name);
  if (blk) {
    const m = blockMap(arch)[blk[2]];
    return m ? `model.layers.${blk[1]}.${m}.${blk[3]}` : null;
  }
  const top = /^([a-z_]+)\.(weight|bias)$/.exec(name);
  if (top && TOP_MAP[top[1]]) return `${TOP_MAP[top[1]]}.${top[2]}`;
  return null;
}

/** The inverse of ggufToHfName; the suffix after the module path (weight, bias, lora_A.weight...) is passed through. */
export function hfToGgufName(name: string, arch = 'llama'): string | null {
  const layer = /^model\.layers\.(\d+)\.([a-z_]+\.[a-z_]+|[a-z_]+)\.(.+)$/.exec(name);
  if (layer) {
    const stem = Object.entries(blockMap(arch)).find(([, hf]) => hf === layer[2])?.[0];
    return stem ? `blk.${layer[1]}.${stem}.${layer[3]}` : null;
  }
  for (const [hf, g] of Object.entries(HF_TOP)) if (name.startsWith(`${hf}.`)) return `${g}${name.slice(hf.length)}`;
  return null;
}

/**
 * llama.cpp's Llama converter interleaves the two rotary halves of each head:
 * permute(w, n) = w.reshape(n, 2, rows/n/2, ...).swapaxes(1, 2). This returns the HF row order, i.e.
 * hf row h*hd + j*half + i  <-  gguf row h*hd + i*2 + j. Works for weights ([rows, cols]) and biases (cols = 1).
 */
export function unpermuteRows(w: Float32Array, rows: number, cols: number, nHead: number): Float32Array {
  return permuteRowsImpl(w, rows, cols, nHead, false);
}

/** The converter's own permutation (HF -> GGUF), for exporting Q/K tensors (and LoRA B of q/k) to llama.cpp. */
export function permuteRows(w: Float32Array, rows: number, cols: number, nHead: number): Float32Array {
  return permuteRowsImpl(w, rows, cols, nHead, true);
}

function permuteRowsImpl(w: Float32Array, rows: number, cols: number, nHead: number, toGguf: boolean): Float32Array {
  if (rows % (2 * nHead) !== 0) throw new GraftError('BAD_INPUT', `cannot (un)permute ${rows} rows into ${nHead} heads of rotary pairs`);
  const hd = rows / nHead, half = hd / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHead; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const hfRow = h * hd + j * half + i, ggRow = h * hd + i * 2 + j;
        const [src, dst] = toGguf ? [hfRow, ggRow] : [ggRow, hfRow];
        out.set(w.subarray(src * cols, (src + 1) * cols), dst * cols);
      }
    }
  }
  return out;
}

function num(md: Record<string, GgufValue>, key: string): number | undefined {
  let v = md[key];
  if (Array.isArray(v)) v = v[0]; // per-layer arrays (e.g. head_count_kv): Graft supports uniform layers
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
}

/** A token id key; llama.cpp writes 0xFFFFFFFF (-1 as u32) for "none". */
function tokenId(md: Record<string, GgufValue>, key: string): number | null {
  const v = num(md, key);
  return v === undefined || v === 0xffffffff || v === -1 ? null : v;
}

/** An HF-style config.json object from GGUF metadata, so one model builder serves both formats. */
export function configFromGguf(
  md: Record<string, GgufValue>,
  tensorNames: Set<string>,
  file: string,
  ropeFreqs?: Float32Array,
  longrope?: { long: Float32Array; short: Float32Array },
): HfConfig {
  const arch = md['general.architecture'];
  if (typeof arch !== 'string' || !GGUF_ARCHITECTURES[arch]) {
    throw new GraftError('UNSUPPORTED', `${file}: GGUF architecture ${JSON.stringify(arch)} is not supported (supported: ${Object.keys(GGUF_ARCHITECTURES).join(', ')})`, { file, where: 'general.architecture' });
  }
  const need = (k: string): number => {
    const v = num(md, `${arch}.${k}`);
    if (v === undefined) throw new GraftError('BAD_FILE', `${file}: metadata ${arch}.${k} is missing`, { file, where: `${arch}.${k}` });
    return v;
  };
  const hidden = need('embedding_length');
  const heads = need('attention.head_count');
  const kvHeads = num(md, `${arch}.attention.head_count_kv`) ?? heads;
  const tokens = md['tokenizer.ggml.tokens'];
  const ropeTheta = num(md, `${arch}.rope.freq_base`) ?? 10000;
  const config: HfConfig = {
    architectures: [GGUF_ARCHITECTURES[arch]],
    model_type: GGUF_FAMILIES[arch].modelType,
    hidden_size: hidden,
    intermediate_size: need('feed_forward_length'),
    num_hidden_layers: need('block_count'),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: num(md, `${arch}.attention.key_length`) ?? hidden / heads,
    rms_norm_eps: num(md, `${arch}.attention.layer_norm_rms_epsilon`) ?? 1e-5,
    rope_theta: ropeTheta,
    rope_parameters: { rope_theta: ropeTheta, rope_type: 'default' },
    max_position_embeddings: num(md, `${arch}.context_length`) ?? 2048,
    vocab_size: Array.isArray(tokens) ? tokens.length : (num(md, `${arch}.vocab_size`) ?? 0),
    tie_word_embeddings: !tensorNames.has('output.weight'),
    bos_token_id: tokenId(md, 'tokenizer.ggml.bos_token_id'),
    eos_token_id: tokenId(md, 'tokenizer.ggml.eos_token_id'),
    attention_bias: tensorNames.has('blk.0.attn_q.bias'),
    hidden_act: 'silu',
  };
  const scaling = md[`${arch}.rope.scaling.type`];
  if (scaling === 'linear' || scaling === 'yarn') {
    const factor = num(md, `${arch}.rope.scaling.factor`) ?? 1;
    config.rope_scaling = { rope_type: scaling, type: scaling, factor };
    config.rope_parameters = { ...config.rope_parameters, rope_type: scaling, factor };
  }
  Object.assign(config, GGUF_FAMILIES[arch].config?.(md, arch, config, tensorNames));
  // Families without partial RoPE rotate the whole head; llama.cpp refuses any other n_rot for them too.
  const rot = num(md, `${arch}.rope.dimension_count`);
  if (rot !== undefined && config.partial_rotary_factor === undefined && rot !== config.head_dim) {
    const key = `${arch}.rope.dimension_count`;
    throw new GraftError('BAD_FILE', `${file}: ${key} is ${rot}, but ${arch} rotates the whole head (${config.head_dim} dimensions)`, { file, where: key });
  }
  if (longrope) {
    // Phi-3's converter keeps longrope as the two factor tensors plus the attention factor.
    config.rope_parameters = {
      rope_theta: ropeTheta,
      rope_type: 'longrope',
      long_factor: [...longrope.long],
      short_factor: [...longrope.short],
      attention_factor: num(md, `${arch}.rope.scaling.attn_factor`) ?? 1,
      original_max_position_embeddings: num(md, `${arch}.rope.scaling.original_context_length`) ?? config.max_position_embeddings,
    };
  }
  if (ropeFreqs) {
    const llama3 = llama3ScalingFromRopeFreqs(ropeFreqs, config.head_dim!, ropeTheta, file);
    config.rope_scaling = { rope_type: 'llama3', ...llama3 };
    config.rope_parameters = { rope_theta: ropeTheta, rope_type: 'llama3', ...llama3 };
  }
  return config;
}

/** Per-frequency divisors of Llama 3 rope scaling (what llama.cpp stores as rope_freqs), from HF's definition. */
export function llama3RopeFactors(headDim: number, theta: number, p: { factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number }): Float32Array {
  const out = new Float32Array(headDim / 2);
  const lowWavelen = p.original_max_position_embeddings / p.low_freq_factor;
  const highWavelen = p.original_max_position_embeddings / p.high_freq_factor;
  for (let i = 0; i < out.length; i++) {
    const wavelen = 2 * Math.PI * theta ** ((2 * i) / headDim);
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = p.factor;
    else {
      const smooth = (p.original_max_position_embeddings / wavelen - p.low_freq_factor) / (p.high_freq_factor - p.low_freq_factor);
      out[i] = 1 / ((1 - smooth) / p.factor + smooth);
    }
  }
  return out;
}

/**
 * llama.cpp keeps Llama 3.1+ rope scaling only as the rope_freqs tensor; HF needs the parameters. Find the
 * standard parameters that reproduce the tensor, or refuse rather than run with a wrong rope.
 */
function llama3ScalingFromRopeFreqs(freqs: Float32Array, headDim: number, theta: number, file: string) {
  const factor = freqs.reduce((a, b) => Math.max(a, b), 1);
  for (const original of [8192, 4096, 2048, 16384, 32768]) {
    for (const [low, high] of [[1, 4], [1, 2], [1, 8]]) {
      const p = { factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: original };
      const want = llama3RopeFactors(headDim, theta, p);
      if (want.length === freqs.length && want.every((v, i) => Math.abs(v - freqs[i]) <= 1e-3 * v)) return p;
    }
  }
  throw new GraftError('UNSUPPORTED', `${file}: rope_freqs.weight does not match Llama 3 rope scaling with standard parameters`, { file, where: 'rope_freqs.weight' });
}
