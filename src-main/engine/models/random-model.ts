/**
 * Random-init Hugging Face model folders of any Llama-family shape: tests use tiny ones, benchmarks
 * ones with real models' shapes (no model hub is reachable, and none is needed to measure speed).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deriveSeed, SeededRng } from '../data/rng.js';
import type { HfConfig } from '../io/hf-config.js';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors.js';

export const TINY_LLAMA: HfConfig = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 64,
  max_position_embeddings: 128,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: true,
  bos_token_id: 1,
  eos_token_id: 2,
};

/** SmolLM2-135M's shapes (30 layers, 576 wide, GQA 9/3, 49152 vocab, tied embeddings). */
export const SMOLLM2_135M_SHAPES: HfConfig = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  vocab_size: 49152,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  tie_word_embeddings: true,
  bos_token_id: 1,
  eos_token_id: 2,
};

/** Qwen2.5-0.5B's shapes (24 layers, 896 wide, GQA 14/2, 151936 vocab, tied embeddings, q/k/v biases). */
export const QWEN25_05B_SHAPES: HfConfig = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  vocab_size: 151936,
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: true,
  bos_token_id: 151643,
  eos_token_id: 151645,
};

export interface RandomModelOpts {
  seed?: number;
  dtype?: 'F32' | 'F16' | 'BF16';
  /**
   * Std of the (tied) embedding. Trained models have embeddings far larger than init's 0.02; a tiny
   * model that must be able to learn needs them too, or its logits cannot move far from uniform.
   */
  embedStd?: number;
  /** Std of projection weights (default 0.02, init scale). */
  std?: number;
}

export async function writeRandomModel(dir: string, cfg: HfConfig, o: RandomModelOpts = {}): Promise<string> {
  const { seed = 1, dtype = 'F32', embedStd = 0.02, std: w = 0.02 } = o;
  mkdirSync(dir, { recursive: true });
  const rng = new SeededRng(deriveSeed(seed, 0x40de1));
  const H = cfg.hidden_size;
  const hd = cfg.head_dim ?? H / cfg.num_attention_heads;
  const q = cfg.num_attention_heads * hd;
  const kv = (cfg.num_key_value_heads ?? cfg.num_attention_heads) * hd;
  const I = cfg.intermediate_size;
  const tensors = new Map<string, TensorToWrite>();
  const normal = (shape: number[], std: number, mean = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    // Irwin–Hall(4) approximates a normal well enough for initial weights and costs no logs.
    for (let i = 0; i < n; i++) data[i] = mean + std * 1.7320508 * (rng.next() + rng.next() + rng.next() + rng.next() - 2);
    tensors.set(names.pop()!, { dtype, shape, data });
  };
  const names: string[] = [];
  const add = (name: string, shape: number[], std: number, mean = 0) => {
    names.push(name);
    normal(shape, std, mean);
  };
  add('model.embed_tokens.weight', [cfg.vocab_size, H], embedStd);
  const arch = cfg.architectures?.[0];
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    add(`${p}input_layernorm.weight`, [H], 0.1, 1);
    add(`${p}self_attn.q_proj.weight`, [q, H], w);
    add(`${p}self_attn.k_proj.weight`, [kv, H], w);
    add(`${p}self_attn.v_proj.weight`, [kv, H], w);
    if (arch === 'Qwen2ForCausalLM') {
      add(`${p}self_attn.q_proj.bias`, [q], 0.05);
      add(`${p}self_attn.k_proj.bias`, [kv], 0.05);
      add(`${p}self_attn.v_proj.bias`, [kv], 0.05);
    }
    if (arch === 'Qwen3ForCausalLM') {
      add(`${p}self_attn.q_norm.weight`, [hd], 0.1, 1);
      add(`${p}self_attn.k_norm.weight`, [hd], 0.1, 1);
    }
    add(`${p}self_attn.o_proj.weight`, [H, q], w);
    add(`${p}post_attention_layernorm.weight`, [H], 0.1, 1);
    add(`${p}mlp.gate_proj.weight`, [I, H], w);
    add(`${p}mlp.up_proj.weight`, [I, H], w);
    add(`${p}mlp.down_proj.weight`, [H, I], w);
  }
  add('model.norm.weight', [H], 0.1, 1);
  if (!cfg.tie_word_embeddings) add('lm_head.weight', [cfg.vocab_size, H], 0.02);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, torch_dtype: dtype === 'F32' ? 'float32' : dtype === 'F16' ? 'float16' : 'bfloat16' }, null, 2));
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  return dir;
}
