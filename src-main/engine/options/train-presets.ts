/**
 * Training's presets: starting points over TRAIN_OPTIONS' defaults (the Train form's Quick / Balanced / Thorough and
 * the worker's suggested settings). Every value stays editable; the fields in PRESET_KEEPS are the user's.
 */
import { defaultsOf } from './schema.js';
import { TRAIN_OPTIONS, type TrainOptions } from './train.js';

export type PresetName = 'quick' | 'balanced' | 'thorough';

/** What a preset leaves alone: the method, the machine and the evaluation prompts are the user's, not the recipe's. */
export const PRESET_KEEPS = [
  'method',
  'quant',
  'quantMethod',
  'quantEmbeddings',
  'precision',
  'ia3Targets',
  'virtualTokens',
  'reductionFactor',
  'bottleneckSize',
  'nonLinearity',
  'adapterScaling',
  'fuseAdapters',
  'adapterDrop',
  'device',
  'memoryLimit',
  'evalPrompts',
  'evalMaxTokens',
  'recomputeActivations',
] as const satisfies readonly (keyof TrainOptions)[];

/** Starting points, as overrides of the defaults; every value stays editable. */
export const TRAIN_PRESETS: Record<PresetName, { label: string; blurb: string; overrides: Partial<TrainOptions> }> = {
  quick: {
    label: 'Quick',
    blurb: '30 steps, rank 8 on the attention projections: a first look in minutes.',
    overrides: {
      rank: 8,
      alpha: 16,
      targets: ['q', 'k', 'v', 'o'],
      lr: 1e-3,
      steps: 30,
      batch: 2,
      seqLen: 256,
      warmup: 3,
      valSplit: 0.1,
      evalEvery: 10,
    },
  },
  balanced: {
    label: 'Balanced',
    blurb: '200 steps, rank 16 on every projection: a useful adapter for most datasets.',
    overrides: {
      rank: 16,
      alpha: 32,
      lr: 2e-4,
      steps: 200,
      batch: 4,
      seqLen: 512,
      warmup: 10,
      valSplit: 0.1,
      evalEvery: 50,
      saveEvery: 100,
    },
  },
  thorough: {
    label: 'Thorough',
    blurb: '1000 steps, rank 32, effective batch 16, long context: for larger datasets.',
    overrides: {
      rank: 32,
      alpha: 64,
      lr: 1e-4,
      steps: 1000,
      batch: 4,
      gradAccum: 4,
      seqLen: 1024,
      warmup: 50,
      valSplit: 0.1,
      evalEvery: 100,
      saveEvery: 200,
    },
  },
};

/** A preset's values: the defaults with its overrides, except the fields a preset leaves alone. */
export function presetValues(name: PresetName): Omit<TrainOptions, (typeof PRESET_KEEPS)[number]> {
  const all: Record<string, unknown> = { ...defaultsOf(TRAIN_OPTIONS), ...structuredClone(TRAIN_PRESETS[name].overrides) };
  for (const k of PRESET_KEEPS) delete all[k];
  return all as Omit<TrainOptions, (typeof PRESET_KEEPS)[number]>;
}
