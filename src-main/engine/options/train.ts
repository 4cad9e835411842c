/**
 * Every option of a training run, declared once. `graft train` builds its flags from it, the IPC validates
 * the Train screen's request with `parseTrainOptions`, the Train form draws its fields from it, and
 * trainAdapter takes the validated object whole. Adding an option: one entry here, plus its use in the engine.
 *
 * Adapter methods (issue 16) add their own options as fields with `when: { method: '<id>' }`: the form shows
 * them only for that method and the validator refuses them for another.
 */
import { LORA_TARGETS, MODULE_TARGETS } from '../adapters/lora-config.js';
import { LIBRARY_METHODS, METHODS, TRAIN_METHODS, type TrainMethod } from '../adapters/method-kinds.js';
import { GraftError } from '../errors.js';
import { EMBEDDING_PRECISIONS, QUANT_METHODS, QUANT_SCHEMES } from '../quant/kinds.js';
import { DEVICE_PREFS } from '../runtime/device-pref.js';
import { RENDER_OPTIONS } from './dataset.js';
import { METHOD_FIELDS, TARGET_LABELS } from './method-fields.js';
import { pickFields, unconditional, validateOptions, type OptionsOf, type Schema } from './schema.js';

export { TRAIN_METHODS, type TrainMethod };
export const BASE_PRECISIONS = ['fp32', 'fp16'] as const;
/** Learning-rate decay after warm-up (train/schedule.ts computes it). */
export const SCHEDULES = ['cosine', 'linear', 'constant'] as const;
export type ScheduleKind = (typeof SCHEDULES)[number];

const METHOD = 'Method';
const LORA = 'LoRA';
/** The methods that read each setting (the others refuse a value given for it). */
const LORA_LIKE = ['lora', 'qlora', 'dora'] as const;
const TARGETED = ['lora', 'qlora', 'dora', 'bitfit'] as const;
const SCHEDULE = 'Schedule';
const OPTIMIZER = 'Optimizer';
const DATA = 'Data and evaluation';
const RUN = 'Device and memory';

export const TRAIN_OPTIONS = {
  method: {
    kind: 'enum',
    choices: TRAIN_METHODS,
    appChoices: LIBRARY_METHODS,
    default: 'lora',
    label: 'Method',
    group: METHOD,
    help: `training method (its trainable parameter count and memory estimate are printed at the start of a run):${TRAIN_METHODS.map((m) => `\n  ${m.padEnd(8)} ${METHODS[m].tradeOff}`).join('')}`,
    choiceLabels: {
      ...(Object.fromEntries(TRAIN_METHODS.map((m) => [m, METHODS[m].label])) as Record<TrainMethod, string>),
      qlora: 'QLoRA (4-bit base, less memory)',
    },
  },
  quant: {
    kind: 'enum',
    choices: QUANT_SCHEMES,
    default: 'nf4',
    when: { method: 'qlora' },
    label: '4-bit format',
    group: METHOD,
    help: "QLoRA: the base's 4-bit format",
    choiceLabels: { nf4: 'NF4', int4: 'int4', int4s: 'int4, symmetric (faster chat on a GPU)' },
  },
  quantMethod: {
    kind: 'enum',
    choices: QUANT_METHODS,
    default: 'rtn',
    when: { method: 'qlora' },
    label: '4-bit rounding',
    group: METHOD,
    help: 'QLoRA: rtn (round to nearest) or gptq (calibrated on text sampled from the model; slower once, cached)',
    choiceLabels: { rtn: 'Round to nearest (instant)', gptq: 'GPTQ (closer to the original; minutes, once per model)' },
  },
  quantEmbeddings: {
    kind: 'enum',
    choices: EMBEDDING_PRECISIONS,
    default: 'fp16',
    when: { method: 'qlora' },
    label: 'Embeddings and LM head',
    group: METHOD,
    help: 'QLoRA: embeddings and LM head at fp16 precision or in 8 bits (less memory)',
    choiceLabels: { fp16: 'fp16 precision', int8: '8-bit' },
  },
  precision: {
    kind: 'enum',
    choices: BASE_PRECISIONS,
    default: 'fp32',
    when: { method: ['lora', 'qlora'] },
    label: 'Base precision',
    group: METHOD,
    help: 'LoRA: base projections in fp32, or fp16 (half the memory); QLoRA: 4-bit weights multiplied in fp32, or dequantized to fp16 and multiplied in fp16 (faster on a GPU)',
    choiceLabels: { fp32: 'fp32', fp16: 'fp16 (half the memory)' },
  },
  rank: { kind: 'int', default: 16, min: 1, when: { method: LORA_LIKE }, label: 'Rank r', group: LORA, help: 'LoRA/DoRA rank r' },
  alpha: {
    kind: 'number',
    default: null,
    nullable: true,
    min: 0,
    when: { method: LORA_LIKE },
    label: 'Alpha',
    group: LORA,
    help: 'LoRA/DoRA alpha (2 × rank when not given)',
  },
  dropout: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 1,
    maxExclusive: true,
    when: { method: ['lora', 'qlora'] },
    label: 'Dropout',
    group: LORA,
    help: 'LoRA dropout',
  },
  targets: {
    kind: 'list',
    choices: MODULE_TARGETS,
    default: LORA_TARGETS,
    when: { method: TARGETED },
    label: 'Adapt',
    group: LORA,
    help: 'projections to adapt (LoRA, DoRA, BitFit; q,k,v and gate,up mean qkv and gate_up on Phi-3, and the reverse)',
    choiceLabels: TARGET_LABELS,
  },
  rslora: {
    kind: 'bool',
    default: false,
    when: { method: LORA_LIKE },
    label: 'rsLoRA scaling (alpha/√r)',
    group: LORA,
    help: 'scale by alpha/sqrt(r)',
  },
  ...METHOD_FIELDS,
  steps: {
    kind: 'int',
    default: null,
    nullable: true,
    min: 1,
    unit: 'steps',
    label: 'Steps',
    group: SCHEDULE,
    help: 'optimizer steps (by epochs when not given)',
  },
  epochs: {
    kind: 'number',
    default: null,
    nullable: true,
    min: 0,
    minExclusive: true,
    label: 'Epochs',
    group: SCHEDULE,
    help: 'passes over the data (1 when neither steps nor epochs is given)',
  },
  lr: { kind: 'number', default: 2e-4, min: 0, label: 'Learning rate', group: SCHEDULE, help: 'peak learning rate' },
  schedule: {
    kind: 'enum',
    choices: SCHEDULES,
    default: 'cosine',
    label: 'LR schedule',
    group: SCHEDULE,
    help: 'learning-rate decay after warm-up',
  },
  minLrRatio: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 1,
    flag: 'min-lr-ratio',
    label: 'Final LR (fraction of peak)',
    group: SCHEDULE,
    help: 'where cosine and linear decay end, as a fraction of the peak learning rate',
  },
  warmup: { kind: 'int', default: 0, min: 0, unit: 'steps', label: 'Warm-up steps', group: SCHEDULE, help: 'warm-up steps' },
  batch: { kind: 'int', default: 4, min: 1, label: 'Batch (rows)', group: SCHEDULE, help: 'micro-batch rows' },
  gradAccum: { kind: 'int', default: 1, min: 1, label: 'Gradient accumulation', group: SCHEDULE, help: 'micro-batches per optimizer step' },
  seqLen: {
    kind: 'int',
    default: 512,
    min: 2,
    unit: 'tokens',
    label: 'Sequence length',
    group: SCHEDULE,
    help: 'tokens per row (longer rows are cut)',
  },
  pack: {
    kind: 'bool',
    default: false,
    label: 'Pack short examples together',
    group: SCHEDULE,
    help: 'pack short examples together into full rows',
  },
  recomputeActivations: {
    kind: 'bool',
    default: false,
    label: 'Recompute activations (less memory)',
    group: SCHEDULE,
    help: "activation checkpointing: keep only each layer's input and recompute the rest in the backward pass (a fraction of the activation memory, about a third more compute); for long rows and big models",
  },
  weightDecay: { kind: 'number', default: 0, min: 0, label: 'Weight decay', group: OPTIMIZER, help: 'AdamW weight decay' },
  beta1: { kind: 'number', default: 0.9, min: 0, max: 1, maxExclusive: true, label: 'Beta 1', group: OPTIMIZER, help: 'AdamW beta1' },
  beta2: { kind: 'number', default: 0.999, min: 0, max: 1, maxExclusive: true, label: 'Beta 2', group: OPTIMIZER, help: 'AdamW beta2' },
  maxGradNorm: {
    kind: 'number',
    default: 1,
    min: 0,
    label: 'Clip gradient norm (0: off)',
    group: OPTIMIZER,
    help: 'clip the gradient norm (0: off)',
  },
  ...RENDER_OPTIONS,
  valSplit: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 0.9,
    maxExclusive: true,
    label: 'Held out for evaluation',
    group: DATA,
    help: 'fraction of the data held out for evaluation',
  },
  evalEvery: {
    kind: 'int',
    default: 0,
    min: 0,
    unit: 'steps',
    label: 'Evaluate every N steps (0: at the end)',
    group: DATA,
    help: 'evaluate every N steps (0: only at the end)',
  },
  maxEvalBatches: {
    kind: 'int',
    default: null,
    nullable: true,
    min: 1,
    flag: 'eval-batches',
    label: 'Eval batches cap (empty: all)',
    group: DATA,
    help: 'cap on validation micro-batches per evaluation (all when not given)',
  },
  saveEvery: {
    kind: 'int',
    default: 0,
    min: 0,
    unit: 'steps',
    label: 'Checkpoint every N steps (0: never)',
    group: DATA,
    help: 'checkpoint every N steps (0: never)',
  },
  evalPrompts: {
    kind: 'text',
    default: '',
    cliFile: true,
    multiline: true,
    label: 'Evaluation prompts (one a line)',
    group: DATA,
    help: 'prompts answered by the base and the adapter side by side at each checkpoint and at the end (the CLI takes a file, one prompt a line)',
  },
  evalMaxTokens: {
    kind: 'int',
    default: 48,
    min: 1,
    max: 512,
    unit: 'tokens',
    label: 'Evaluation answer length',
    group: DATA,
    help: 'most tokens of each evaluation answer (greedy)',
  },
  seed: { kind: 'int', default: 0, min: 0, label: 'Seed', group: DATA, help: 'random seed (data order, split, LoRA init, dropout)' },
  device: {
    kind: 'enum',
    choices: DEVICE_PREFS,
    default: 'auto',
    label: 'Device',
    group: RUN,
    help: 'auto (the best available), cpu or gpu',
    choiceLabels: { auto: 'best available', cpu: 'CPU', gpu: 'GPU' },
  },
  memoryLimit: {
    kind: 'int',
    default: null,
    nullable: true,
    min: 1,
    unit: 'bytes',
    label: 'Memory limit in bytes (empty: free memory)',
    group: RUN,
    help: 'refuse to start if the estimate exceeds this many bytes (default: the free memory)',
  },
} as const satisfies Schema;

export type TrainOptions = OptionsOf<typeof TRAIN_OPTIONS>;

/** Cross-field rules the per-field ranges cannot say. */
function checkTrain(o: TrainOptions): TrainOptions {
  if (o.steps !== null && o.epochs !== null)
    throw new GraftError('BAD_INPUT', 'cannot be given with {steps}: the run is as long as one of them says', { field: 'epochs' });
  return o;
}

/** The one validator of a run's options (CLI flags and IPC requests alike), defaults filled in. */
export function parseTrainOptions(input: unknown): TrainOptions {
  return checkTrain(validateOptions(TRAIN_OPTIONS, input));
}

/** LoRA alpha of a run: as given, else twice the rank (PEFT's common choice). */
export const alphaOf = (o: Pick<TrainOptions, 'alpha' | 'rank'>): number => o.alpha ?? 2 * o.rank;

/**
 * The memory estimate's and method picker's inputs: a subset of training's fields, validated by the same rules
 * except their `when` (the picker counts every method's parameters from the settings the form holds).
 */
export const ESTIMATE_OPTIONS = unconditional(
  pickFields(TRAIN_OPTIONS, [
    'method',
    'rank',
    'targets',
    'ia3Targets',
    'virtualTokens',
    'reductionFactor',
    'bottleneckSize',
    'adapterDrop',
    'batch',
    'seqLen',
    'recomputeActivations',
    'device',
  ]),
);
/** The fields that say what a method adapts and how (the adapter's layout, built by train/plan-method.ts). */
export type MethodOptions = Pick<
  TrainOptions,
  | 'method'
  | 'rank'
  | 'alpha'
  | 'dropout'
  | 'targets'
  | 'rslora'
  | 'ia3Targets'
  | 'virtualTokens'
  | 'reductionFactor'
  | 'bottleneckSize'
  | 'nonLinearity'
  | 'adapterScaling'
  | 'fuseAdapters'
  | 'adapterDrop'
>;
export type EstimateOptions = OptionsOf<typeof ESTIMATE_OPTIONS>;
