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

/** A PEFT LoRA tensor name split into the HF module path and factor, or null when it is no LoRA factor. */
export function parsePeftName(name: string): { module: string; layer: number | null; factor: 'A' | 'B' } | null {
  const m = /^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(name);
  if (!m) return null;
  const layer = /(?:^|\.)layers\.(\d+)\./.exec(m[1]);
  return { module: m[1], layer: layer ? Number(layer[1]) : null, factor: m[2] as 'A' | 'B' };
}

export function peftName(module: string, factor: 'A' | 'B'): string {
  return `base_model.model.${module}.lora_${factor}.weight`;
}

function parseConfig(file: string): PeftLoraConfig {
  if (!existsSync(file)) throw new GraftError('NOT_FOUND', `${file}: no such file (not a PEFT adapter folder?)`, { file });
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new GraftError('BAD_FILE', `${file}: not valid JSON (${printable((err as Error).message)})`, { file, cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new GraftError('BAD_FILE', `${file}: not a JSON object`, { file });
  const bad = (key: string, why: string) => new GraftError('BAD_FILE', `${file}: ${key} ${why}`, { file, where: key });
  if (raw.peft_type !== undefined && raw.peft_type !== 'LORA') {
    throw new GraftError('UNSUPPORTED', `${file}: peft_type ${JSON.stringify(raw.peft_type)} is not supported (LORA is)`, { file, where: 'peft_type' });
  }
  if (raw.use_dora === true) throw new GraftError('UNSUPPORTED', `${file}: DoRA adapters (use_dora) are not supported`, { file, where: 'use_dora' });
  if (!Number.isInteger(raw.r) || (raw.r as number) <= 0) throw bad('r', 'must be a positive integer');
  if (typeof raw.lora_alpha !== 'number') throw bad('lora_alpha', 'must be a number');
  const tm = raw.target_modules;
  if (!(typeof tm === 'string' || (Array.isArray(tm) && tm.every((x) => typeof x === 'string')))) throw bad('target_modules', 'must be a list of module names');
  return {
    r: raw.r as number,
    lora_alpha: raw.lora_alpha,
    target_modules: typeof tm === 'string' ? [tm] : (tm as string[]),
    lora_dropout: typeof raw.lora_dropout === 'number' ? raw.lora_dropout : 0,
    use_rslora: raw.use_rslora === true,
    base_model_name_or_path: typeof raw.base_model_name_or_path === 'string' ? raw.base_model_name_or_path : null,
    raw,
  };
}

/** Read a PEFT LoRA folder (adapter_config.json + adapter_model.safetensors), checking A/B pairs fit together. */
export function readPeftAdapter(dir: string): PeftAdapter {
  const config = parseConfig(join(dir, PEFT_CONFIG_FILE));
  const wfile = join(dir, PEFT_WEIGHTS_FILE);
  if (!existsSync(wfile)) {
    const bin = existsSync(join(dir, 'adapter_model.bin'));
    throw new GraftError(bin ? 'UNSUPPORTED' : 'NOT_FOUND', bin ? `${dir}: adapter_model.bin (PyTorch pickle) is not supported; save with safetensors` : `${wfile}: no such file`, { file: wfile });
  }
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

/** adapter_config.json content: the original JSON when there is one, else a complete config PEFT's LoraConfig accepts. */
function configJson(c: PeftAdapterToWrite['config']): Record<string, unknown> {
  const base: Record<string, unknown> = c.raw ? { ...c.raw } : {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: null, revision: null, inference_mode: true,
    r: 8, lora_alpha: 8, lora_dropout: 0, target_modules: [], bias: 'none', fan_in_fan_out: false, use_rslora: false,
    use_dora: false, init_lora_weights: true, modules_to_save: null, layers_to_transform: null, layers_pattern: null,
    rank_pattern: {}, alpha_pattern: {},
  };
  const out: Record<string, unknown> = { ...base, r: c.r, lora_alpha: c.lora_alpha, target_modules: c.target_modules };
  if (c.lora_dropout !== undefined) out.lora_dropout = c.lora_dropout;
  if (c.use_rslora !== undefined) out.use_rslora = c.use_rslora;
  if (c.base_model_name_or_path !== undefined) out.base_model_name_or_path = c.base_model_name_or_path;
  return out;
}

/**
 * Write a PEFT adapter folder atomically: everything goes into a temp folder beside `dir`, which is then
 * renamed into place (an existing folder is moved aside first and removed after), so readers see the old
 * folder or the new one, never a mix.
 */
export async function writePeftAdapter(dir: string, adapter: PeftAdapterToWrite): Promise<void> {
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, t] of adapter.tensors) {
    const data = t.raw ?? t.data;
    if (!data) throw new GraftError('BAD_INPUT', `tensor ${name}: neither raw bytes nor data given`, { where: name });
    tensors.set(name, { dtype: t.dtype, shape: t.shape, data });
  }
  checkPairs(tensors, dir);
  const chunks = encodeSafetensors(tensors, adapter.metadata ?? { format: 'pt' });
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = tempName(dir);
  mkdirSync(tmp);
  try {
    writeFileAtomicSync(join(tmp, PEFT_WEIGHTS_FILE), chunks);
    writeFileAtomicSync(join(tmp, PEFT_CONFIG_FILE), [Buffer.from(JSON.stringify(configJson(adapter.config), null, 2) + '\n')]);
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
