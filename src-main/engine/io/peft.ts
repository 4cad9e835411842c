/**
 * The one PEFT LoRA codec: adapter_config.json (read and checked by one parser, written from one default),
 * adapter_model.safetensors, tensor names, and the atomic write of a folder. adapters/compat.ts builds the
 * import check and the engine's AdapterWeights on top of it; nothing else parses or writes these files.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GraftError } from '../errors.js';
import { printable } from '../printable.js';
import { fsyncDirSync, tempName, writeFileAtomicSync } from './atomic.js';
import { encodeSafetensors, openSafetensors, toF32, type SafetensorsDtype, type TensorToWrite } from './safetensors.js';

export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';

/** The adapter_config.json fields Graft uses; `raw` is the whole JSON, kept so export loses nothing. */
export interface PeftLoraConfig {
  r: number;
  lora_alpha: number;
  target_modules: string[];
  lora_dropout: number;
  use_rslora: boolean;
  base_model_name_or_path: string | null;
  raw: Record<string, unknown>;
}

export interface PeftTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** float32 view (F16/BF16 widened). */
  data: Float32Array;
  /** Bytes exactly as stored, so an unchanged tensor is exported byte-identical. */
  raw: Buffer;
}

export interface PeftAdapter {
  config: PeftLoraConfig;
  /** PEFT names: base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight ... */
  tensors: Map<string, PeftTensor>;
  /** safetensors __metadata__ of the weights file. */
  metadata?: Record<string, string>;
}

/** What writePeftAdapter takes: a tensor given by raw bytes (written verbatim) or float32 data (encoded to dtype). */
export interface PeftTensorToWrite {
  dtype: SafetensorsDtype;
  shape: number[];
  data?: Float32Array;
  raw?: Uint8Array;
}
export interface PeftAdapterToWrite {
  config: Partial<Omit<PeftLoraConfig, 'raw'>> & Pick<PeftLoraConfig, 'r' | 'lora_alpha' | 'target_modules'> & { raw?: Record<string, unknown> };
  tensors: Map<string, PeftTensorToWrite>;
  metadata?: Record<string, string>;
}

/** A PEFT LoRA tensor name split apart, as parsePeftName gives it. */
export interface PeftName {
  /** The HF module path: model.layers.3.mlp.up_proj. */
  module: string;
  layer: number | null;
  factor: 'A' | 'B';
  /** PEFT's adapter name between the factor and `.weight` (`default`), when the file has one. */
  adapterName?: string;
}

/** A PEFT LoRA tensor name split into the HF module path and factor, or null when it is no LoRA factor. */
export function parsePeftName(name: string): PeftName | null {
  const m = /^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.([^.]+))?\.weight$/.exec(name);
  if (!m) return null;
  const layer = /(?:^|\.)layers\.(\d+)\./.exec(m[1]);
  return { module: m[1], layer: layer ? Number(layer[1]) : null, factor: m[2] as 'A' | 'B', ...(m[3] ? { adapterName: m[3] } : {}) };
}

export function peftName(module: string, factor: 'A' | 'B'): string {
  return `base_model.model.${module}.lora_${factor}.weight`;
}

/**
 * adapter_config.json read and checked: the one parser of a LoRA config, shared by the loader (readPeftAdapter)
 * and the import check (adapters/compat.ts), so a file one accepts the other does not refuse.
 */
export function readPeftConfig(file: string): PeftLoraConfig {
  if (!existsSync(file)) throw new GraftError('NOT_FOUND', `${file}: no such file (not a PEFT adapter folder?)`, { file });
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new GraftError('BAD_FILE', `${file}: not valid JSON (${printable((err as Error).message)})`, { file, cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new GraftError('BAD_FILE', `${file}: not a JSON object`, { file });
  const bad = (key: string, want: string): never => {
    throw new GraftError('BAD_FILE', `${file}: "${key}" should be ${want}, got ${JSON.stringify(raw[key])}`, { file, where: key });
  };
  if (raw.peft_type !== undefined && raw.peft_type !== 'LORA') {
    throw new GraftError('UNSUPPORTED', `${file}: peft_type ${JSON.stringify(raw.peft_type)} is not supported (only LORA)`, { file, where: 'peft_type' });
  }
  if (raw.use_dora === true) throw new GraftError('UNSUPPORTED', `${file}: DoRA adapters (use_dora) are not supported`, { file, where: 'use_dora' });
  const r = raw.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1) bad('r', 'a positive integer');
  // Required: `null` (what NaN becomes in JSON) must not load as something else and then fail at every use.
  const alpha = raw.lora_alpha;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) bad('lora_alpha', 'a number');
  for (const key of ['rank_pattern', 'alpha_pattern'] as const) {
    const v = raw[key];
    if (v && typeof v === 'object' && Object.keys(v).length > 0) throw new GraftError('UNSUPPORTED', `${file}: per-module ${key} is not supported`, { file, where: key });
  }
  const tm = raw.target_modules;
  if (!(typeof tm === 'string' || (Array.isArray(tm) && tm.every((x) => typeof x === 'string')))) bad('target_modules', 'a list of module names');
  return {
    r: r as number,
    lora_alpha: alpha as number,
    target_modules: typeof tm === 'string' ? [tm] : (tm as string[]),
    lora_dropout: typeof raw.lora_dropout === 'number' ? raw.lora_dropout : 0,
    use_rslora: raw.use_rslora === true,
    base_model_name_or_path: typeof raw.base_model_name_or_path === 'string' ? raw.base_model_name_or_path : null,
    raw,
  };
}

/** adapter_model.safetensors of a folder; a pickled adapter_model.bin (or nothing) is refused, naming the file. */
export function peftWeightsFile(dir: string): string {
  const wfile = join(dir, PEFT_WEIGHTS_FILE);
  if (existsSync(wfile)) return wfile;
  const bin = join(dir, 'adapter_model.bin');
  if (existsSync(bin)) throw new GraftError('UNSUPPORTED', `${dir}: holds adapter_model.bin (a Python pickle, which Graft does not load); save the adapter as safetensors`, { file: bin });
  throw new GraftError('NOT_FOUND', `${wfile}: no such file`, { file: wfile });
}

/** Read a PEFT LoRA folder (adapter_config.json + adapter_model.safetensors), checking A/B pairs fit together. */
export function readPeftAdapter(dir: string): PeftAdapter {
  const config = readPeftConfig(join(dir, PEFT_CONFIG_FILE));
  const wfile = peftWeightsFile(dir);
  const st = openSafetensors(wfile);
  const tensors = new Map<string, PeftTensor>();
  try {
    for (const name of st.names()) {
      const info = st.info(name);
      const raw = st.readRaw(name);
      tensors.set(name, { dtype: info.dtype, shape: [...info.shape], raw, data: toF32(raw, info.dtype, wfile, name) });
    }
  } finally {
    st.close();
  }
  checkPairs(tensors, wfile);
  return { config, tensors, metadata: st.metadata };
}

export function checkPairs(tensors: Map<string, { shape: number[] }>, file: string): void {
  for (const [name, t] of tensors) {
    const p = parsePeftName(name);
    if (!p) continue; // e.g. modules_to_save tensors: carried along untouched
    if (t.shape.length !== 2) throw new GraftError('BAD_FILE', `${file}: tensor ${name} has shape ${JSON.stringify(t.shape)}, expected 2-D`, { file, where: name });
    if (p.factor === 'B') continue;
    const bName = name.replace(/\.lora_A(\.[^.]+)?\.weight$/, '.lora_B$1.weight');
    const b = tensors.get(bName);
    if (!b) throw new GraftError('BAD_FILE', `${file}: tensor ${name} has no matching ${bName}`, { file, where: name });
    if (b.shape[1] !== t.shape[0]) throw new GraftError('BAD_FILE', `${file}: rank of ${name} (${t.shape[0]}) differs from ${bName} (${b.shape[1]})`, { file, where: bName });
  }
}

/** adapter_config.json as PEFT writes it for a LoRA on a causal LM (the fields PeftModel.from_pretrained reads). */
function freshConfig(): Record<string, unknown> {
  return {
    base_model_name_or_path: null,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    lora_alpha: 8,
    lora_dropout: 0,
    modules_to_save: null,
    peft_type: 'LORA',
    r: 8,
    target_modules: [],
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
  };
}

/** adapter_config.json content: the original JSON when there is one (export loses nothing), else a fresh one. */
export function peftConfigJson(c: PeftAdapterToWrite['config']): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(c.raw ?? freshConfig()), r: c.r, lora_alpha: c.lora_alpha, target_modules: c.target_modules };
  if (c.lora_dropout !== undefined) out.lora_dropout = c.lora_dropout;
  if (c.use_rslora !== undefined) out.use_rslora = c.use_rslora;
  if (c.base_model_name_or_path !== undefined) out.base_model_name_or_path = c.base_model_name_or_path;
  return out;
}

/**
 * Write a PEFT adapter folder atomically: everything goes into a temp folder beside `dir`, which is then
 * renamed into place (an existing folder is moved aside first and removed after), so readers see the old
 * folder or the new one, never a mix. `inPlace` writes the two files into `dir` instead (each atomically),
 * keeping what else the folder holds: a run's folder with its checkpoints, a library entry being made.
 */
export async function writePeftAdapter(dir: string, adapter: PeftAdapterToWrite, opts: { inPlace?: boolean } = {}): Promise<void> {
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, t] of adapter.tensors) {
    const data = t.raw ?? t.data;
    if (!data) throw new GraftError('BAD_INPUT', `tensor ${name}: neither raw bytes nor data given`, { where: name });
    tensors.set(name, { dtype: t.dtype, shape: t.shape, data });
  }
  checkPairs(tensors, dir);
  const chunks = encodeSafetensors(tensors, adapter.metadata ?? { format: 'pt' });
  const config = [Buffer.from(JSON.stringify(peftConfigJson(adapter.config), null, 2) + '\n')];
  if (opts.inPlace) {
    mkdirSync(dir, { recursive: true });
    writeFileAtomicSync(join(dir, PEFT_WEIGHTS_FILE), chunks);
    writeFileAtomicSync(join(dir, PEFT_CONFIG_FILE), config);
    return;
  }
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = tempName(dir);
  mkdirSync(tmp);
  try {
    writeFileAtomicSync(join(tmp, PEFT_WEIGHTS_FILE), chunks);
    writeFileAtomicSync(join(tmp, PEFT_CONFIG_FILE), config);
    fsyncDirSync(tmp);
    if (existsSync(dir)) {
      const old = join(dirname(dir), `.${basename(dir)}.old-${process.pid}-${Date.now()}`);
      renameSync(dir, old);
      renameSync(tmp, dir);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(tmp, dir);
    fsyncDirSync(dirname(dir));
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
