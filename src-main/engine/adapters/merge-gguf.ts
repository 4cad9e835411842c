/**
 * Merge a LoRA adapter into a GGUF base and write one GGUF model for llama.cpp, Ollama and LM Studio, in F16,
 * Q8_0 or Q4_K_M. The base file's metadata (architecture, tokenizer, chat template) is kept with its types,
 * its tensors keep their names and order, and only the adapter's weights change: W' = W + s·B·A, added in
 * llama.cpp's row order (the converter's Q/K permutation). Tensors are made one at a time as the file is
 * written, so memory holds one tensor, not the model.
 */
import { GraftError } from '../errors.js';
import { openGguf, typedMetadata, type GgufFile } from '../io/gguf.js';
import { GGUF_FAMILIES } from '../io/gguf-families.js';
import { ggufToHfName, permuteRows, unpermuteRows } from '../io/gguf-hf.js';
import { QUANTIZERS } from '../io/gguf-quantize.js';
import { GgmlType, GgufValueType, type GgufWriteValue, type MergedGgufType } from '../io/gguf-types.js';
import { writeGgufLazy, type GgufLazyTensor } from '../io/gguf-write.js';
import { encodeF16 } from '../io/half.js';
import type { WeightSource } from '../io/model-source.js';
import type { AdapterWeights } from './adapter-weights.js';
import { baseWeightName } from './compat.js';
import { loraScale, peftTensorName } from './lora-config.js';
import { mergedWeight } from './merge.js';


/** llama_ftype numbers (llama.h) for general.file_type. */
const FILE_TYPE: Record<MergedGgufType, number> = { F16: 1, Q8_0: 7, Q4_K_M: 15 };

/** llama.cpp's layers that get more bits in the _M mixes: the first and last eighth, and every third between. */
export function useMoreBits(i: number, n: number): boolean {
  const e = Math.floor(n / 8);
  return i < e || i >= Math.floor((7 * n) / 8) || (i - e) % 3 === 2;
}

const BLOCK = { [GgmlType.Q8_0]: 32, [GgmlType.Q4_K]: 256, [GgmlType.Q6_K]: 256 } as Record<number, number>;

/**
 * The ggml type of one tensor in the chosen mix, after llama.cpp's quantizer (llama-quant.cpp): 1-D tensors stay
 * F32; Q4_K_M puts the output (or tied embedding) and, on useMoreBits layers, attn_v and ffn_down in Q6_K, the
 * rest in Q4_K. Rows that are not whole blocks fall back: Q6_K to Q8_0 as llama.cpp does, Q4_K to Q8_0 (llama.cpp
 * takes Q5_0, which Graft does not write: more bits, never fewer), then F16. Phi-3's fused attn_qkv, which
 * llama.cpp gives Q5_K, gets Q6_K for the same reason.
 */
export function mergedTensorType(name: string, shape: number[], mix: MergedGgufType, ctx: { layers: number; tiedOutput: boolean }): number {
  if (shape.length < 2) return GgmlType.F32;
  if (mix === 'F16') return GgmlType.F16;
  let t: number = GgmlType.Q8_0;
  if (mix === 'Q4_K_M') {
    const layer = Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? -1);
    const more = layer >= 0 && useMoreBits(layer, ctx.layers);
    if (name === 'output.weight' || (ctx.tiedOutput && name === 'token_embd.weight')) t = GgmlType.Q6_K;
    else if (more && (name.endsWith('.attn_v.weight') || name.endsWith('.ffn_down.weight'))) t = GgmlType.Q6_K;
    else if (name.endsWith('.attn_qkv.weight')) t = GgmlType.Q6_K;
    else t = GgmlType.Q4_K;
  }
  const row = shape[shape.length - 1];
  if (row % BLOCK[t] !== 0) t = GgmlType.Q8_0;
  if (row % 32 !== 0) t = GgmlType.F16;
  return t;
}

/** The base's metadata with its types, and the file type and name of the merged model. */
function mergedMetadata(g: GgufFile, mix: MergedGgufType, name: string | undefined): Record<string, GgufWriteValue> {
  const out = typedMetadata(g);
  out['general.file_type'] = { type: GgufValueType.UINT32, value: FILE_TYPE[mix] };
  out['general.quantization_version'] = { type: GgufValueType.UINT32, value: 2 };
  if (name) out['general.name'] = { type: GgufValueType.STRING, value: name };
  return out;
}

export interface MergedGgufResult {
  /** How many tensors the adapter changed. */
  merged: number;
  /** Tensor count per ggml type name, what the file holds. */
  types: Record<string, number>;
}

/**
 * For each GGUF tensor the adapter changes, the merge of its stored weight: in Hugging Face row order (llama.cpp's
 * Q/K permutation undone and redone, both exact), with mergedWeight's arithmetic, so the merged values equal the
 * merged Hugging Face export's bit for bit before they are encoded.
 */
function mergesByGgufName(g: GgufFile, source: WeightSource, adapter: AdapterWeights, scale: number): Map<string, (w: Float32Array) => Float32Array> {
  const arch = String(g.metadata['general.architecture']);
  const family = GGUF_FAMILIES[arch];
  const cfg = source.config;
  const out = new Map<string, (w: Float32Array) => Float32Array>();
  const hfToGguf = new Map(g.names().map((n) => [ggufToHfName(n, arch), n]));
  for (let layer = 0; layer < cfg.num_hidden_layers; layer++) {
    for (const target of adapter.targets) {
      const a = adapter.tensors.get(peftTensorName(layer, target, 'A'));
      const b = adapter.tensors.get(peftTensorName(layer, target, 'B'));
      if (!a || !b) continue;
      const hf = baseWeightName(layer, target);
      const gname = hfToGguf.get(hf);
      if (!gname) throw new GraftError('INCOMPATIBLE', `${source.path}: base has no ${hf}, which the adapter modifies`, { file: source.path, where: hf });
      const [o, i] = g.info(gname).shape;
      if (a.length !== adapter.r * i || b.length !== o * adapter.r) throw new GraftError('INCOMPATIBLE', `adapter factors for ${hf} do not fit its shape [${o}, ${i}] at r=${adapter.r}`, { where: hf });
      const heads = !family?.permuteQK ? null : hf.endsWith('q_proj.weight') ? cfg.num_attention_heads : hf.endsWith('k_proj.weight') ? (cfg.num_key_value_heads ?? cfg.num_attention_heads) : null;
      out.set(gname, (w) => {
        if (heads === null) return mergedWeight(w, a, b, o, i, adapter.r, scale);
        return permuteRows(mergedWeight(unpermuteRows(w, o, i, heads), a, b, o, i, adapter.r, scale), o, i, heads);
      });
    }
  }
  return out;
}

export function exportMergedGguf(source: WeightSource, adapter: AdapterWeights, outFile: string, opts: { type: MergedGgufType; scale?: number; name?: string }): MergedGgufResult {
  if (source.format !== 'gguf') {
    throw new GraftError('UNSUPPORTED', `${source.path}: a merged GGUF is made from a GGUF base; for a Hugging Face base, export the merged folder and convert it with llama.cpp's convert_hf_to_gguf.py`, { file: source.path });
  }
  const g = openGguf(source.path);
  try {
    const merges = mergesByGgufName(g, source, adapter, loraScale(adapter) * (opts.scale ?? 1));
    const ctx = { layers: source.config.num_hidden_layers, tiedOutput: !g.has('output.weight') };
    const types: Record<string, number> = {};
    const tensors: GgufLazyTensor[] = g.names().map((name) => {
      const shape = g.info(name).shape;
      const type = mergedTensorType(name, shape, opts.type, ctx);
      types[typeName(type)] = (types[typeName(type)] ?? 0) + 1;
      return {
        name,
        shape,
        type,
        bytes: () => {
          const w = g.readF32(name);
          const merge = merges.get(name);
          const data = merge ? merge(w) : w;
          if (type === GgmlType.F32) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
          if (type === GgmlType.F16) return encodeF16(data);
          return QUANTIZERS[typeName(type)](data);
        },
      };
    });
    writeGgufLazy(outFile, mergedMetadata(g, opts.type, opts.name), tensors);
    return { merged: merges.size, types };
  } finally {
    g.close();
  }
}

const typeName = (t: number) => Object.entries(GgmlType).find(([, v]) => v === t)![0];

/** An Ollama Modelfile for a merged GGUF: the model is the file itself; its chat template travels in its metadata. */
export function ollamaMergedModelfile(ggufFile: string): string {
  return [
    '# Create the model with:  ollama create <name> -f <this file>',
    '# LM Studio loads the .gguf itself. The chat template and end tokens are in the GGUF\'s metadata.',
    `FROM ${ggufFile}`,
  ].join('\n') + '\n';
}
