/**
 * What an adapter folder holds (checked without loading tensor data) and whether it fits a base model.
 * The check runs before an import so a mismatch is reported while the user still has the file in hand, naming
 * the first thing that does not fit: the architecture, the layer count, or one target tensor's shape.
 */
import path from 'node:path';
import { GraftError } from '../errors.js';
import { printable } from '../printable.js';
import { SafetensorsFile } from '../io/safetensors.js';
import { targetsFromModules, type AdapterWeights } from './adapter-weights.js';
import {
  parsePeftName,
  PEFT_CONFIG_FILE,
  PEFT_WEIGHTS_FILE,
  peftWeightsFile,
  readPeftAdapter,
  readPeftConfig,
  writePeftAdapter,
  type PeftAdapter,
  type PeftTensorToWrite,
} from '../io/peft.js';
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
/** The decoder-layer modules Graft adapts: model.layers.N.(self_attn|mlp).<projection>. */
const LAYER_MODULE = /^model\.layers\.(\d+)\.((?:self_attn|mlp)\.[a-z_]+)$/;

/** Parse a PEFT LoRA tensor name (io/peft's parser) into layer, target and factor; undefined for anything else. */
export function parseLoraTensorName(name: string): { layer: number; target: LoraTarget; factor: 'A' | 'B' } | undefined {
  const p = parsePeftName(name);
  if (!p || (p.adapterName !== undefined && p.adapterName !== 'default')) return undefined;
  const m = LAYER_MODULE.exec(p.module);
  const target = m && MODULE_TO_TARGET.get(m[2]);
  if (!target) return undefined;
  return { layer: Number(m[1]), target, factor: p.factor };
}

/** The Hugging Face name of the base weight a LoRA target of a layer modifies. */
export function baseWeightName(layer: number, target: LoraTarget): string {
  return `model.layers.${layer}.${TARGET_MODULE[target]}.weight`;
}

/** The LoRA targets of adapter_config.json's target_modules (io/peft checked it is a list of names). */
function targetsOf(list: readonly string[], file: string): LoraTarget[] {
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
  // The one PEFT parser (io/peft.ts) checks the config; what follows is what Graft's import adds to it.
  const weightsFile = peftWeightsFile(dir);
  const cfgFile = path.join(dir, PEFT_CONFIG_FILE);
  const config = readPeftConfig(cfgFile);
  const { r, raw: cfg } = config;
  const targets = targetsOf(config.target_modules, cfgFile);
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
    throw new GraftError('BAD_FILE', `${cfgFile}: "layers_to_transform" should be a layer index or a list of them, got ${printable(JSON.stringify(ltt))}`, { file: cfgFile, where: 'layers_to_transform' });
  }
  return {
    dir,
    r,
    alpha: config.lora_alpha,
    rslora: config.use_rslora,
    dropout: config.lora_dropout,
    targets,
    rawConfig: cfg,
    tensors,
    numLayers: Math.max(...tensors.map((t) => t.layer)) + 1,
    layersToTransform,
    baseModelNameOrPath: config.base_model_name_or_path ?? undefined,
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

/**
 * Write adapter_config.json + adapter_model.safetensors for in-memory factors (training, blends, GGUF imports)
 * through the one PEFT writer (io/peft.ts).
 * Tensors are stored as `dtype` (F32 unless told) in layer-major, target order.
 */
export async function writePeftFiles(dir: string, w: AdapterWeights, opts: { baseModel?: string | null; dtype?: 'F32' | 'F16' | 'BF16' } = {}): Promise<void> {
  const out = new Map<string, PeftTensorToWrite>();
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
  const config = {
    r: w.r,
    lora_alpha: w.alpha,
    lora_dropout: 0,
    use_rslora: w.rslora,
    target_modules: w.targets.map((t) => TARGET_MODULE[t].split('.')[1]),
    base_model_name_or_path: opts.baseModel ?? null,
  };
  // Into `dir` as it is: a run's folder keeps its checkpoints, a library entry its graft.json.
  await writePeftAdapter(dir, { config, tensors: out, metadata: { format: 'pt' } }, { inPlace: true });
}
