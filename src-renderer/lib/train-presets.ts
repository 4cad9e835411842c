/** Starting points of the Train screen. Every value stays editable in the advanced panel. */
import type { TrainSettings } from '../../src-main/ipc/contract-workshop';

export type PresetName = 'quick' | 'balanced' | 'thorough';
export type PresetValues = Omit<TrainSettings, 'modelId' | 'datasetId' | 'name' | 'method' | 'quant' | 'quantMethod' | 'device'>;

const common = { epochs: null, maxEvalBatches: null, chatTemplate: '', dropout: 0, rslora: false, gradAccum: 1, schedule: 'cosine', weightDecay: 0, beta1: 0.9, beta2: 0.999, maxGradNorm: 1, pack: false, lossOn: 'assistant', seed: 0 } as const;

export const PRESETS: Record<PresetName, { label: string; blurb: string; values: PresetValues }> = {
  quick: {
    label: 'Quick',
    blurb: '30 steps, rank 8 on the attention projections: a first look in minutes.',
    values: { ...common, rank: 8, alpha: 16, targets: ['q', 'k', 'v', 'o'], lr: 1e-3, steps: 30, batch: 2, seqLen: 256, warmup: 3, valSplit: 0.1, evalEvery: 10, saveEvery: 0 },
  },
  balanced: {
    label: 'Balanced',
    blurb: '200 steps, rank 16 on every projection: a useful adapter for most datasets.',
    values: { ...common, rank: 16, alpha: 32, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], lr: 2e-4, steps: 200, batch: 4, seqLen: 512, warmup: 10, valSplit: 0.1, evalEvery: 50, saveEvery: 100 },
  },
  thorough: {
    label: 'Thorough',
    blurb: '1000 steps, rank 32, effective batch 16, long context: for larger datasets.',
    values: { ...common, rank: 32, alpha: 64, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], lr: 1e-4, steps: 1000, batch: 4, gradAccum: 4, seqLen: 1024, warmup: 50, valSplit: 0.1, evalEvery: 100, saveEvery: 200 },
  },
};
