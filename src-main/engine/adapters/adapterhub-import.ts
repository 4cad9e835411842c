/**
 * AdapterHub's saved layout of a bottleneck adapter (`model.save_adapter(dir, name)` in the `adapters`
 * library, loading.py): adapter_config.json = { "config": {architecture: "bottleneck", mh_adapter,
 * output_adapter, reduction_factor, non_linearity, original_ln_before, residual_before_ln, is_parallel,
 * scaling, ...}, "name", "model_class", "hidden_size", "version" } and the weights in adapter.safetensors
 * (use_safetensors) or pytorch_adapter.bin (a pickle, refused: unpickling can run arbitrary code). The tensor
 * names are the model's own (model.layers.i.{attention,output}_adapters.adapters.NAME...), which are Graft's
 * (bottleneck.ts), so an import is a config translation: only the configurations Graft computes exactly
 * (Houlsby, Pfeiffer, parallel as docs/adapter-methods.md defines them) are accepted; anything else (gating,
 * adapter layer norms, PHM, per-layer reduction factors, a learned scaling) is refused naming the field.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GraftError } from '../errors.js';
import { openSafetensors, toF32 } from '../io/safetensors.js';
import type { ModelSpec } from '../models/spec.js';
import { type BottleneckConfig, type BottleneckKind, bottleneckMethod } from './bottleneck.js';
import { size, type MethodAdapter } from './method.js';
import { CONFIG_FILE, readPeftConfig, type MethodFolder } from './method-folder.js';

export const ADAPTERHUB_WEIGHTS = 'adapter.safetensors';
export const ADAPTERHUB_PICKLE = 'pytorch_adapter.bin';

/** Whether a folder's adapter_config.json is AdapterHub's (a nested "config" and an adapter "name"). */
export function isAdapterHubConfig(cfg: Record<string, unknown>): boolean {
  return typeof cfg.config === 'object' && cfg.config !== null && typeof cfg.name === 'string' && cfg.graft_method === undefined && cfg.peft_type === undefined;
}

/** The Graft bottleneck an AdapterHub config describes, or a refusal naming the field that does not map. */
export function bottleneckFromAdapterHub(cfg: Record<string, unknown>, file: string): BottleneckConfig {
  const c = cfg.config as Record<string, unknown>;
  const refuse = (field: string, why: string) => new GraftError('UNSUPPORTED', `${file}: config.${field}: ${why}`, { file, where: `config.${field}` });
  if (c.architecture !== 'bottleneck') throw refuse('architecture', `${String(c.architecture)} is not a bottleneck adapter (Graft imports AdapterHub's bottleneck adapters)`);
  for (const flag of ['use_gating', 'ln_before', 'ln_after', 'phm_layer', 'stochastic_depth'])
    if (c[flag] === true || (typeof c[flag] === 'number' && c[flag] !== 0)) throw refuse(flag, 'is not supported by Graft');
  // adapter_residual_before_ln only matters around an adapter layer norm (ln_after), refused above.
  const kind: BottleneckKind = c.is_parallel === true ? 'parallel' : c.mh_adapter === true ? 'houlsby' : 'pfeiffer';
  // The pre-norm placements of docs/adapter-methods.md: each kind has exactly one of AdapterHub's settings.
  const expected: Record<BottleneckKind, Record<string, boolean>> = {
    houlsby: { output_adapter: true, original_ln_before: false, original_ln_after: true, residual_before_ln: true },
    pfeiffer: { output_adapter: true, original_ln_before: true, original_ln_after: true, residual_before_ln: true },
    parallel: { output_adapter: true, mh_adapter: false, original_ln_before: false, original_ln_after: true },
  };
  // AdapterHub's defaults where a field is absent (BnConfig: original_ln_before false, original_ln_after and residual_before_ln true).
  const defaults: Record<string, unknown> = { original_ln_before: false, original_ln_after: true, residual_before_ln: true, mh_adapter: false };
  for (const [field, want] of Object.entries(expected[kind])) if ((c[field] ?? defaults[field]) !== want) throw refuse(field, `a ${kind} adapter needs ${want}, got ${String(c[field])}`);
  const nl = c.non_linearity === 'swish' || c.non_linearity === 'silu' ? 'silu' : c.non_linearity === 'relu' ? 'relu' : null;
  if (!nl) throw refuse('non_linearity', `${String(c.non_linearity)} is not supported (relu, swish)`);
  if (typeof c.reduction_factor !== 'number') throw refuse('reduction_factor', 'only one number for every layer is supported');
  const scaling = c.scaling ?? 1; // BnConfig's default
  if (typeof scaling !== 'number') throw refuse('scaling', `${String(scaling)}: only a fixed number is supported`);
  return { kind, name: cfg.name as string, reductionFactor: c.reduction_factor, nonLinearity: nl, scaling };
}

/** Reads an AdapterHub bottleneck folder as a Graft method folder (written out in Graft's layout by the caller). */
export function readAdapterHubFolder(dir: string, spec: ModelSpec): MethodFolder {
  const rawConfig = readPeftConfig(dir);
  const file = join(dir, CONFIG_FILE);
  const cfg = bottleneckFromAdapterHub(rawConfig, file);
  const method: MethodAdapter = bottleneckMethod(spec, cfg);
  const weights = join(dir, ADAPTERHUB_WEIGHTS);
  if (!existsSync(weights)) {
    const pickle = join(dir, ADAPTERHUB_PICKLE);
    if (existsSync(pickle))
      throw new GraftError(
        'UNSUPPORTED',
        `${pickle}: a pickle file, which Graft does not open (unpickling can run arbitrary code). Save it as safetensors: model.save_adapter(dir, "${cfg.name}", use_safetensors=True), or python -c "import torch; from safetensors.torch import save_file; save_file(torch.load('${ADAPTERHUB_PICKLE}', weights_only=True), '${ADAPTERHUB_WEIGHTS}')" in that folder`,
        { file: pickle },
      );
    throw new GraftError('NOT_FOUND', `${weights}: no such file`, { file: weights });
  }
  const { tensors, stored } = readMethodTensors(weights, method, `this ${cfg.kind} adapter`);
  return { method, tensors, stored, rawConfig };
}

/** AdapterHub's saved layout of a Graft bottleneck adapter (the tensor names already are AdapterHub's). */
export function adapterHubConfig(cfg: BottleneckConfig, hidden: number, modelClass: string): Record<string, unknown> {
  return {
    config: {
      architecture: 'bottleneck',
      mh_adapter: cfg.kind === 'houlsby',
      output_adapter: true,
      reduction_factor: cfg.reductionFactor,
      non_linearity: cfg.nonLinearity === 'silu' ? 'swish' : 'relu',
      original_ln_before: cfg.kind === 'pfeiffer',
      original_ln_after: true,
      ln_before: false,
      ln_after: false,
      init_weights: 'mam_adapter',
      is_parallel: cfg.kind === 'parallel',
      scaling: cfg.scaling,
      use_gating: false,
      residual_before_ln: true,
      adapter_residual_before_ln: false,
      dropout: 0,
      phm_layer: false,
    },
    hidden_size: hidden,
    model_class: modelClass,
    name: cfg.name,
    version: 'adapters.1.2.0',
  };
}

/**
 * A method's tensors from an AdapterHub safetensors file, each checked against the model's shape and read
 * once: as float32 for Graft and as stored bytes (kept byte-identical on export). Any other tensor is refused
 * as not part of `what`.
 */
export function readMethodTensors(weights: string, method: MethodAdapter, what: string): Pick<MethodFolder, 'tensors' | 'stored'> {
  const st = openSafetensors(weights);
  const tensors = new Map<string, Float32Array>();
  const stored: MethodFolder['stored'] = new Map();
  try {
    for (const p of method.params) {
      if (!st.has(p.name)) throw new GraftError('NOT_FOUND', `${weights}: tensor ${p.name} is missing`, { file: weights, where: p.name });
      const info = st.info(p.name);
      if (size(info.shape) !== size(p.shape) || info.shape.length !== p.shape.length)
        throw new GraftError('INCOMPATIBLE', `${weights}: ${p.name} is [${info.shape}], the model needs [${p.shape}]`, { file: weights, where: p.name });
      const raw = st.readRaw(p.name);
      tensors.set(p.name, toF32(raw, info.dtype, weights, p.name));
      stored.set(p.name, { dtype: info.dtype, shape: [...info.shape], raw });
    }
    const extra = st.names().filter((n) => !tensors.has(n));
    if (extra.length) throw new GraftError('INCOMPATIBLE', `${weights}: tensor ${extra[0]} is not part of ${what}`, { file: weights, where: extra[0] });
  } finally {
    st.close();
  }
  return { tensors, stored };
}
