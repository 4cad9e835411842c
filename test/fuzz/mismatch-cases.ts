/**
 * Shape and metadata mismatches of models and adapters (issue 15, item 5): files that parse, whose numbers
 * disagree with each other or with the base they are used on. Each case writes its file(s) into a folder and
 * names the file the user gave; mismatch.test.ts runs every case through what `graft generate` and
 * `graft adapters import` do and asserts a located refusal, never INTERNAL.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openGguf } from '../../src-main/engine/io/gguf.js';
import { writeGgufLora } from '../../src-main/engine/io/gguf-lora.js';
import { GgufValueType, type GgufWriteValue } from '../../src-main/engine/io/gguf-types.js';
import { writeGguf, type GgufTensorToWrite } from '../../src-main/engine/io/gguf-write.js';
import type { HfConfig } from '../../src-main/engine/io/hf-config.js';
import { readPeftAdapter } from '../../src-main/engine/io/peft.js';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../src-main/engine/io/safetensors.js';
import { TINY_LLAMA, writeRandomModel } from '../../src-main/engine/models/random-model.js';

export const FIX = '/work/shared/fixtures/hf-reference/llama';
export const STORIES = '/work/shared/models/stories260K/stories260K.gguf';

/** What is done with the file: open and run a model, generate with an adapter, or import an adapter. */
export type Use = 'model' | 'adapter' | 'import' | 'import-gguf';

export interface MismatchCase {
  name: string;
  use: Use;
  /** Writes the case under `dir`; returns the path the user gives (model, adapter folder or file). */
  make(dir: string): Promise<string>;
}

type Tensors = Map<string, TensorToWrite>;

function readTensors(file: string): Tensors {
  const st = openSafetensors(file);
  try {
    return new Map(st.names().map((n) => [n, { dtype: 'F32' as const, shape: [...st.info(n).shape], data: st.readF32(n) }]));
  } finally {
    st.close();
  }
}

const zeros = (shape: number[]) => new Float32Array(shape.reduce((a, b) => a * b, 1));

/** A tiny random Llama folder with its config and tensors edited. */
function model(name: string, edit: { config?: (c: HfConfig) => void; tensors?: (t: Tensors) => void; files?: (dir: string) => void }): MismatchCase {
  return {
    name: `model: ${name}`,
    use: 'model',
    async make(dir) {
      await writeRandomModel(dir, TINY_LLAMA);
      const cfgFile = path.join(dir, 'config.json');
      const cfg = JSON.parse(readFileSync(cfgFile, 'utf8')) as HfConfig;
      edit.config?.(cfg);
      writeFileSync(cfgFile, JSON.stringify(cfg));
      if (edit.tensors) {
        const t = readTensors(path.join(dir, 'model.safetensors'));
        edit.tensors(t);
        await writeSafetensors(path.join(dir, 'model.safetensors'), t);
      }
      edit.files?.(dir);
      return dir;
    },
  };
}

/** stories260K rewritten with its metadata and tensors edited. */
function gguf(name: string, edit: { md?: (m: Record<string, GgufWriteValue>) => void; tensors?: (t: GgufTensorToWrite[]) => void }): MismatchCase {
  return {
    name: `GGUF model: ${name}`,
    use: 'model',
    async make(dir) {
      const g = openGguf(STORIES);
      const md: Record<string, GgufWriteValue> = {};
      for (const [k, v] of Object.entries(g.metadata)) {
        if (!Array.isArray(v)) {
          md[k] = { type: g.metadataTypes[k] as never, value: v as never };
          continue;
        }
        const item = typeof v[0] === 'string' ? GgufValueType.STRING : k.endsWith('scores') ? GgufValueType.FLOAT32 : GgufValueType.INT32;
        md[k] = { type: 9, itemType: item, value: v as never };
      }
      const tensors: GgufTensorToWrite[] = g.names().map((n) => ({ name: n, shape: [...g.info(n).shape], type: g.info(n).type, data: new Uint8Array(g.readRaw(n)) }));
      g.close();
      edit.md?.(md);
      edit.tensors?.(tensors);
      const file = path.join(dir, 'model.gguf');
      await writeGguf(file, md, tensors);
      return file;
    },
  };
}

const u32 = (value: number): GgufWriteValue => ({ type: GgufValueType.UINT32, value });
const f32 = (value: number): GgufWriteValue => ({ type: GgufValueType.FLOAT32, value });

/** The reference Llama's PEFT adapter folder with its config and tensors edited. */
function peft(name: string, use: Use, edit: { config?: (c: Record<string, unknown>) => void; tensors?: (t: Tensors) => void }): MismatchCase {
  return {
    name: `PEFT adapter (${use}): ${name}`,
    use,
    async make(dir) {
      mkdirSync(dir, { recursive: true });
      const cfg = JSON.parse(readFileSync(path.join(FIX, 'adapter/adapter_config.json'), 'utf8')) as Record<string, unknown>;
      edit.config?.(cfg);
      writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify(cfg));
      if (edit.tensors) {
        const t = readTensors(path.join(FIX, 'adapter/adapter_model.safetensors'));
        edit.tensors(t);
        await writeSafetensors(path.join(dir, 'adapter_model.safetensors'), t);
      } else copyFileSync(path.join(FIX, 'adapter/adapter_model.safetensors'), path.join(dir, 'adapter_model.safetensors'));
      return dir;
    },
  };
}

/** A GGUF LoRA of the reference adapter, its factors edited before writing. */
function ggufLora(name: string, edit: (t: Map<string, { shape: number[]; data: Float32Array }>, c: { r: number; lora_alpha: number }) => void): MismatchCase {
  return {
    name: `GGUF LoRA: ${name}`,
    use: 'import-gguf',
    async make(dir) {
      mkdirSync(dir, { recursive: true });
      const p = readPeftAdapter(path.join(FIX, 'adapter'));
      const tensors = new Map([...p.tensors].map(([n, t]) => [n, { shape: t.shape, data: t.data }]));
      const config = { r: p.config.r, lora_alpha: p.config.lora_alpha };
      edit(tensors, config);
      const base = JSON.parse(readFileSync(path.join(FIX, 'model/config.json'), 'utf8')) as HfConfig;
      const file = path.join(dir, 'lora.gguf');
      await writeGgufLora(file, { config, tensors }, base);
      return file;
    },
  };
}

const Q0 = 'base_model.model.model.layers.0.self_attn.q_proj';
const resized = (t: Tensors, name: string, shape: number[]) => t.set(name, { dtype: 'F32', shape, data: zeros(shape) });

export const CASES: MismatchCase[] = [
  model('hidden_size larger than the tensors', { config: (c) => (c.hidden_size = 48) }),
  model('intermediate_size smaller than the tensors', { config: (c) => (c.intermediate_size = 32) }),
  model('num_attention_heads does not divide hidden_size', { config: (c) => (c.num_attention_heads = 3) }),
  model('num_key_value_heads not a divisor of the heads', { config: (c) => (c.num_key_value_heads = 3) }),
  model('num_key_value_heads disagrees with k_proj', { config: (c) => (c.num_key_value_heads = 4) }),
  model('head_dim disagrees with q_proj', { config: (c) => (c.head_dim = 16) }),
  model('num_hidden_layers above the layers stored', { config: (c) => (c.num_hidden_layers = 3) }),
  model('vocab_size above the embedding rows', { config: (c) => (c.vocab_size = 100) }),
  model('untied embeddings without lm_head', { config: (c) => (c.tie_word_embeddings = false) }),
  model('q_proj stored transposed', { tensors: (t) => resized(t, 'model.layers.0.self_attn.q_proj.weight', [32, 32 + 1]) }),
  model('norm weight of the wrong length', { tensors: (t) => resized(t, 'model.norm.weight', [31]) }),
  model('a 3-D projection', { tensors: (t) => resized(t, 'model.layers.1.mlp.up_proj.weight', [64, 32, 1]) }),
  model('bos_token_id beyond the vocabulary', { config: (c) => (c.bos_token_id = 1000) }),
  model('eos_token_id a string', { config: (c) => (c.eos_token_id = 'eos' as never) }),
  model('max_position_embeddings zero', { config: (c) => (c.max_position_embeddings = 0) }),
  model('max_position_embeddings a string', { config: (c) => (c.max_position_embeddings = 'long' as never) }),
  model('rope_theta a string', { config: (c) => (c.rope_theta = 'x' as never) }),
  model('llama3 rope scaling without a factor', { config: (c) => (c.rope_scaling = { rope_type: 'llama3' }) }),
  model('linear rope scaling with factor 0', { config: (c) => (c.rope_scaling = { rope_type: 'linear', factor: 0 }) }),
  model('rope_scaling type with a control character', { config: (c) => (c.rope_scaling = { rope_type: 'yarn\u001b[2J' }) }),
  model('rms_norm_eps negative', { config: (c) => (c.rms_norm_eps = -1) }),
  model('hidden_size a float', { config: (c) => (c.hidden_size = 32.5) }),
  model('Qwen3 without q_norm/k_norm', { config: (c) => (c.architectures = ['Qwen3ForCausalLM']) }),
  model('Qwen2 without q/k/v biases', { config: (c) => ((c.architectures = ['Qwen2ForCausalLM']), (c.attention_bias = true)) }),
  model('tokenizer ids beyond the vocabulary', {
    files: (dir) =>
      writeFileSync(
        path.join(dir, 'tokenizer.json'),
        JSON.stringify({ model: { type: 'WordLevel', vocab: { '[UNK]': 0, hello: 500 }, unk_token: '[UNK]' }, pre_tokenizer: { type: 'Whitespace' }, added_tokens: [] }),
      ),
  }),
  model('num_hidden_layers 2^31', { config: (c) => (c.num_hidden_layers = 2 ** 31) }),
  model('architectures a string, not a list', { config: (c) => (c.architectures = 'LlamaForCausalLM' as never) }),
  model('tokenizer.json not JSON', { files: (dir) => writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": {"type": "BPE", \u0007') }),
  gguf('block_count a 64-bit number beyond 2^53', { md: (m) => (m['llama.block_count'] = { type: GgufValueType.UINT64, value: 2n ** 60n }) }),
  gguf('embedding_length a string', { md: (m) => (m['llama.embedding_length'] = { type: GgufValueType.STRING, value: 'wide\u001b[0m' }) }),
  gguf('embedding_length disagrees with the tensors', { md: (m) => (m['llama.embedding_length'] = u32(96)) }),
  gguf('head_count zero', { md: (m) => (m['llama.attention.head_count'] = u32(0)) }),
  gguf('head_count_kv not a divisor', { md: (m) => (m['llama.attention.head_count_kv'] = u32(5)) }),
  gguf('feed_forward_length disagrees', { md: (m) => (m['llama.feed_forward_length'] = u32(100)) }),
  gguf('rope.dimension_count above head size', { md: (m) => (m['llama.rope.dimension_count'] = u32(4096)) }),
  gguf('layer_norm_rms_epsilon NaN', { md: (m) => (m['llama.attention.layer_norm_rms_epsilon'] = f32(NaN)) }),
  gguf('fewer vocabulary entries than embedding rows', { md: (m) => ((m['tokenizer.ggml.tokens'] as { value: string[] }).value.length = 100) }),
  gguf('scores shorter than the vocabulary', { md: (m) => ((m['tokenizer.ggml.scores'] as { value: number[] }).value.length = 10) }),
  gguf('bos id beyond the vocabulary', { md: (m) => (m['tokenizer.ggml.bos_token_id'] = u32(99999)) }),
  gguf('context_length zero', { md: (m) => (m['llama.context_length'] = u32(0)) }),
  gguf('token_embd transposed', { tensors: (t) => { const e = t.find((x) => x.name === 'token_embd.weight')!; e.shape = [...e.shape].reverse(); } }),
  gguf('output norm of the wrong length', { tensors: (t) => { const e = t.find((x) => x.name === 'output_norm.weight')!; e.shape = [e.shape[0] / 2]; e.data = e.data.subarray(0, e.data.length / 2); } }),
  peft('lora_A input width not the base width', 'adapter', { tensors: (t) => resized(t, `${Q0}.lora_A.weight`, [4, 48]) }),
  peft('lora_B output width not the base width', 'adapter', { tensors: (t) => resized(t, `${Q0}.lora_B.weight`, [40, 4]) }),
  peft('r in the config differs from the tensors', 'adapter', { config: (c) => (c.r = 8) }),
  peft('A and B ranks differ', 'adapter', { tensors: (t) => resized(t, `${Q0}.lora_B.weight`, [64, 2]) }),
  peft('a layer the base does not have', 'adapter', {
    tensors: (t) => {
      resized(t, 'base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight', [4, 64]);
      resized(t, 'base_model.model.model.layers.7.self_attn.q_proj.lora_B.weight', [64, 4]);
    },
  }),
  peft('target_modules missing a module its tensors have', 'adapter', { config: (c) => (c.target_modules = ['q_proj']) }),
  peft('lora_B missing', 'adapter', { tensors: (t) => t.delete(`${Q0}.lora_B.weight`) }),
  peft('a factor stored as I32', 'adapter', { tensors: (t) => t.set(`${Q0}.lora_A.weight`, { dtype: 'I32', shape: [4, 64], data: new Int32Array(256) as never }) }),
  peft('a 1-D factor', 'adapter', { tensors: (t) => resized(t, `${Q0}.lora_A.weight`, [256]) }),
  peft('lora_alpha a string', 'adapter', { config: (c) => (c.lora_alpha = '8') }),
  peft('lora_alpha null', 'import', { config: (c) => (c.lora_alpha = null) }),
  peft('lora_A input width not the base width', 'import', { tensors: (t) => resized(t, `${Q0}.lora_A.weight`, [4, 48]) }),
  peft('r zero', 'import', { config: (c) => (c.r = 0) }),
  peft('layers_to_transform a string', 'import', { config: (c) => (c.layers_to_transform = 'all') }),
  peft('a DoRA magnitude of the wrong length', 'adapter', {
    config: (c) => (c.use_dora = true),
    tensors: (t) => {
      for (const n of [...t.keys()]) {
        const m = /^(.+)\.lora_A\.weight$/.exec(n);
        if (m) resized(t, `${m[1]}.lora_magnitude_vector`, [n.includes('q_proj') ? 7 : t.get(`${m[1]}.lora_B.weight`)!.shape[0]]);
      }
    },
  }),
  ggufLora('lora_a input width not the base width', (t) => t.set(`${Q0}.lora_A.weight`, { shape: [4, 48], data: zeros([4, 48]) })),
  ggufLora('lora_b output width not the base width', (t) => t.set(`${Q0}.lora_B.weight`, { shape: [40, 4], data: zeros([40, 4]) })),
  ggufLora('A and B ranks differ', (t) => t.set(`${Q0}.lora_B.weight`, { shape: [64, 2], data: zeros([64, 2]) })),
  ggufLora('lora_b missing', (t) => t.delete(`${Q0}.lora_B.weight`)),
  ggufLora('alpha NaN', (_t, c) => (c.lora_alpha = NaN)),
];

