/**
 * Decode speed on a 4-bit base (QLoRA's int4, MatMulNBits in the fused graph) at shapes too big to
 * write as fp32 files here: Llama-3.1-8B (32 layers, 4096 wide, 14336 MLP, GQA 32/8, 128,256 words)
 * and the Qwen2.5 0.5B/1.5B shapes on the llama architecture (as llama.cpp's peer models are made).
 * The packed codes are random bytes with one small scale: a decode step's work does not depend on the
 * values, and no 32 GB fp32 model has to exist first. Embeddings and head are fp32 (as a quantized
 * base's fp16-rounded tables are). Prints one JSON line per model.
 */
import { randomFillSync } from 'node:crypto';
import { generate } from '../src-main/engine/infer/generate.js';
import type { HfConfig } from '../src-main/engine/io/hf-config.js';
import type { WeightSource } from '../src-main/engine/io/model-source.js';
import type { LoadedModel } from '../src-main/engine/model.js';
import { specFromConfig } from '../src-main/engine/models/index.js';
import type { PackedBase, PackedLinear, WeightsFactory } from '../src-main/engine/models/weights.js';
import { resolveDevice } from '../src-main/engine/runtime/device.js';
import { createTimings } from '../src-main/engine/runtime/session.js';

const LLAMA = { architectures: ['LlamaForCausalLM'], model_type: 'llama', rms_norm_eps: 1e-5, hidden_act: 'silu', tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2 };
export const PACKED_SHAPES: Record<string, HfConfig> = {
  'llama3.1-8b': { ...LLAMA, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, vocab_size: 128256, max_position_embeddings: 8192, rope_theta: 500000 } as HfConfig,
  'qwen2.5-1.5b': { ...LLAMA, hidden_size: 1536, intermediate_size: 8960, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 8192, rope_theta: 1e6, tie_word_embeddings: true } as HfConfig,
  'qwen2.5-0.5b': { ...LLAMA, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 8192, rope_theta: 1e6, tie_word_embeddings: true } as HfConfig,
};

const PROJ = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'];

/** A source of the config's tensors: norms are ones, tables small pseudo-random values; projections are never read (packed). */
export function syntheticSource(config: HfConfig, name: string): WeightSource {
  const { hidden_size: D, intermediate_size: F, num_attention_heads: H, num_key_value_heads: KV, vocab_size: V } = config;
  const hd = D / H;
  const kv = KV ?? H;
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [V, D]], ['model.norm.weight', [D]]]);
  if (!config.tie_word_embeddings) shapes.set('lm_head.weight', [V, D]);
  const proj: Record<string, number[]> = { q_proj: [H * hd, D], k_proj: [kv * hd, D], v_proj: [kv * hd, D], o_proj: [D, H * hd], gate_proj: [F, D], up_proj: [F, D], down_proj: [D, F] };
  for (let i = 0; i < config.num_hidden_layers; i++) {
    shapes.set(`model.layers.${i}.input_layernorm.weight`, [D]);
    shapes.set(`model.layers.${i}.post_attention_layernorm.weight`, [D]);
    for (const p of PROJ) shapes.set(`model.layers.${i}.${p}.weight`, proj[p.split('.')[1]]);
  }
  const get = (n: string) => {
    const s = shapes.get(n);
    if (!s) throw new Error(`synthetic ${name}: no tensor ${n}`);
    return s;
  };
  return {
    path: `synthetic:${name}`,
    format: 'safetensors',
    config,
    names: () => [...shapes.keys()],
    has: (n) => shapes.has(n),
    shape: (n) => get(n),
    dtype: () => 'F32',
    readF32: (n) => {
      const s = get(n);
      if (s.length === 1) return new Float32Array(s[0]).fill(1);
      if (PROJ.some((p) => n.endsWith(`${p}.weight`))) throw new Error(`synthetic ${name}: ${n} is packed, not read`);
      const a = new Float32Array(s[0] * s[1]);
      let x = 12345;
      for (let i = 0; i < a.length; i++) a[i] = ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.04;
      return a;
    },
    tokenizer: async () => null,
    close: () => {},
  };
}

function randomPacked(source: WeightSource): PackedBase {
  const linear = new Map<string, PackedLinear>();
  for (const n of source.names()) {
    if (!PROJ.some((p) => n.endsWith(`${p}.weight`))) continue;
    const [N, K] = source.shape(n);
    const nb = Math.ceil(K / 32);
    // one scale (≈ 0.004, fp16 0x1C00) and zero point 8: weights in ±0.03, like a trained layer's
    linear.set(n, { bits: 4, shape: [N, K], b: randomFillSync(new Uint8Array(N * nb * 16)), scalesF16: new Uint16Array(N * nb).fill(0x1c00), zeroPoints: new Uint8Array(N * Math.ceil(nb / 2)).fill(0x88) });
  }
  return { linear, tables: new Map() };
}

/** The bench's model at one of PACKED_SHAPES: synthetic tables, random symmetric 4-bit codes, a prompt. */
export function packedModel(name: string) {
  const config = PACKED_SHAPES[name];
  const source = syntheticSource(config, name);
  const model: LoadedModel = { source, spec: specFromConfig(config, source.path) };
  const packed = randomPacked(source);
  const weights: WeightsFactory = Object.assign(
    () => {
      throw new Error('packed bench: the plain graph is not used');
    },
    { packed: () => packed },
  );
  const prompt = Array.from({ length: 32 }, (_, i) => 1 + ((i * 7) % (config.vocab_size - 1)));
  return { model, packed, weights, prompt };
}

export async function packedDecode(name: string, tokens = 64) {
  const config = PACKED_SHAPES[name];
  const device = await resolveDevice('gpu');
  const { model, packed, weights, prompt } = packedModel(name);
  let projBytes = 0;
  for (const t of packed.linear.values()) projBytes += t.b.byteLength + t.scalesF16.byteLength * 2 + t.zeroPoints.byteLength; // fp32 scales in the graph
  const run = () => generate({ model, device, tokenizer: null, prompt, variants: [{ adapters: [] }], maxTokens: tokens, sampling: { temperature: 0, seed: 1 }, stopAtEos: false, weights });
  createTimings.splice(0);
  const t0 = performance.now();
  const first = await run();
  const firstMs = performance.now() - t0;
  let tps = 0;
  for (let i = 0; i < 3; i++) tps = Math.max(tps, (await run())[0].tokensPerSecond);
  const tableBytes = 4 * config.vocab_size * config.hidden_size * (config.tie_word_embeddings ? 1 : 2);
  const r = { model: name, base: 'int4 (symmetric codes, block 32), fp32 tables', first_generation_ms: +firstMs.toFixed(0), first_ttft_ms: +first[0].ttftMs.toFixed(0), sessions: createTimings.splice(0), greedy_tok_s: +tps.toFixed(1), weight_gb: +((projBytes + tableBytes) / 1e9).toFixed(2) };
  console.log(JSON.stringify(r));
  return r;
}
