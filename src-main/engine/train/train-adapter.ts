import { existsSync } from 'node:fs';
import { freemem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { LoraConfig } from '../adapters/lora-config.js';
import type { MethodAdapter } from '../adapters/method.js';
import { prepareDataset, type PrepareOptions, type PreparedData } from '../data/prepare.js';
import type { ReadOptions } from '../data/types.js';
import { GraftError } from '../errors.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import { modelContentHash } from '../io/content-hash.js';
import { openModelSource, type WeightSource } from '../io/model-source.js';
import { halfWeights } from '../models/half-weights.js';
import { specFromConfig } from '../models/index.js';
import type { ModelSpec } from '../models/spec.js';
import type { WeightsFactory } from '../models/weights.js';
import type { TrainOptions } from '../options/train.js';
import { loadQuantizedBase, quantWeightsFactory, type GptqProgress } from '../quant/index.js';
import { resolveDevice } from '../runtime/device.js';
import type { TextTokenizer } from '../tokenize/types.js';
import type { TrainControl } from './control.js';
import type { TrainEvent } from './events.js';
import { textEndToken } from './end-token.js';
import { evaluatorForRun } from './eval-prompts.js';
import { assertFits, estimateForPlan, type MemoryEstimate } from './memory-estimate.js';
import { planMethod } from './plan-method.js';
import { writeTrainingResult } from './result.js';
import { createStepRunner } from './step-runner.js';
import { runTrainingLoop, type TrainLoopResult } from './trainer.js';

/** A training job: where things are, and its options as validated by parseTrainOptions (engine/options). */
export interface TrainAdapterOptions {
  /** A Hugging Face folder or a .gguf file. */
  model: string;
  /** The dataset file. */
  data: string;
  /** The adapter folder (checkpoints in <out>/checkpoints). */
  out: string;
  /** A run folder or checkpoint to continue from. */
  resume?: string;
  /**
   * Where the trained weights are kept when the adapter cannot be written and <out>/checkpoints cannot take
   * them either: a folder of the app's data folder (never the shared system temp folder, which others can write).
   */
  rescueDir?: string;
  /** How the dataset file is read (format, CSV columns, text splitting). */
  read?: ReadOptions;
  options: TrainOptions;
}

export interface TrainAdapterHooks {
  onEvent?: (e: TrainEvent) => void;
  onWarning?: (msg: string) => void;
  /** GPTQ's one-time calibration and per-layer progress (QLoRA with quantMethod 'gptq'). */
  onQuantProgress?: (p: GptqProgress) => void;
  /** Called with the estimate before anything heavy is loaded. */
  onMemoryEstimate?: (e: MemoryEstimate, available: number) => void;
  signal?: AbortSignal;
  control?: TrainControl;
}

export interface TrainAdapterResult extends TrainLoopResult {
  out: string;
  device: string;
}

/** What a run is, worked out from its options before anything is loaded. */
interface Plan {
  lora: LoraConfig;
  /** The adapter of a method other than LoRA/QLoRA (DoRA, IA³, prefix, bottlenecks, BitFit); null for those. */
  method: MethodAdapter | null;
  /** Recorded in every checkpoint (a resume must match it) and in graft.json. */
  hyper: Record<string, unknown>;
}

/**
 * From a model and a dataset file to an adapter folder, in four phases: plan (the method's layout and the
 * run's record), prepare (memory check, tokenized dataset, the base's weights), run (the step runner and the loop,
 * with checkpoints in <out>/checkpoints) and write (the PEFT folder + graft.json, when the run completes).
 */
export async function trainAdapter(job: TrainAdapterOptions, hooks: TrainAdapterHooks = {}): Promise<TrainAdapterResult> {
  checkOutDir(job.out, job.resume);
  const source = await openModelSource(job.model);
  try {
    const plan = planRun(job.options, specFromConfig(source.config, source.path));
    const tokenizer = await source.tokenizer();
    if (!tokenizer)
      throw new GraftError('NOT_FOUND', `${job.model}: the model carries no tokenizer (tokenizer.json or GGUF tokenizer metadata)`, {
        file: job.model,
      });
    await checkMemory(source, job.options, plan, hooks);
    const data = await prepareData(job, source, tokenizer, hooks);
    const baseHash = await modelContentHash(job.model);
    // Lets `graft train --resume DIR` continue without repeating anything: the model, the data, how it is read
    // and every option (a flag given again overrides, and the checkpoint's own check refuses a changed setting).
    const saved = { model: resolve(job.model), data: resolve(job.data), options: job.options, ...(job.read ? { read: job.read } : {}) };
    writeFileAtomicSync(join(job.out, 'checkpoints', 'run.json'), [Buffer.from(JSON.stringify(saved) + '\n')]);
    const weights = await baseWeights(source, job.options, baseHash, hooks);
    const run = {
      model: baseHash,
      dataset: data.sha256,
      format: data.totals.format,
      lora: plan.lora,
      ...(plan.method ? { method: plan.method.kind, methodConfig: plan.method.peftConfig() } : {}),
      ...plan.hyper,
    };
    return await runAndWrite(job, plan, { source, tokenizer, data, baseHash, weights, run }, hooks);
  } finally {
    source.close();
  }
}

function planRun(o: TrainOptions, spec: ModelSpec): Plan {
  const { lora, method } = planMethod(o, spec);
  const hyper = {
    lr: o.lr,
    steps: o.steps,
    epochs: o.steps === null ? (o.epochs ?? 1) : null,
    batch: o.batch,
    gradAccum: o.gradAccum,
    seqLen: o.seqLen,
    warmup: o.warmup,
    schedule: o.schedule,
    // Only when set, so that runs checkpointed before the option existed still resume.
    ...(o.minLrRatio ? { minLrRatio: o.minLrRatio } : {}),
    valSplit: o.valSplit,
    weightDecay: o.weightDecay,
    maxGradNorm: o.maxGradNorm,
    beta1: o.beta1,
    beta2: o.beta2,
    seed: o.seed,
    lossOn: o.lossOn,
    pack: o.pack,
  };
  return { lora, method, hyper };
}

async function checkMemory(source: WeightSource, o: TrainOptions, plan: Plan, hooks: TrainAdapterHooks): Promise<void> {
  const onGpu = (await resolveDevice(o.device)).kind === 'webgpu';
  const estimate = estimateForPlan(source, o, plan, onGpu);
  const available = o.memoryLimit ?? freemem();
  hooks.onMemoryEstimate?.(estimate, available);
  assertFits(estimate, available, o.memoryLimit ? 'the memory limit' : 'this machine');
}

/** How the dataset is read, rendered, masked, split and packed: one definition for a local run and a job bundle. */
export function datasetOptions(job: Pick<TrainAdapterOptions, 'read' | 'options'>, textEndId: PrepareOptions['textEndId']): PrepareOptions {
  const o = job.options;
  return {
    ...job.read,
    textEndId,
    chatTemplate: o.chatTemplate.trim() ? o.chatTemplate : undefined,
    lossOn: o.lossOn,
    seqLen: o.seqLen,
    valSplit: o.valSplit,
    pack: o.pack,
    seed: o.seed,
  };
}

async function prepareData(
  job: TrainAdapterOptions,
  source: WeightSource,
  tokenizer: TextTokenizer,
  hooks: TrainAdapterHooks,
): Promise<PreparedData> {
  const textEnd = textEndToken(source, specFromConfig(source.config, source.path), tokenizer);
  if (textEnd.warning) hooks.onWarning?.(textEnd.warning);
  const data = await prepareDataset(job.data, tokenizer, datasetOptions(job, textEnd.id));
  for (const w of data.totals.warnings) hooks.onWarning?.(w);
  if (data.totals.dropped) {
    const first = data.totals.issues[0];
    hooks.onWarning?.(
      `${data.totals.dropped} of ${data.totals.records} rows dropped (first: line ${first.line}: ${first.reason}); inspecting the dataset lists them all`,
    );
  }
  return data;
}

/** The frozen base as the step graphs hold it: 4-bit for QLoRA (multiplied in fp16 at fp16), fp16 copies for LoRA at fp16, else as read. */
async function baseWeights(
  source: WeightSource,
  o: TrainOptions,
  baseHash: string,
  hooks: TrainAdapterHooks,
): Promise<WeightsFactory | undefined> {
  if (o.method !== 'qlora') return o.precision === 'fp16' ? halfWeights : undefined;
  const calibrate =
    o.quantMethod === 'gptq'
      ? {
          model: { source, spec: specFromConfig(source.config, source.path) },
          device: await resolveDevice(o.device),
          signal: hooks.signal,
          onProgress: hooks.onQuantProgress,
        }
      : undefined;
  const { store, storeId } = await loadQuantizedBase(source, o.quant, {
    embeddings: o.quantEmbeddings,
    method: o.quantMethod,
    calibrate,
    baseHash,
    onRebuild: (r) => hooks.onWarning?.(`quantized-weights cache rebuilt: ${r}`),
  });
  // the store's cache file names it: the step graph is saved under a key and the next start finds it
  return quantWeightsFactory(store, { half: o.precision === 'fp16', storeId });
}

interface Prepared {
  source: WeightSource;
  tokenizer: TextTokenizer;
  data: PreparedData;
  baseHash: string;
  weights: WeightsFactory | undefined;
  run: Record<string, unknown>;
}

async function runAndWrite(job: TrainAdapterOptions, plan: Plan, p: Prepared, hooks: TrainAdapterHooks): Promise<TrainAdapterResult> {
  const o = job.options;
  const runner = await createStepRunner({
    source: p.source,
    lora: plan.lora,
    device: o.device,
    batch: o.batch,
    seqLen: o.seqLen,
    seed: o.seed,
    weights: p.weights,
    adapter: plan.method ?? undefined,
    recomputeActivations: o.recomputeActivations,
  });
  try {
    const device = `${runner.device.kind} (${runner.device.name})`;
    const evaluator = evaluatorForRun({
      ...p,
      ...plan,
      options: o,
      read: job.read,
      out: job.out,
      device: runner.device,
      resumed: Boolean(job.resume),
      signal: hooks.signal,
      onEvent: hooks.onEvent,
    });
    const result = await runTrainingLoop({
      runner,
      train: p.data.train,
      val: p.data.val,
      batch: o.batch,
      seqLen: o.seqLen,
      gradAccum: o.gradAccum,
      padId: p.tokenizer.eosIds[0] ?? 0,
      steps: o.steps ?? undefined,
      epochs: o.epochs ?? undefined,
      lr: o.lr,
      warmup: o.warmup,
      schedule: o.schedule,
      minLrRatio: o.minLrRatio,
      beta1: o.beta1,
      beta2: o.beta2,
      weightDecay: o.weightDecay,
      maxGradNorm: o.maxGradNorm,
      evalEvery: o.evalEvery,
      maxEvalBatches: o.maxEvalBatches ?? undefined,
      saveEvery: o.saveEvery,
      checkpointDir: join(job.out, 'checkpoints'),
      seed: o.seed,
      run: p.run,
      resumeFrom: job.resume,
      signal: hooks.signal,
      control: hooks.control,
      onEvent: hooks.onEvent,
      rescueDirs: job.rescueDir ? [join(job.rescueDir, `${basename(resolve(job.out))}-${Date.now()}`)] : [],
      afterCheckpoint: evaluator
        ? async (step, final) => void (await evaluator.answer(step, final, (await runner.getState()).lora))
        : undefined,
      write: async (result) => {
        const state = await runner.getState();
        await writeTrainingResult(job.out, state.lora, {
          name: basename(resolve(job.out)),
          base: { id: job.model, arch: p.source.config.architectures?.[0] ?? p.source.config.model_type ?? 'unknown', hash: p.baseHash },
          dataset: { name: p.data.name, hash: p.data.sha256 },
          method: o.method,
          lora: plan.lora,
          adapter: plan.method ?? undefined,
          hyperparameters: { ...plan.hyper, steps: result.totalSteps },
          finalTrainLoss: result.finalLoss,
          finalEvalLoss: result.finalEvalLoss,
          tokensSeen: result.tokensSeen,
          steps: result.steps,
          durationMs: result.elapsedMs,
          device,
          history: result.history,
        });
      },
    });
    return { ...result, out: job.out, device };
  } finally {
    await runner.dispose();
  }
}

/** Never train over a finished adapter or an unrelated run's checkpoints by accident. */
function checkOutDir(out: string, resume: string | undefined): void {
  if (resume) return;
  if (existsSync(join(out, 'graft.json'))) {
    throw new GraftError('BAD_INPUT', `${out} already holds a trained adapter; choose another {out}`, { file: out, field: 'out' });
  }
  if (existsSync(join(out, 'checkpoints', 'latest.json'))) {
    throw new GraftError(
      'BAD_INPUT',
      `${out} holds checkpoints of an unfinished run; continue it with {resume} ${out}, or choose another {out}`,
      { file: out, field: 'out' },
    );
  }
}
