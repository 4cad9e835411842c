/**
 * A training method and its settings turned into the engine's MethodAdapter (`buildMethod`), its trainable
 * count and its memory terms. The methods themselves are listed in method-kinds.ts, and their settings are
 * fields of the train options schema (engine/options/train.ts, `when: { method }`), which validates them.
 */
import { GraftError } from '../errors.js';
import type { ModelSpec } from '../models/spec.js';
import { bitfitMethod } from './bitfit.js';
import { BOTTLENECK_DEFAULTS, bottleneckMethod } from './bottleneck.js';
import { doraMethod } from './dora.js';
import { ia3Method } from './ia3.js';
import type { LoraTarget } from './lora-config.js';
import { loraSlots } from './lora.js';
import { type MethodAdapter, methodParamCount } from './method.js';
import type { NonLinearity, TrainMethod } from './method-kinds.js';
import { prefixMethod } from './prefix.js';
import { dropLowestLayers } from './adapter-drop.js';
import { fusionMethod } from './fusion.js';
import { bottleneckFromAdapterHub, isAdapterHubConfig } from './adapterhub-import.js';
import { BOTTLENECK_KINDS } from './method-kinds.js';
import { bottleneckConfigOf, readMethodFolder } from './method-folder.js';

export { METHODS, TRAIN_METHODS, type MethodInfo, type TrainMethod } from './method-kinds.js';

export interface MethodSettings {
  rank: number;
  alpha: number;
  targets: LoraTarget[];
  rslora: boolean;
  ia3Targets: LoraTarget[];
  virtualTokens: number;
  reductionFactor?: number;
  bottleneckSize?: number;
  nonLinearity?: NonLinearity;
  adapterScaling?: number;
  /** AdapterFusion: the folders of the trained bottleneck adapters it fuses. */
  fuseAdapters?: string[];
  /** AdapterDrop: no adapter in the lowest k layers. */
  adapterDrop?: number;
}

/** The engine method of a non-LoRA choice (null for lora/qlora, which keep their own path), AdapterDrop applied. */
export function buildMethod(method: TrainMethod, spec: ModelSpec, s: MethodSettings): MethodAdapter | null {
  const m = buildPlain(method, spec, s);
  return m && s.adapterDrop ? dropLowestLayers(m, s.adapterDrop) : m;
}

function buildPlain(method: TrainMethod, spec: ModelSpec, s: MethodSettings): MethodAdapter | null {
  switch (method) {
    case 'lora':
    case 'qlora':
      return null;
    case 'dora':
      return doraMethod(spec, { r: s.rank, alpha: s.alpha, rslora: s.rslora, targets: s.targets });
    case 'ia3': {
      if (s.ia3Targets.length === 0) throw new GraftError('BAD_INPUT', 'needs at least one module', { field: 'ia3Targets' });
      // PEFT's convention: the MLP's down projection is a feed-forward target (its input is scaled).
      return ia3Method(spec, { targets: s.ia3Targets, feedforward: s.ia3Targets.filter((t) => t === 'down') });
    }
    case 'prefix':
      return prefixMethod(spec, { virtualTokens: s.virtualTokens });
    case 'bitfit':
      return bitfitMethod(spec, { targets: s.targets });
    case 'fusion':
      return fusionOfFolders(spec, s.fuseAdapters ?? []);
    case 'houlsby':
    case 'pfeiffer':
    case 'parallel': {
      const d = BOTTLENECK_DEFAULTS[method];
      if (s.adapterScaling !== undefined && method !== 'parallel') throw new GraftError('BAD_INPUT', 'needs {method} parallel', { field: 'adapterScaling' });
      return bottleneckMethod(spec, {
        kind: method,
        name: 'graft',
        reductionFactor: s.reductionFactor ?? d.reductionFactor,
        size: s.bottleneckSize,
        nonLinearity: s.nonLinearity ?? d.nonLinearity,
        scaling: s.adapterScaling ?? d.scaling,
      });
    }
  }
}

/** Trainable values of a LoRA/QLoRA layout on a model (the other methods: methodParamCount of their adapter). */
export function loraParamCount(spec: ModelSpec, lora: { r: number; targets: readonly LoraTarget[] }): number {
  return loraSlots(spec, { r: lora.r, targets: [...lora.targets] }).reduce((n, sl) => n + sl.shapeA[0] * sl.shapeA[1] + sl.shapeB[0] * sl.shapeB[1], 0);
}

/** What a method changes in the training memory estimate (train/memory-estimate.ts). */
export function methodMemoryTerms(m: MethodAdapter): { params: number; virtualTokens: number; extraBytes: number } {
  let extraBytes = 0;
  if (m.kind === 'dora') {
    // Each step builds W + s·B·A and its square for the detached norm: two [out, in] fp32 tensors per target.
    const byName = new Map(m.params.map((p) => [p.name, p.shape]));
    for (const p of m.params) if (p.name.endsWith('lora_A.weight')) extraBytes += 2 * 4 * p.shape[1] * byName.get(p.name.replace('lora_A', 'lora_B'))![0];
  }
  return { params: methodParamCount(m), virtualTokens: m.virtualTokens, extraBytes };
}

/** AdapterFusion over trained bottleneck adapter folders (each read and checked against the model). */
export function fusionOfFolders(spec: ModelSpec, dirs: readonly string[]): MethodAdapter {
  if (dirs.length < 2) throw new GraftError('BAD_INPUT', `needs two adapter folders or more, got ${dirs.length}`, { field: 'fuseAdapters' });
  return fusionMethod(
    spec,
    dirs.map((dir) => {
      const folder = readMethodFolder(dir, spec);
      if (!(BOTTLENECK_KINDS as readonly string[]).includes(folder.method.kind))
        throw new GraftError('UNSUPPORTED', `${dir}: AdapterFusion fuses bottleneck adapters (Houlsby, Pfeiffer), this is ${folder.method.kind}`, { field: 'fuseAdapters', file: dir });
      // Graft's own layout or AdapterHub's saved one.
      const config = isAdapterHubConfig(folder.rawConfig) ? bottleneckFromAdapterHub(folder.rawConfig, dir) : bottleneckConfigOf(folder.rawConfig, dir);
      return { config, tensors: folder.tensors, label: dir };
    }),
  );
}
