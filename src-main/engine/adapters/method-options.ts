/**
 * The ONE declaration of Graft's training methods and their settings, written so the job-option schema
 * (issue 14) can absorb it: each method's label, one-line trade-off and the settings it reads; each
 * setting's CLI flag, type, range, default and help. The CLI derives `graft train`'s --method choices and
 * help from it; `buildMethod` turns a method + settings into the engine's MethodAdapter.
 */
import { GraftError } from '../errors.js';
import type { ModelSpec } from '../models/spec.js';
import { bitfitMethod } from './bitfit.js';
import { BOTTLENECK_DEFAULTS, bottleneckMethod, NON_LINEARITIES } from './bottleneck.js';
import { doraMethod } from './dora.js';
import { IA3_DEFAULTS, ia3Method } from './ia3.js';
import { LORA_TARGETS, type LoraTarget } from './lora-config.js';
import { loraSlots } from './lora.js';
import { type MethodAdapter, methodParamCount } from './method.js';
import { prefixMethod } from './prefix.js';

export const TRAIN_METHODS = ['lora', 'qlora', 'dora', 'ia3', 'prefix', 'houlsby', 'pfeiffer', 'parallel', 'bitfit'] as const;
export type TrainMethod = (typeof TRAIN_METHODS)[number];

export interface MethodInfo {
  label: string;
  /** Shown where the user picks the method (GUI picker, `graft train --help`). */
  tradeOff: string;
  /** Settings (keys of METHOD_SETTINGS) the method reads. */
  settings: readonly (keyof typeof METHOD_SETTINGS)[];
}

export const METHODS: Record<TrainMethod, MethodInfo> = {
  lora: { label: 'LoRA', tradeOff: 'low-rank updates of the projections: the default, mergeable, runs everywhere', settings: ['rank', 'alpha', 'targets', 'rslora', 'dropout'] },
  qlora: { label: 'QLoRA', tradeOff: 'LoRA over a 4-bit base: a quarter of the base memory, slightly noisier', settings: ['rank', 'alpha', 'targets', 'rslora', 'dropout'] },
  dora: { label: 'DoRA', tradeOff: 'LoRA plus a learned magnitude per output row: closer to full fine-tuning at low rank; each step also recomputes a weight norm per target (more time and memory)', settings: ['rank', 'alpha', 'targets', 'rslora'] },
  ia3: { label: 'IA³', tradeOff: 'learned scales of k, v and the MLP input: one vector per target, far fewer parameters than LoRA, learns less', settings: ['ia3Targets'] },
  prefix: { label: 'Prefix tuning', tradeOff: 'trained key/value prefixes per layer: no weight changes, costs attention positions, not mergeable', settings: ['virtualTokens'] },
  houlsby: { label: 'Houlsby adapter', tradeOff: 'bottleneck MLPs after attention and after the MLP: most capacity of the bottlenecks, two extra blocks per layer, not mergeable', settings: ['reductionFactor', 'bottleneckSize', 'nonLinearity'] },
  pfeiffer: { label: 'Pfeiffer adapter', tradeOff: 'one bottleneck MLP after the MLP: half Houlsby\'s parameters and extra work, nearly its quality, not mergeable', settings: ['reductionFactor', 'bottleneckSize', 'nonLinearity'] },
  parallel: { label: 'Parallel adapter', tradeOff: 'a scaled bottleneck beside the MLP: wider (reduction 2) and learns fast, not mergeable', settings: ['reductionFactor', 'bottleneckSize', 'nonLinearity', 'adapterScaling'] },
  bitfit: { label: 'BitFit', tradeOff: 'trains bias vectors only (zero-initialized biases are added where the base has none): the fewest parameters, learns least', settings: ['targets'] },
};

export const METHOD_SETTINGS = {
  rank: { flag: '--rank', kind: 'int', min: 1, default: 16, help: 'LoRA/DoRA rank r' },
  alpha: { flag: '--alpha', kind: 'number', min: 0, default: null, help: 'LoRA/DoRA alpha (default 2 × rank)' },
  targets: { flag: '--targets', kind: 'targets', default: LORA_TARGETS.join(','), help: `modules to adapt (LoRA, DoRA, BitFit): ${LORA_TARGETS.join(',')}` },
  rslora: { flag: '--rslora', kind: 'bool', default: false, help: 'scale by alpha/sqrt(r)' },
  dropout: { flag: '--dropout', kind: 'number', min: 0, max: 0.99, default: 0, help: 'LoRA dropout' },
  ia3Targets: { flag: '--ia3-targets', kind: 'targets', default: IA3_DEFAULTS.targets.join(','), help: 'IA³: modules whose output (k, v, q, o, gate, up) or input (down) is scaled' },
  virtualTokens: { flag: '--virtual-tokens', kind: 'int', min: 1, max: 512, default: 16, help: 'prefix tuning: virtual tokens per layer' },
  reductionFactor: { flag: '--reduction-factor', kind: 'int', min: 1, default: null, help: 'bottleneck adapters: hidden size / bottleneck width (default 16 houlsby/pfeiffer, 2 parallel)' },
  bottleneckSize: { flag: '--bottleneck-size', kind: 'int', min: 1, default: null, help: 'bottleneck adapters: the width itself (instead of --reduction-factor)' },
  nonLinearity: { flag: '--non-linearity', kind: 'choice', choices: NON_LINEARITIES, default: null, help: 'bottleneck adapters: relu | silu (default silu houlsby, relu pfeiffer/parallel)' },
  adapterScaling: { flag: '--adapter-scaling', kind: 'number', min: 0, default: null, help: 'parallel adapter: output scale (default 4)' },
} as const;

export interface MethodSettings {
  rank: number;
  alpha: number;
  targets: LoraTarget[];
  rslora: boolean;
  ia3Targets: LoraTarget[];
  virtualTokens: number;
  reductionFactor?: number;
  bottleneckSize?: number;
  nonLinearity?: (typeof NON_LINEARITIES)[number];
  adapterScaling?: number;
}

/** The engine method of a non-LoRA choice (null for lora/qlora, which keep their own path). */
export function buildMethod(method: TrainMethod, spec: ModelSpec, s: MethodSettings): MethodAdapter | null {
  switch (method) {
    case 'lora':
    case 'qlora':
      return null;
    case 'dora':
      return doraMethod(spec, { r: s.rank, alpha: s.alpha, rslora: s.rslora, targets: s.targets });
    case 'ia3': {
      if (s.ia3Targets.length === 0) throw new GraftError('BAD_INPUT', '--ia3-targets needs at least one module', { where: '--ia3-targets' });
      // PEFT's convention: the MLP's down projection is a feed-forward target (its input is scaled).
      return ia3Method(spec, { targets: s.ia3Targets, feedforward: s.ia3Targets.filter((t) => t === 'down') });
    }
    case 'prefix':
      return prefixMethod(spec, { virtualTokens: s.virtualTokens });
    case 'bitfit':
      return bitfitMethod(spec, { targets: s.targets });
    case 'houlsby':
    case 'pfeiffer':
    case 'parallel': {
      const d = BOTTLENECK_DEFAULTS[method];
      if (s.adapterScaling !== undefined && method !== 'parallel')
        throw new GraftError('BAD_INPUT', '--adapter-scaling is for --method parallel', { where: '--adapter-scaling' });
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

/** Trainable values of a method on a model: what the picker and the memory estimate show. */
export function trainableCount(method: TrainMethod, spec: ModelSpec, s: MethodSettings): number {
  const m = buildMethod(method, spec, s);
  if (m) return methodParamCount(m);
  return loraSlots(spec, { r: s.rank, targets: s.targets }).reduce((n, sl) => n + sl.shapeA[0] * sl.shapeA[1] + sl.shapeB[0] * sl.shapeB[1], 0);
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
