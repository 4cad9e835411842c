/**
 * Merge a LoRA adapter into its base and write a plain Hugging Face model folder: config.json, the tokenizer
 * and generation files that sit beside the base, and safetensors in the base's dtype (W' = W + s·B·A).
 * Written shard by shard (≤ shardBytes each, with an index when more than one), so memory stays bounded.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { GraftError } from '../errors.js';
import { fsyncDirSync, noSpaceAt, tempName, writeFileAtomicSync } from '../io/atomic.js';
import { hfTokenizerFilesFromGguf } from '../io/gguf-hf-tokenizer.js';
import type { WeightSource } from '../io/model-source.js';
import { writeSafetensors, type SafetensorsDtype, type TensorToWrite } from '../io/safetensors.js';
import type { AdapterWeights } from './adapter-weights.js';
import { baseWeightName } from './compat.js';
import { loraScale, peftTensorName } from './lora-config.js';

/** Files copied from a base folder when present: everything a loader needs besides the weights. */
export const SIDE_FILES = [
  'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json',
  'tokenizer.model', 'vocab.json', 'merges.txt', 'added_tokens.json', 'chat_template.jinja', 'chat_template.json',
];

export interface MergeOptions {
  /** Multiplies the adapter's own alpha/r scale. */
  scale?: number;
  shardBytes?: number;
}

/** W + s·B·A for one weight, in float32 (accumulated in float64 per element). */
export function mergedWeight(w: Float32Array, a: Float32Array, b: Float32Array, out: number, inp: number, r: number, s: number): Float32Array {
  const res = new Float32Array(w.length);
  const row = new Float64Array(inp);
  for (let o = 0; o < out; o++) {
    row.fill(0);
    for (let j = 0; j < r; j++) {
      const bj = b[o * r + j] * s;
      if (bj === 0) continue;
      const off = j * inp;
      for (let i = 0; i < inp; i++) row[i] += bj * a[off + i];
    }
    const base = o * inp;
    for (let i = 0; i < inp; i++) res[base + i] = w[base + i] + row[i];
  }
  return res;
}

/** The stored dtype to write: safetensors float types as they are; GGUF types as F32 (F32) or F16/BF16 (others). */
function outputDtype(stored: string): SafetensorsDtype {
  if (stored === 'F32' || stored === 'F16' || stored === 'BF16') return stored;
  return 'F16';
}

/** Which base tensors the adapter changes, with their factors; checked against the base's shapes. */
function deltas(source: WeightSource, adapter: AdapterWeights): Map<string, { a: Float32Array; b: Float32Array }> {
  const out = new Map<string, { a: Float32Array; b: Float32Array }>();
  for (let layer = 0; layer < source.config.num_hidden_layers; layer++) {
    for (const target of adapter.targets) {
      const a = adapter.tensors.get(peftTensorName(layer, target, 'A'));
      const b = adapter.tensors.get(peftTensorName(layer, target, 'B'));
      if (!a || !b) continue;
      const name = baseWeightName(layer, target);
      if (!source.has(name)) throw new GraftError('INCOMPATIBLE', `${source.path}: base has no ${name}, which the adapter modifies`, { file: source.path, where: name });
      const [o, i] = source.shape(name);
      if (a.length !== adapter.r * i || b.length !== o * adapter.r) {
        throw new GraftError('INCOMPATIBLE', `adapter factors for ${name} do not fit its shape [${o}, ${i}] at r=${adapter.r}`, { where: name });
      }
      out.set(name, { a, b });
    }
  }
  return out;
}

export async function exportMergedModel(source: WeightSource, adapter: AdapterWeights, outDir: string, opts: MergeOptions = {}): Promise<{ files: string[]; merged: number }> {
  const s = loraScale(adapter) * (opts.scale ?? 1);
  const changes = deltas(source, adapter);
  return writeModelFolder(source, outDir, opts, changes.size, (name, data) => {
    const d = changes.get(name);
    if (!d) return data;
    const [o, i] = source.shape(name);
    return mergedWeight(data, d.a, d.b, o, i, adapter.r, s);
  });
}

/** The base with some tensors replaced (another method's exact merge: DoRA, IA³, BitFit), as a model folder. */
export async function exportModelWithOverrides(source: WeightSource, overrides: ReadonlyMap<string, Float32Array>, outDir: string, opts: MergeOptions = {}): Promise<{ files: string[]; merged: number }> {
  for (const name of overrides.keys()) if (!source.has(name)) throw new GraftError('INCOMPATIBLE', `${source.path}: base has no ${name}, which the adapter modifies`, { file: source.path, where: name });
  return writeModelFolder(source, outDir, opts, overrides.size, (name, data) => overrides.get(name) ?? data);
}

async function writeModelFolder(
  source: WeightSource,
  outDir: string,
  opts: MergeOptions,
  merged: number,
  weightOf: (name: string, stored: Float32Array) => Float32Array,
): Promise<{ files: string[]; merged: number }> {
  if (existsSync(outDir) && readdirSync(outDir).length > 0) throw new GraftError('BAD_INPUT', `${outDir} already exists and is not empty`, { file: outDir });
  const shardBytes = opts.shardBytes ?? 2 * 1024 ** 3;
  mkdirSync(path.dirname(path.resolve(outDir)), { recursive: true });
  const tmp = tempName(path.resolve(outDir));
  mkdirSync(tmp);
  try {
    const names = source.names();
    const shards: Map<string, TensorToWrite>[] = [new Map()];
    let size = 0;
    const dtypes = new Set<string>();
    for (const name of names) {
      const dtype = outputDtype(source.dtype(name));
      dtypes.add(dtype);
      const data = weightOf(name, source.readF32(name));
      const bytes = data.length * (dtype === 'F32' ? 4 : 2);
      if (size > 0 && size + bytes > shardBytes) {
        shards.push(new Map());
        size = 0;
      }
      shards[shards.length - 1].set(name, { dtype, shape: source.shape(name), data });
      size += bytes;
    }
    const files = shards.length === 1 ? ['model.safetensors'] : shards.map((_, k) => `model-${String(k + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`);
    const weightMap: Record<string, string> = {};
    for (let k = 0; k < shards.length; k++) {
      await writeSafetensors(path.join(tmp, files[k]), shards[k], { format: 'pt' });
      for (const name of shards[k].keys()) weightMap[name] = files[k];
      shards[k].clear();
    }
    if (shards.length > 1) writeFileAtomicSync(path.join(tmp, 'model.safetensors.index.json'), [Buffer.from(JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2))]);
    const written = [...files];
    if (source.format === 'safetensors') {
      for (const f of SIDE_FILES) {
        if (existsSync(path.join(source.path, f))) {
          copyFileSync(path.join(source.path, f), path.join(tmp, f));
          written.push(f);
        }
      }
    } else {
      // a GGUF base has no config.json: write the one its metadata implies, with the dtype we stored
      const dtype = dtypes.has('F32') ? 'float32' : dtypes.has('BF16') ? 'bfloat16' : 'float16';
      writeFileAtomicSync(path.join(tmp, 'config.json'), [Buffer.from(JSON.stringify({ ...source.config, torch_dtype: dtype }, null, 2))]);
      written.push('config.json');
      // ...and no tokenizer files: write them from its tokenizer metadata, so the folder loads on its own.
      const tokFiles = hfTokenizerFilesFromGguf(source.ggufMetadata ?? {}, source.path, source.config.max_position_embeddings);
      for (const [f, json] of Object.entries(tokFiles)) {
        writeFileAtomicSync(path.join(tmp, f), [Buffer.from(JSON.stringify(json, null, 2))]);
        written.push(f);
      }
    }
    if (existsSync(outDir)) rmSync(outDir, { recursive: true });
    renameSync(tmp, outDir);
    fsyncDirSync(path.dirname(path.resolve(outDir)));
    return { files: written, merged };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw noSpaceAt(err, path.resolve(outDir));
  }
}
