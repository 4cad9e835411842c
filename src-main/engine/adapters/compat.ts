/**
 * What an adapter folder holds (checked without loading tensor data) and whether it fits a base model.
 * The check runs before an import so a mismatch is reported while the user still has the file in hand, naming
 * the first thing that does not fit: the architecture, the layer count, or one target tensor's shape.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GraftError } from '../errors.js';
import { printable } from '../printable.js';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../io/safetensors.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import { targetsFromModules, type AdapterWeights } from './adapter-weights.js';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, readPeftAdapter, type PeftAdapter } from '../io/peft.js';
import type { WeightSource } from '../io/model-source.js';
import { MODULE_TARGETS, TARGET_MODULE, peftTensorName, type LoraTarget } from './lora-config.js';

export { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE };

export interface AdapterTensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  layer: number;
  target: LoraTarget;
  factor: 'A' | 'B';
}

export interface PeftAdapterInfo {
  dir: string;
  r: number;
  alpha: number;
  rslora: boolean;
  dropout: number;
  targets: LoraTarget[];
  /** The adapter_config.json as written, kept so an export can give it back unchanged. */
  rawConfig: Record<string, unknown>;
  tensors: AdapterTensorInfo[];
  /** Highest layer index + 1 among the tensors. */
  numLayers: number;
  /** PEFT's `layers_to_transform`, when the adapter covers only some layers on purpose. */
  layersToTransform?: number[];
  baseModelNameOrPath?: string;
}

const MODULE_TO_TARGET = new Map<string, LoraTarget>(MODULE_TARGETS.map((t) => [TARGET_MODULE[t], t]));
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);
const TENSOR_NAME = /^(?:base_model\.model\.)?model\.layers\.(\d+)\.((?:self_attn|mlp)\.[a-z_]+)\.lora_([AB])(?:\.default)?\.weight$/;

/** Parse a PEFT LoRA tensor name into layer, target and factor; undefined for anything else. */
export function parseLoraTensorName(name: string): { layer: number; target: LoraTarget; factor: 'A' | 'B' } | undefined {
  const m = TENSOR_NAME.exec(name);
  if (!m) return undefined;
  const target = MODULE_TO_TARGET.get(m[2]);
  if (!target) return undefined;
  return { layer: Number(m[1]), target, factor: m[3] as 'A' | 'B' };
}

/** The Hugging Face name of the base weight a LoRA target of a layer modifies. */
export function baseWeightName(layer: number, target: LoraTarget): string {
  return `model.layers.${layer}.${TARGET_MODULE[target]}.weight`;
}

function readConfig(file: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new GraftError('NOT_FOUND', `${file}: no such file`, { file });
    throw new GraftError('BAD_FILE', `${file}: not valid JSON (${printable((err as Error).message)})`, { file, cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new GraftError('BAD_FILE', `${file}: not a JSON object`, { file });
  return raw as Record<string, unknown>;
}

function targetsOf(cfg: Record<string, unknown>, file: string): LoraTarget[] {
  const tm = cfg.target_modules;
  const list = typeof tm === 'string' ? [tm] : tm;
  if (!Array.isArray(list)) throw new GraftError('BAD_FILE', `${file}: target_modules should be a list of module names`, { file, where: 'target_modules' });
  const out: LoraTarget[] = [];
  for (const m of list) {
    const t = MODULE_TARGETS.find((x) => TARGET_MODULE[x].endsWith(`.${m}`) || TARGET_MODULE[x] === m);
    if (!t) throw new GraftError('UNSUPPORTED', `${file}: target module ${JSON.stringify(m)} is not one Graft supports (${MODULE_TARGETS.map((x) => TARGET_MODULE[x].split('.')[1]).join(', ')})`, { file, where: 'target_modules' });
    out.push(t);
  }
  return MODULE_TARGETS.filter((t) => out.includes(t));
}

/** Validate a PEFT LoRA folder: config fields, safetensors header and sizes, and that every tensor is a LoRA factor. */
export function inspectPeftAdapter(dir: string): PeftAdapterInfo {
  const cfgFile = path.join(dir, PEFT_CONFIG_FILE);
  const weightsFile = path.join(dir, PEFT_WEIGHTS_FILE);
  if (!existsSync(weightsFile) && existsSync(path.join(dir, 'adapter_model.bin'))) {
    throw new GraftError('UNSUPPORTED', `${dir}: holds adapter_model.bin (a Python pickle, which Graft does not load); save the adapter as safetensors`, { file: path.join(dir, 'adapter_model.bin') });
  }
  const cfg = readConfig(cfgFile);
  const bad = (key: string, want: string): never => {
    throw new GraftError('BAD_FILE', `${cfgFile}: "${key}" should be ${want}, got ${JSON.stringify(cfg[key])}`, { file: cfgFile, where: key });
  };
  if (cfg.peft_type !== undefined && cfg.peft_type !== 'LORA') {
    throw new GraftError('UNSUPPORTED', `${cfgFile}: peft_type ${JSON.stringify(cfg.peft_type)} is not supported (only LORA)`, { file: cfgFile, where: 'peft_type' });
  }
  if (cfg.use_dora === true) throw new GraftError('UNSUPPORTED', `${cfgFile}: DoRA adapters are not supported`, { file: cfgFile, where: 'use_dora' });
  const r = cfg.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1) bad('r', 'a positive integer');
  // Required, as the loader (readPeftAdapter) requires it: `null` (what NaN becomes in JSON) must not import
  // as something else and then fail at every use.
  const alpha = cfg.lora_alpha;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) bad('lora_alpha', 'a number');
  for (const key of ['rank_pattern', 'alpha_pattern'] as const) {
    const v = cfg[key];
    if (v && typeof v === 'object' && Object.keys(v).length > 0) {
      throw new GraftError('UNSUPPORTED', `${cfgFile}: per-module ${key} is not supported`, { file: cfgFile, where: key });
    }
  }
  const targets = targetsOf(cfg, cfgFile);
  const st = SafetensorsFile.open(weightsFile);
  const tensors: AdapterTensorInfo[] = [];
  try {
    for (const name of st.names()) {
      const info = st.info(name);
      const parsed = parseLoraTensorName(name);
      if (!parsed) throw new GraftError('BAD_FILE', `${weightsFile}: tensor ${name} is not a LoRA factor Graft knows (expected names like base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight)`, { file: weightsFile, where: name });
      if (!FLOAT_DTYPES.has(info.dtype)) throw new GraftError('BAD_FILE', `${weightsFile}: tensor ${name} has dtype ${info.dtype}; LoRA factors are floating point`, { file: weightsFile, where: name });
      if (info.shape.length !== 2) throw new GraftError('BAD_FILE', `${weightsFile}: tensor ${name} has shape ${JSON.stringify(info.shape)}, not a matrix`, { file: weightsFile, where: name });
      const rankDim = parsed.factor === 'A' ? info.shape[0] : info.shape[1];
      if (rankDim !== r) throw new GraftError('BAD_FILE', `${weightsFile}: tensor ${name} has rank ${rankDim} but adapter_config.json says r=${r}`, { file: weightsFile, where: name });
      tensors.push({ name, dtype: info.dtype, shape: info.shape, ...parsed });
    }
  } finally {
    st.close();
  }
  if (tensors.length === 0) throw new GraftError('BAD_FILE', `${weightsFile}: holds no LoRA tensors`, { file: weightsFile });
  const order = (t: AdapterTensorInfo) => t.layer * 100 + MODULE_TARGETS.indexOf(t.target) * 2 + (t.factor === 'A' ? 0 : 1);
  tensors.sort((a, b) => order(a) - order(b));
  for (const t of tensors) {
    const partner = t.factor === 'A' ? 'B' : 'A';
    if (!tensors.some((u) => u.layer === t.layer && u.target === t.target && u.factor === partner)) {
      throw new GraftError('BAD_FILE', `${weightsFile}: tensor ${t.name} has no matching lora_${partner}`, { file: weightsFile, where: t.name });
    }
  }
  const ltt = cfg.layers_to_transform;
  const layersToTransform = typeof ltt === 'number' ? [ltt] : Array.isArray(ltt) ? (ltt as number[]) : undefined;
  if ((ltt !== undefined && ltt !== null && !layersToTransform) || layersToTransform?.some((l) => !Number.isInteger(l) || l < 0)) {
    bad('layers_to_transform', 'a layer index or a list of them');
  }
  return {
    dir,
    r: r as number,
    alpha: alpha as number,
    rslora: cfg.use_rslora === true,
    dropout: typeof cfg.lora_dropout === 'number' ? cfg.lora_dropout : 0,
    targets,
    rawConfig: cfg,
    tensors,
    numLayers: Math.max(...tensors.map((t) => t.layer)) + 1,
    layersToTransform,
    baseModelNameOrPath: typeof cfg.base_model_name_or_path === 'string' ? cfg.base_model_name_or_path : undefined,
  };
}

/** The parts of a base model the check needs; a WeightSource provides them. */
export interface BaseModelShapes {
  /** Hugging Face model_type: llama, qwen2, qwen3. */
  arch: string;
  numLayers: number;
  shapeOf(hfName: string): readonly number[] | undefined;
  /** Where the base came from, for messages. */
  label?: string;
}

export interface AdapterShapes {
  /** The architecture the adapter was trained on, when known (graft.json, GGUF general.architecture). */
  arch?: string;
  tensors: Pick<AdapterTensorInfo, 'name' | 'shape' | 'layer' | 'target' | 'factor'>[];
  numLayers: number;
  layersToTransform?: number[];
  label?: string;
}

/** The shapes a compatibility check needs, from an opened base model. */
export function baseShapesOf(source: WeightSource): BaseModelShapes {
  const c = source.config;
  return {
    arch: c.model_type ?? c.architectures?.[0] ?? '',
    numLayers: c.num_hidden_layers,
    shapeOf: (n) => (source.has(n) ? source.shape(n) : undefined),
    label: `base ${source.path}`,
  };
}

/** One spelling for an architecture: HF class names (Qwen2ForCausalLM) and model types (qwen2, gemma3_text) both become qwen2, gemma3. */
export function normalizeArch(arch: string): string {
  return arch.toLowerCase().replace(/forcausallm$/, '').replace(/_text$/, '');
}

function incompatible(msg: string, where?: string): never {
  throw new GraftError('INCOMPATIBLE', msg, { where });
}

/** Throws INCOMPATIBLE naming the first mismatch: architecture, then layer count, then tensors in layer order. */
export function checkCompatibility(adapter: AdapterShapes, base: BaseModelShapes): void {
  const a = adapter.label ?? 'the adapter';
  const b = base.label ?? 'the base model';
  if (adapter.arch && normalizeArch(adapter.arch) !== normalizeArch(base.arch)) {
    const first = adapter.tensors[0];
    incompatible(`${a} was made for a ${adapter.arch} model but ${b} is ${base.arch}${first ? ` (first target tensor: ${first.name})` : ''}`, first?.name ?? 'architecture');
  }
  const tooDeep = adapter.tensors.find((t) => t.layer >= base.numLayers);
  if (tooDeep) incompatible(`${a} has tensor ${tooDeep.name} for layer ${tooDeep.layer}, but ${b} has only ${base.numLayers} layers`, tooDeep.name);
  if (!adapter.layersToTransform && adapter.numLayers !== base.numLayers) {
    incompatible(`${a} covers ${adapter.numLayers} layers but ${b} has ${base.numLayers}`, 'num_hidden_layers');
  }
  for (const t of adapter.tensors) {
    const wName = baseWeightName(t.layer, t.target);
    const w = base.shapeOf(wName);
    if (!w) incompatible(`${b} has no tensor ${wName}, which ${a}'s ${t.name} modifies`, t.name);
    if (w.length !== 2) incompatible(`${b}'s ${wName} has shape ${JSON.stringify(w)}, not a matrix`, t.name);
    const [out, inp] = w;
    const ok = t.factor === 'A' ? t.shape[1] === inp : t.shape[0] === out;
    if (!ok) {
      const want = t.factor === 'A' ? `[r, ${inp}]` : `[${out}, r]`;
      incompatible(`${a}'s tensor ${t.name} has shape ${JSON.stringify(t.shape)} but ${b}'s ${wName} is ${JSON.stringify(w)}, so it needs ${want}`, t.name);
    }
  }
}

/**
 * A PEFT adapter as read by io/peft, in the float32 form the engine and the blend take, keyed by canonical
 * PEFT names (base_model.model.model.layers.N.<module>.lora_A.weight) whatever prefix the file used.
 */
export function adapterWeightsFromPeft(p: PeftAdapter, file: string): AdapterWeights {
  const tensors = new Map<string, Float32Array>();
  const r = p.config.r;
  for (const [name, t] of p.tensors) {
    const parsed = parseLoraTensorName(name);
    if (!parsed) throw new GraftError('UNSUPPORTED', `${file}: tensor ${printable(name)} is not a LoRA factor Graft applies`, { file, where: printable(name) });
    if (!FLOAT_DTYPES.has(t.dtype)) throw new GraftError('BAD_FILE', `${file}: tensor ${printable(name)} has dtype ${t.dtype}; LoRA factors are floating point`, { file, where: printable(name) });
    // The graph reads r rows of A and r columns of B: another rank would read past them or leave some out.
    const rank = parsed.factor === 'A' ? t.shape[0] : t.shape[1];
    if (t.shape.length !== 2 || rank !== r) {
      throw new GraftError('BAD_FILE', `${file}: tensor ${printable(name)} has shape [${t.shape.join(', ')}], but r is ${r} (adapter_config.json)`, { file, where: printable(name) });
    }
    tensors.set(peftTensorName(parsed.layer, parsed.target, parsed.factor), t.data);
  }
  return { r, alpha: p.config.lora_alpha, rslora: p.config.use_rslora, targets: targetsFromModules(p.config.target_modules, file), tensors, source: file };
}

/** Read a PEFT folder into AdapterWeights. */
export function readAdapterWeights(dir: string): AdapterWeights {
  return adapterWeightsFromPeft(readPeftAdapter(dir), dir);
}

/** Read a PEFT folder into AdapterWeights, with what inspectPeftAdapter found (validated names, layers). */
export function readPeftWeights(dir: string): AdapterWeights & { info: PeftAdapterInfo } {
  return { ...readAdapterWeights(dir), info: inspectPeftAdapter(dir) };
}

/** adapter_config.json as PEFT writes it for a LoRA on a causal LM (the fields PeftModel.from_pretrained reads). */
export function peftConfigJson(w: Pick<AdapterWeights, 'r' | 'alpha' | 'rslora' | 'targets'>, baseModel: string | null, dropout = 0): Record<string, unknown> {
  return {
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    lora_alpha: w.alpha,
    lora_dropout: dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: w.r,
    target_modules: w.targets.map((t) => TARGET_MODULE[t].split('.')[1]),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: w.rslora,
  };
}

/**
 * Write adapter_config.json + adapter_model.safetensors for in-memory factors (blends, GGUF imports).
 * Tensors are stored as `dtype` (F32 unless told) in layer-major, target order.
 */
export async function writePeftFiles(dir: string, w: AdapterWeights, opts: { baseModel?: string | null; dtype?: 'F32' | 'F16' | 'BF16' } = {}): Promise<void> {
  const out = new Map<string, TensorToWrite>();
  const layers = new Set<number>();
  for (const name of w.tensors.keys()) {
    const p = parseLoraTensorName(name);
    if (!p) throw new GraftError('BAD_INPUT', `tensor ${name} is not a LoRA factor`, { where: name });
    layers.add(p.layer);
  }
  for (const layer of [...layers].sort((a, b) => a - b)) {
    for (const target of w.targets) {
      for (const factor of ['A', 'B'] as const) {
        const name = peftTensorName(layer, target, factor);
        const data = w.tensors.get(name);
        if (!data) throw new GraftError('BAD_INPUT', `adapter is missing ${name}`, { where: name });
        const other = data.length / w.r;
        out.set(name, { dtype: opts.dtype ?? 'F32', shape: factor === 'A' ? [w.r, other] : [other, w.r], data });
      }
    }
  }
  await writeSafetensors(path.join(dir, PEFT_WEIGHTS_FILE), out, { format: 'pt' });
  writeFileAtomicSync(path.join(dir, PEFT_CONFIG_FILE), [Buffer.from(JSON.stringify(peftConfigJson(w, opts.baseModel ?? null), null, 2) + '\n')]);
}
