import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GraftError } from '../errors.js';
import { printable } from '../printable.js';
import type { TextTokenizer } from '../tokenize/types.js';
import { openGguf, type GgufFile } from './gguf.js';
import { supportedArchitectures } from './model-families.js';
import { GGUF_FAMILIES, type GgufFamily } from './gguf-families.js';
import { configFromGguf, ggufToHfName, unpermuteRows } from './gguf-hf.js';
import type { GgufValue } from './gguf-types.js';
import { SUPPORTED_ARCHITECTURES, type HfConfig } from './hf-config.js';
import { openSafetensors, type SafetensorsFile } from './safetensors.js';
import { checkWeights } from './weights-check.js';
import type { RawLocation } from './weight-threads.js';

export type { HfConfig } from './hf-config.js';
export { SUPPORTED_ARCHITECTURES } from './hf-config.js';

/**
 * Base-model weights, whatever the file format. Names are always Hugging Face names
 * (model.layers.N.self_attn.q_proj.weight ...) and shapes HF layout ([out, in] for linear weights).
 */
export interface WeightSource {
  readonly path: string;
  readonly format: 'safetensors' | 'gguf';
  readonly config: HfConfig;
  /** The GGUF key/value metadata (tokenizer, chat template), for GGUF sources only. */
  readonly ggufMetadata?: Record<string, GgufValue>;
  names(): string[];
  has(name: string): boolean;
  shape(name: string): number[];
  /** Stored dtype: safetensors names (F32, F16, BF16) or ggml type names (Q4_K, Q8_0, ...). */
  dtype(name: string): string;
  readF32(name: string): Float32Array;
  /** readF32 into the start of `out` (a view of it is returned), or null where this source cannot (then readF32). */
  readF32Into?(name: string, out: Float32Array): Float32Array | null;
  /** Where an F32 or BF16 tensor's bytes sit in its file (for the weight threads), or null. */
  rawLocation?(name: string): RawLocation | null;
  tokenizer(): Promise<TextTokenizer | null>;
  close(): void;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new GraftError('NOT_FOUND', `${file}: no such file`, { file, cause: err });
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new GraftError('BAD_FILE', `${file}: not valid JSON (${printable((err as Error).message)})`, { file, cause: err });
  }
}

/** Parse and check a config.json: a supported architecture and the numbers every builder needs. */
export function readHfConfig(file: string): HfConfig {
  const cfg = readJson(file) as HfConfig;
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new GraftError('BAD_FILE', `${file}: not a JSON object`, { file });
  const arch = cfg.architectures?.[0];
  if (!arch || !(SUPPORTED_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new GraftError('UNSUPPORTED', `${file}: architecture ${JSON.stringify(arch ?? null)} is not supported (supported: ${supportedArchitectures()})`, { file, where: 'architectures' });
  }
  for (const key of ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'vocab_size'] as const) {
    if (typeof cfg[key] !== 'number') throw new GraftError('BAD_FILE', `${file}: ${key} is missing or not a number`, { file, where: key });
  }
  return cfg;
}

class SafetensorsSource implements WeightSource {
  readonly format = 'safetensors' as const;
  private readonly where = new Map<string, SafetensorsFile>();
  constructor(readonly path: string, readonly config: HfConfig, private readonly files: SafetensorsFile[]) {
    for (const f of files) for (const n of f.names()) this.where.set(n, f);
  }
  private file(name: string): SafetensorsFile {
    const f = this.where.get(name);
    if (!f) throw new GraftError('NOT_FOUND', `${this.path}: model has no tensor named ${name}`, { file: this.path, where: name });
    return f;
  }
  names() { return [...this.where.keys()]; }
  has(name: string) { return this.where.has(name); }
  shape(name: string) { return [...this.file(name).info(name).shape]; }
  dtype(name: string) { return this.file(name).info(name).dtype; }
  readF32(name: string) { return this.file(name).readF32(name); }
  readF32Into(name: string, out: Float32Array) { return this.file(name).readF32Into(name, out); }
  rawLocation(name: string): RawLocation | null {
    const f = this.file(name);
    const { dtype, fileOffset } = f.info(name);
    return dtype === 'F32' || dtype === 'BF16' ? { file: f.path, offset: fileOffset, dtype } : null;
  }
  async tokenizer(): Promise<TextTokenizer | null> {
    const { loadTokenizerFromDir } = await import('../tokenize/load.js');
    return loadTokenizerFromDir(this.path);
  }
  close() { for (const f of this.files) f.close(); }
}

function openSafetensorsFolder(dir: string): WeightSource {
  const config = readHfConfig(join(dir, 'config.json'));
  const indexFile = join(dir, 'model.safetensors.index.json');
  let shardNames: string[];
  let weightMap: Record<string, string> | null = null;
  if (existsSync(join(dir, 'model.safetensors'))) shardNames = ['model.safetensors'];
  else if (existsSync(indexFile)) {
    const index = readJson(indexFile) as { weight_map?: Record<string, string> };
    if (typeof index?.weight_map !== 'object' || index.weight_map === null) throw new GraftError('BAD_FILE', `${indexFile}: no weight_map`, { file: indexFile, where: 'weight_map' });
    weightMap = index.weight_map;
    shardNames = [...new Set(Object.values(weightMap))];
  } else {
    shardNames = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
    if (shardNames.length === 0) {
      throw new GraftError('NOT_FOUND', `${dir}: no model.safetensors, model.safetensors.index.json or *.safetensors (PyTorch .bin weights are not supported)`, { file: dir });
    }
  }
  const files: SafetensorsFile[] = [];
  try {
    for (const s of shardNames) files.push(openSafetensors(join(dir, s)));
    if (weightMap) {
      const byShard = new Map(shardNames.map((s, i) => [s, files[i]]));
      for (const [name, shard] of Object.entries(weightMap)) {
        if (!byShard.get(shard)!.has(name)) throw new GraftError('BAD_FILE', `${indexFile}: tensor ${name} is mapped to ${shard}, which does not hold it`, { file: indexFile, where: name });
      }
    }
  } catch (err) {
    for (const f of files) f.close();
    throw err;
  }
  return new SafetensorsSource(dir, config, files);
}

class GgufSource implements WeightSource {
  readonly format = 'gguf' as const;
  readonly config: HfConfig;
  readonly ggufMetadata: Record<string, GgufValue>;
  private readonly toGguf = new Map<string, string>();
  constructor(readonly path: string, private readonly g: GgufFile) {
    this.ggufMetadata = g.metadata;
    const arch = String(g.metadata['general.architecture']);
    for (const n of g.names()) {
      const hf = ggufToHfName(n, arch);
      if (hf) this.toGguf.set(hf, n);
    }
    const ropeFreqs = g.has('rope_freqs.weight') ? g.readF32('rope_freqs.weight') : undefined;
    const longrope = g.has('rope_factors_long.weight') && g.has('rope_factors_short.weight') ? { long: g.readF32('rope_factors_long.weight'), short: g.readF32('rope_factors_short.weight') } : undefined;
    this.config = configFromGguf(g.metadata, new Set(g.names()), path, ropeFreqs, longrope);
    // A GGUF without a vocabulary (converted with no tokenizer) still has the embedding's rows.
    if (!this.config.vocab_size && g.has('token_embd.weight')) this.config.vocab_size = g.info('token_embd.weight').shape[0];
    this.family = GGUF_FAMILIES[arch];
  }
  private readonly family: GgufFamily;
  private gname(name: string): string {
    const n = this.toGguf.get(name);
    if (!n) throw new GraftError('NOT_FOUND', `${this.path}: model has no tensor named ${name}`, { file: this.path, where: name });
    return n;
  }
  names() { return [...this.toGguf.keys()]; }
  has(name: string) { return this.toGguf.has(name); }
  shape(name: string) { return [...this.g.info(this.gname(name)).shape]; }
  dtype(name: string) { return this.g.info(this.gname(name)).typeName; }
  readF32(name: string): Float32Array {
    const gname = this.gname(name);
    const data = this.g.readF32(gname);
    // Gemma 3's converter stores norm weights as 1 + w; HF's (and Graft's) norm adds the 1 itself.
    if (this.family.normShift && name.endsWith('norm.weight')) return data.map((x) => x - this.family.normShift!);
    // Only llama.cpp's Llama converter (and SmolLM3's, a subclass) permutes Q/K rows; the others keep HF order.
    if (!this.family.permuteQK) return data;
    const isQ = /self_attn\.q_proj\.(weight|bias)$/.test(name), isK = /self_attn\.k_proj\.(weight|bias)$/.test(name);
    if (!isQ && !isK) return data;
    const shape = this.g.info(gname).shape;
    const heads = isQ ? this.config.num_attention_heads : (this.config.num_key_value_heads ?? this.config.num_attention_heads);
    return unpermuteRows(data, shape[0], shape.length > 1 ? shape[1] : 1, heads);
  }
  async tokenizer(): Promise<TextTokenizer | null> {
    const { loadTokenizerFromGguf } = await import('../tokenize/load.js');
    return loadTokenizerFromGguf(this.g.metadata, this.path);
  }
  close() { this.g.close(); }
}

function checked(src: WeightSource): WeightSource {
  try {
    checkWeights(src);
  } catch (err) {
    src.close();
    throw err;
  }
  return src;
}

/** Open a Hugging Face model folder (config.json + safetensors, sharded or not) or a .gguf file. */
export async function openModelSource(path: string): Promise<WeightSource> {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new GraftError('NOT_FOUND', `${path}: no such file or folder`, { file: path, cause: err });
  }
  if (st.isDirectory()) return checked(openSafetensorsFolder(path));
  if (path.toLowerCase().endsWith('.gguf')) {
    const g = openGguf(path);
    try {
      return checked(new GgufSource(path, g));
    } catch (err) {
      g.close();
      throw err;
    }
  }
  throw new GraftError('UNSUPPORTED', `${path}: expected a model folder (config.json + *.safetensors) or a .gguf file`, { file: path });
}
