/**
 * PEFT folders of the non-LoRA methods (DoRA, IA³, prefix tuning): adapter_config.json +
 * adapter_model.safetensors, which is what PeftModel.from_pretrained loads. Reading names the method
 * from the config (peft_type, use_dora), builds it for the base's spec and checks every tensor's name and
 * shape against it; writing keeps each tensor's stored bytes where they were read unchanged, so an
 * import → export round trip is byte-identical.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GraftError } from '../errors.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import { isAdapterHubConfig, readAdapterHubFolder } from './adapterhub-import.js';
import { isAdapterHubFusionFolder, readAdapterHubFusion } from './adapterhub-fusion.js';
import { encodeSafetensors, openSafetensors, type SafetensorsDtype, type TensorToWrite } from '../io/safetensors.js';
import type { ModelSpec } from '../models/spec.js';
import { targetsFromModules } from './adapter-weights.js';
import { bitfitMethod } from './bitfit.js';
import { type BottleneckConfig, bottleneckMethod } from './bottleneck.js';
import { doraMethod } from './dora.js';
import { fusionMethod } from './fusion.js';
import { ia3Method } from './ia3.js';
import type { MethodAdapter } from './method.js';
import { size } from './method.js';
import { prefixMethod } from './prefix.js';

export const CONFIG_FILE = 'adapter_config.json';
export const WEIGHTS_FILE = 'adapter_model.safetensors';

export type PeftMethodKind = 'dora' | 'ia3' | 'prefix' | 'bottleneck' | 'bitfit' | 'fusion';

export interface MethodFolder {
  method: MethodAdapter;
  /** fp32 values by PEFT name. */
  tensors: Map<string, Float32Array>;
  /** Stored dtype and bytes by name, for a byte-identical export. */
  stored: Map<string, { dtype: SafetensorsDtype; shape: number[]; raw: Buffer }>;
  rawConfig: Record<string, unknown>;
}

/** Which non-LoRA method a PEFT config describes; null for plain LoRA (handled by compat.ts). */
export function peftMethodKind(cfg: Record<string, unknown>, file: string): PeftMethodKind | null {
  if (cfg.graft_method === 'bottleneck' || cfg.graft_method === 'bitfit' || cfg.graft_method === 'fusion') return cfg.graft_method;
  if (isAdapterHubConfig(cfg)) return 'bottleneck';
  const t = cfg.peft_type;
  if (t === 'LORA') return cfg.use_dora === true ? 'dora' : null;
  if (t === 'IA3') return 'ia3';
  if (t === 'PREFIX_TUNING') {
    if (cfg.prefix_projection === true)
      throw new GraftError('UNSUPPORTED', `${file}: prefix_projection (the reparametrization MLP) is not supported yet; save the prefix without it`, { file, where: 'prefix_projection' });
    return 'prefix';
  }
  throw new GraftError('UNSUPPORTED', `${file}: peft_type ${String(t)} is not one Graft runs (LORA, LORA with use_dora, IA3, PREFIX_TUNING)`, { file, where: 'peft_type' });
}

export function readPeftConfig(dir: string): Record<string, unknown> {
  const file = join(dir, CONFIG_FILE);
  if (!existsSync(file)) throw new GraftError('NOT_FOUND', `${file}: no such file`, { file });
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('not a JSON object');
    return raw as Record<string, unknown>;
  } catch (err) {
    throw new GraftError('BAD_FILE', `${file}: ${(err as Error).message}`, { file, cause: err });
  }
}

/** The method a config describes, built for `spec` (shapes follow the base). */
export function methodFromConfig(spec: ModelSpec, cfg: Record<string, unknown>, file: string): MethodAdapter {
  const num = (k: string) => {
    const v = cfg[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new GraftError('BAD_FILE', `${file}: ${k} should be a number`, { file, where: k });
    return v;
  };
  switch (peftMethodKind(cfg, file)) {
    case 'dora':
      return doraMethod(spec, { r: num('r'), alpha: num('lora_alpha'), rslora: cfg.use_rslora === true, targets: targetsFromModules(cfg.target_modules as string[], file) });
    case 'ia3':
      return ia3Method(spec, {
        targets: targetsFromModules(cfg.target_modules as string[], file),
        feedforward: cfg.feedforward_modules ? targetsFromModules(cfg.feedforward_modules as string[], file) : [],
      });
    case 'prefix': {
      const layers = num('num_layers');
      if (layers !== spec.layers) throw new GraftError('INCOMPATIBLE', `${file}: num_layers is ${layers}, the model has ${spec.layers}`, { file, where: 'num_layers' });
      return prefixMethod(spec, { virtualTokens: num('num_virtual_tokens') });
    }
    case 'bitfit':
      return bitfitMethod(spec, { targets: targetsFromModules(cfg.target_modules as string[], file) });
    case 'bottleneck':
      return bottleneckMethod(spec, bottleneckConfigOf(cfg, file));
    case 'fusion': {
      // AdapterFusion's folder holds its frozen adapters in adapters/K (fusion.ts): read and check each.
      const parts = Array.isArray(cfg.adapters) ? (cfg.adapters as { dir?: unknown; tensors_sha256?: unknown }[]) : [];
      const fused = parts.map((p, k) => {
        const partDir = join(dirname(file), typeof p.dir === 'string' ? p.dir : `adapters/${k}`);
        const folder = readMethodFolder(partDir, spec);
        if (folder.rawConfig.graft_method !== 'bottleneck') throw new GraftError('BAD_FILE', `${partDir}: a fused adapter must be a bottleneck adapter`, { file, where: `adapters[${k}]` });
        return { config: bottleneckConfigOf(folder.rawConfig, join(partDir, CONFIG_FILE)), tensors: folder.tensors, label: partDir, digest: p.tensors_sha256 };
      });
      const method = fusionMethod(spec, fused, typeof cfg.fusion_name === 'string' ? cfg.fusion_name : 'fusion');
      const want = (method.peftConfig().adapters as { tensors_sha256: string }[]).map((a) => a.tensors_sha256);
      fused.forEach((f, k) => {
        if (f.digest !== want[k]) throw new GraftError('BAD_FILE', `${f.label}: its tensors are not the ones this fusion was trained over (tensors_sha256 differs)`, { file, where: `adapters[${k}]` });
      });
      return method;
    }
    default:
      throw new GraftError('BAD_INPUT', `${file}: a plain LoRA adapter, not a DoRA/IA³/prefix one`, { file, where: 'peft_type' });
  }
}

/** A bottleneck adapter's settings from its adapter_config.json (Graft's layout, AdapterHub's field names). */
export function bottleneckConfigOf(cfg: Record<string, unknown>, file: string): BottleneckConfig {
  const num = (k: string) => {
    const v = cfg[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new GraftError('BAD_FILE', `${file}: ${k} should be a number`, { file, where: k });
    return v;
  };
  const kind = cfg.is_parallel === true ? 'parallel' : cfg.mh_adapter === true ? 'houlsby' : 'pfeiffer';
  const nl = cfg.non_linearity === 'swish' || cfg.non_linearity === 'silu' ? 'silu' : cfg.non_linearity === 'relu' ? 'relu' : null;
  if (!nl) throw new GraftError('UNSUPPORTED', `${file}: non_linearity ${String(cfg.non_linearity)} is not supported (relu, swish)`, { file, where: 'non_linearity' });
  return { kind, name: String(cfg.adapter_name ?? 'graft'), reductionFactor: num('reduction_factor'), size: num('bottleneck_size'), nonLinearity: nl, scaling: num('scaling') };
}

export function readMethodFolder(dir: string, spec: ModelSpec): MethodFolder {
  if (isAdapterHubFusionFolder(dir)) return readAdapterHubFusion(dir, spec);
  const cfgFile = join(dir, CONFIG_FILE);
  const rawConfig = readPeftConfig(dir);
  if (isAdapterHubConfig(rawConfig)) return readAdapterHubFolder(dir, spec);
  const method = methodFromConfig(spec, rawConfig, cfgFile);
  const wFile = join(dir, WEIGHTS_FILE);
  if (!existsSync(wFile)) throw new GraftError('NOT_FOUND', `${wFile}: no such file (a pickle adapter_model.bin is not read: pickle can run code)`, { file: wFile });
  const st = openSafetensors(wFile);
  const tensors = new Map<string, Float32Array>();
  const stored: MethodFolder['stored'] = new Map();
  try {
    for (const p of method.params) {
      if (!st.has(p.name)) throw new GraftError('NOT_FOUND', `${wFile}: tensor ${p.name} is missing`, { file: wFile, where: p.name });
      const info = st.info(p.name);
      if (size(info.shape) !== size(p.shape) || info.shape.length !== p.shape.length)
        throw new GraftError('INCOMPATIBLE', `${wFile}: ${p.name} is [${info.shape}], the model needs [${p.shape}]`, { file: wFile, where: p.name });
      tensors.set(p.name, st.readF32(p.name));
      stored.set(p.name, { dtype: info.dtype, shape: [...info.shape], raw: st.readRaw(p.name) });
    }
    const extra = st.names().filter((n) => !tensors.has(n));
    if (extra.length) throw new GraftError('INCOMPATIBLE', `${wFile}: tensor ${extra[0]} is not part of this ${method.kind} layout`, { file: wFile, where: extra[0] });
  } finally {
    st.close();
  }
  return { method, tensors, stored, rawConfig };
}

/**
 * Writes a method's PEFT files into `dir` (created if needed; other files there, such as a training run's
 * checkpoints/, are left alone), each file atomically, the weights before the config. A tensor given in
 * `stored` (an imported adapter exported unchanged) keeps those bytes; the rest are written as F32.
 * `config` defaults to the method's own.
 */
export function writeMethodFolder(dir: string, method: MethodAdapter, tensors: ReadonlyMap<string, Float32Array>, opts: { stored?: MethodFolder['stored']; config?: Record<string, unknown> } = {}): void {
  const out = new Map<string, TensorToWrite>();
  for (const p of method.params) {
    const data = tensors.get(p.name);
    if (!data) throw new GraftError('BAD_INPUT', `tensor ${p.name} is missing`, { where: p.name });
    const s = opts.stored?.get(p.name);
    out.set(p.name, s ? { dtype: s.dtype, shape: s.shape, data: s.raw } : { dtype: 'F32', shape: p.shape, data });
  }
  mkdirSync(dir, { recursive: true });
  // A fusion's frozen adapters first, so that its config never names a folder that is not there yet.
  method.frozen?.forEach((f, k) => writeMethodFolder(join(dir, 'adapters', String(k)), f.adapter, f.tensors));
  writeFileAtomicSync(join(dir, WEIGHTS_FILE), encodeSafetensors(out, { format: 'pt' }));
  writeFileAtomicSync(join(dir, CONFIG_FILE), [Buffer.from(JSON.stringify(opts.config ?? method.peftConfig(), null, 2) + '\n')]);
}
