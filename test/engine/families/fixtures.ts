/** The Gemma 3 / Phi-3 / SmolLM3 goldens of shared/fixtures/hf-reference-more, and a GGUF writer laid out as llama.cpp's converter does. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hfToGgufName, permuteRows } from '../../../src-main/engine/io/gguf-hf.js';
import { GGUF_FAMILIES } from '../../../src-main/engine/io/gguf-families.js';
import { gguf, GgufValueType, type GgufWriteValue } from '../../../src-main/engine/io/gguf-types.js';
import { writeGguf, type GgufTensorToWrite } from '../../../src-main/engine/io/gguf-write.js';
import { openModelSource } from '../../../src-main/engine/io/model-source.js';

export const MORE = path.resolve(import.meta.dirname, '../../../../shared/fixtures/hf-reference-more');
export const FAMILIES = ['smollm3', 'phi3', 'gemma3'] as const;
export const GGUF_ARCH = { smollm3: 'smollm3', phi3: 'phi3', gemma3: 'gemma3' } as const;

export interface Expected {
  prompt_for_greedy: number[];
  base_greedy: number[];
  lora_greedy: number[];
}
export const expectedOf = (arch: string): Expected => JSON.parse(readFileSync(path.join(MORE, arch, 'expected.json'), 'utf8')) as Expected;

/**
 * The fixture's model as a GGUF with llama.cpp's tensor names and metadata keys, transformed as its
 * converter transforms them (SmolLM3: q/k rows interleaved; Gemma 3: norms stored as 1 + w). Not a
 * replacement for the converter itself (bench/gpu-checks/more-families-gguf.sh runs that): it checks
 * Graft's reading of that layout against the goldens on every CI run.
 */
export async function writeLlamaCppLikeGguf(arch: (typeof FAMILIES)[number], out: string, extra: Record<string, GgufWriteValue> = {}): Promise<void> {
  const src = await openModelSource(path.join(MORE, arch, 'model'));
  const c = src.config;
  const g = GGUF_ARCH[arch];
  const fam = GGUF_FAMILIES[g];
  const heads = c.num_attention_heads;
  const kv = c.num_key_value_heads ?? heads;
  const hd = c.head_dim ?? c.hidden_size / heads;
  const md: Record<string, GgufWriteValue> = {
    'general.architecture': g,
    [`${g}.vocab_size`]: c.vocab_size,
    [`${g}.context_length`]: c.max_position_embeddings!,
    [`${g}.embedding_length`]: c.hidden_size,
    [`${g}.feed_forward_length`]: c.intermediate_size,
    [`${g}.block_count`]: c.num_hidden_layers,
    [`${g}.attention.head_count`]: heads,
    [`${g}.attention.head_count_kv`]: kv,
    [`${g}.attention.layer_norm_rms_epsilon`]: gguf.f32(c.rms_norm_eps!),
    [`${g}.rope.freq_base`]: gguf.f32(10000),
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
  };
  if (arch === 'phi3') {
    md[`${g}.rope.dimension_count`] = hd;
    md[`${g}.attention.sliding_window`] = 0;
    md[`${g}.rope.scaling.original_context_length`] = 4096;
  }
  if (arch === 'gemma3') {
    md[`${g}.attention.key_length`] = hd;
    md[`${g}.attention.value_length`] = hd;
    md[`${g}.attention.sliding_window`] = 8;
    md[`${g}.rope.freq_base_swa`] = gguf.f32(1000);
    // The fixture alternates sliding and full layers; llama.cpp reads that from this key (its default is every 6th layer full).
    md[`${g}.attention.sliding_window_pattern`] = gguf.array(GgufValueType.BOOL, (c.layer_types as string[]).map((t) => t === 'sliding_attention'));
  }
  const tensors: GgufTensorToWrite[] = [];
  for (const name of src.names()) {
    const shape = src.shape(name);
    let data = src.readF32(name);
    if (fam.normShift && name.endsWith('norm.weight')) data = data.map((x) => x + fam.normShift!);
    if (fam.permuteQK && /self_attn\.[qk]_proj\.weight$/.test(name)) data = permuteRows(data, shape[0], shape[1], name.includes('q_proj') ? heads : kv);
    tensors.push({ name: hfToGgufName(name, g)!, shape, type: 'F32', data });
  }
  src.close();
  await writeGguf(out, { ...md, ...extra }, tensors);
}
