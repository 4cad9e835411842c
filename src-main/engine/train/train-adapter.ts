import { existsSync } from 'node:fs';
import { freemem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { LoraConfig, LoraTarget } from '../adapters/lora-config.js';
import { targetsFor } from '../adapters/lora.js';
import { buildMethod, methodMemoryTerms, type MethodSettings, type TrainMethod } from '../adapters/method-options.js';
import { prepareDataset, type PrepareOptions } from '../data/prepare.js';
import type { ColumnMapping, DatasetFormat, TextSplit } from '../data/types.js';
import { GraftError } from '../errors.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import { openModelSource, type WeightSource } from '../io/model-source.js';
import { halfWeights } from '../models/half-weights.js';
import {
  loadQuantizedBase,
  quantWeightsFactory,
  type EmbeddingPrecision,
  type GptqProgress,
  type QuantMethod,
  type QuantScheme,
} from '../quant/index.js';
import { specFromConfig } from '../models/index.js';
import { resolveDevice, type DevicePref } from '../runtime/device.js';
import type { TrainControl } from './control.js';
import type { TrainEvent } from './events.js';
import { textEndToken } from './end-token.js';
import { assertFits, estimateTrainingMemory, type MemoryEstimate } from './memory-estimate.js';
import { modelContentHash, writeTrainingResult } from './result.js';
import type { ScheduleKind } from './schedule.js';
import { createStepRunner } from './step-runner.js';
import { runTrainingLoop, type TrainLoopResult } from './trainer.js';
import type { StepRunner } from './types.js';

export interface TrainAdapterOptions {
  model: string;
  data: string;
  out: string;
  format?: DatasetFormat | 'auto';
  columns?: ColumnMapping;
  textSplit?: TextSplit;
  chatTemplate?: string;
  lossOn?: 'assistant' | 'all';
  pack?: boolean;
  /** lora (default), qlora, or another method of adapters/method-options.ts (dora, ia3, prefix). */
  method?: TrainMethod;
  /** IA³: modules to scale (default k, v, down). */
  ia3Targets?: LoraTarget[];
  /** Prefix tuning: virtual tokens per layer. */
  virtualTokens?: number;
  /** Bottleneck adapters (houlsby, pfeiffer, parallel): their settings, AdapterHub's defaults when absent. */
  bottleneck?: Pick<MethodSettings, 'reductionFactor' | 'bottleneckSize' | 'nonLinearity' | 'adapterScaling'>;
  /** QLoRA's 4-bit format of the frozen base (default nf4). */
  quant?: QuantScheme;
  /** QLoRA: embeddings and LM head at fp16 precision (default) or in 8 bits. */
  quantEmbeddings?: EmbeddingPrecision;
  /** QLoRA: round to nearest (default) or GPTQ-calibrated codes (a one-time cost, cached). */
  quantMethod?: QuantMethod;
  /** LoRA over an fp16 copy of the base projections (half the memory; LoRA, loss and AdamW stay fp32). */
  precision?: 'fp32' | 'fp16';
  lora: LoraConfig;
  lr: number;
  steps?: number;
  epochs?: number;
  batch: number;
  gradAccum: number;
  seqLen: number;
  warmup: number;
  schedule: ScheduleKind;
  valSplit: number;
  evalEvery: number;
  maxEvalBatches?: number;
  saveEvery: number;
  weightDecay?: number;
  maxGradNorm?: number;
  beta1?: number;
  beta2?: number;
  resume?: string;
  seed: number;
  device: DevicePref;
  /** Bytes the estimate must fit in; free system memory by default. */
  memoryLimit?: number;
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

/**
 * From a model and a dataset file to an adapter folder: tokenizer from the model, dataset prepared and split,
 * memory checked, the step runner built, the loop run (with checkpoints in <out>/checkpoints), and the PEFT
 * folder + graft.json written to <out> when the run completes.
 */
export async function trainAdapter(o: TrainAdapterOptions, hooks: TrainAdapterHooks = {}): Promise<TrainAdapterResult> {
  const qlora = checkMethodOptions(o);
  checkOutDir(o.out, o.resume);
  const source = await openModelSource(o.model);
  let runner: StepRunner | null = null;
  try {
    // The requested targets as this model names its projections (q/k/v → qkv on Phi-3).
    const lora: LoraConfig = { ...o.lora, targets: targetsFor(specFromConfig(source.config, source.path), o.lora.targets) };
    const method = buildMethod(o.method ?? 'lora', specFromConfig(source.config, source.path), {
      rank: lora.r,
      alpha: lora.alpha,
      targets: lora.targets,
      rslora: lora.rslora,
      ia3Targets: o.ia3Targets ?? ['k', 'v', 'down'],
      virtualTokens: o.virtualTokens ?? 16,
      ...o.bottleneck,
    });
    const tokenizer = await source.tokenizer();
    if (!tokenizer)
      throw new GraftError('NOT_FOUND', `${o.model}: the model carries no tokenizer (tokenizer.json or GGUF tokenizer metadata)`, {
        file: o.model,
      });

    const estimate = estimateTrainingMemory({
      config: source.config,
      lora,
      batch: o.batch,
      seqLen: o.seqLen,
      paramCount: paramCount(source),
      weightBytes: qlora ? quantizedWeightBytes(source) : undefined,
      method: method ? methodMemoryTerms(method) : undefined,
    });
    const available = o.memoryLimit ?? freemem();
    hooks.onMemoryEstimate?.(estimate, available);
    assertFits(estimate, available, o.memoryLimit ? 'the memory limit' : 'this machine');

    const textEnd = textEndToken(source, specFromConfig(source.config, source.path), tokenizer);
    if (textEnd.warning) hooks.onWarning?.(textEnd.warning);
    const data = await prepareDataset(o.data, tokenizer, datasetOptions(o, textEnd.id));
    for (const w of data.totals.warnings) hooks.onWarning?.(w);
    if (data.totals.dropped) {
      const first = data.totals.issues[0];
      hooks.onWarning?.(
        `${data.totals.dropped} of ${data.totals.records} rows dropped (first: line ${first.line}: ${first.reason}); run \`graft dataset inspect\` for all`,
      );
    }
    const baseHash = await modelContentHash(o.model);
    const hyper = {
      lr: o.lr,
      steps: o.steps ?? null,
      epochs: o.steps === undefined ? (o.epochs ?? 1) : null,
      batch: o.batch,
      gradAccum: o.gradAccum,
      seqLen: o.seqLen,
      warmup: o.warmup,
      schedule: o.schedule,
      valSplit: o.valSplit,
      weightDecay: o.weightDecay ?? 0,
      maxGradNorm: o.maxGradNorm ?? 0,
      beta1: o.beta1 ?? 0.9,
      beta2: o.beta2 ?? 0.999,
      seed: o.seed,
      lossOn: o.lossOn ?? 'assistant',
      pack: o.pack ?? false,
    };
    const run = {
      model: baseHash,
      dataset: data.sha256,
      format: data.totals.format,
      lora,
      ...(method ? { method: method.kind, methodConfig: method.peftConfig() } : {}),
      ...hyper,
    };

    // Lets `graft train --resume DIR` find the model and data without repeating them.
    writeFileAtomicSync(join(o.out, 'checkpoints', 'run.json'), [
      Buffer.from(JSON.stringify({ model: resolve(o.model), data: resolve(o.data) }) + '\n'),
    ]);
    const weights = qlora
      ? quantWeightsFactory(
          (
            await loadQuantizedBase(source, o.quant ?? 'nf4', {
              embeddings: o.quantEmbeddings,
              method: o.quantMethod,
              calibrate:
                o.quantMethod === 'gptq'
                  ? {
                      model: { source, spec: specFromConfig(source.config, source.path) },
                      device: await resolveDevice(o.device),
                      signal: hooks.signal,
                      onProgress: hooks.onQuantProgress,
                    }
                  : undefined,
              baseHash,
              onRebuild: (r) => hooks.onWarning?.(`quantized-weights cache rebuilt: ${r}`),
            })
          ).store,
        )
      : o.precision === 'fp16'
        ? halfWeights
        : undefined;
    const stepRunner = await createStepRunner({
      source,
      lora,
      device: o.device,
      batch: o.batch,
      seqLen: o.seqLen,
      seed: o.seed,
      weights,
      adapter: method ?? undefined,
    });
    runner = stepRunner;
    const device = `${stepRunner.device.kind} (${stepRunner.device.name})`;
    const result = await runTrainingLoop({
      runner,
      train: data.train,
      val: data.val,
      batch: o.batch,
      seqLen: o.seqLen,
      gradAccum: o.gradAccum,
      padId: tokenizer.eosIds[0] ?? 0,
      steps: o.steps,
      epochs: o.epochs,
      lr: o.lr,
      warmup: o.warmup,
      schedule: o.schedule,
      beta1: o.beta1,
      beta2: o.beta2,
      weightDecay: o.weightDecay,
      maxGradNorm: o.maxGradNorm,
      evalEvery: o.evalEvery,
      maxEvalBatches: o.maxEvalBatches,
      saveEvery: o.saveEvery,
      checkpointDir: join(o.out, 'checkpoints'),
      seed: o.seed,
      run,
      resumeFrom: o.resume,
      signal: hooks.signal,
      control: hooks.control,
      onEvent: hooks.onEvent,
    });
    if (!result.cancelled) {
      const state = await runner.getState();
      await writeTrainingResult(o.out, state.lora, {
        name: basename(resolve(o.out)),
        base: { id: o.model, arch: source.config.architectures?.[0] ?? source.config.model_type ?? 'unknown', hash: baseHash },
        dataset: { name: data.name, hash: data.sha256 },
        method: o.method ?? 'lora',
        lora,
        adapter: method ?? undefined,
        hyperparameters: { ...hyper, steps: result.totalSteps },
        finalTrainLoss: result.finalLoss,
        finalEvalLoss: result.finalEvalLoss,
        tokensSeen: result.tokensSeen,
        steps: result.steps,
        durationMs: result.elapsedMs,
        device,
        history: result.history,
      });
    }
    return { ...result, out: o.out, device };
  } finally {
    await runner?.dispose();
    source.close();
  }
}

/** Method options that only make sense together; true for QLoRA. Shared with the job bundle writer. */
export function checkMethodOptions(o: TrainAdapterOptions): boolean {
  const qlora = (o.method ?? 'lora') === 'qlora';
  if (o.quant && !qlora) throw new GraftError('BAD_INPUT', '--quant needs --method qlora', { where: '--quant' });
  if (o.precision === 'fp16' && qlora)
    throw new GraftError('BAD_INPUT', '--precision fp16 is for LoRA; QLoRA already holds the base in 4 bits', { where: '--precision' });
  if (o.quantMethod && !qlora) throw new GraftError('BAD_INPUT', '--quant-method needs --method qlora', { where: '--quant-method' });
  if (o.quantEmbeddings && !qlora)
    throw new GraftError('BAD_INPUT', '--quant-embeddings needs --method qlora', { where: '--quant-embeddings' });
  const otherMethod = o.method !== undefined && o.method !== 'lora' && o.method !== 'qlora';
  if (otherMethod && o.precision === 'fp16')
    throw new GraftError('BAD_INPUT', `--precision fp16 is for LoRA; --method ${o.method} trains over the fp32 base`, { where: '--precision' });
  if (otherMethod && o.lora.dropout > 0) throw new GraftError('BAD_INPUT', `--dropout is for LoRA; --method ${o.method} has none`, { where: '--dropout' });
  return qlora;
}

/** How the dataset is read, rendered, masked, split and packed: one definition for a local run and a job bundle. */
export function datasetOptions(o: TrainAdapterOptions, textEndId: PrepareOptions['textEndId']): PrepareOptions {
  return {
    textEndId,
    format: o.format,
    columns: o.columns,
    textSplit: o.textSplit,
    chatTemplate: o.chatTemplate,
    lossOn: o.lossOn,
    seqLen: o.seqLen,
    valSplit: o.valSplit,
    pack: o.pack,
    seed: o.seed,
  };
}

/** Never train over a finished adapter or an unrelated run's checkpoints by accident. */
function checkOutDir(out: string, resume: string | undefined): void {
  if (resume) return;
  if (existsSync(join(out, 'graft.json'))) {
    throw new GraftError('BAD_INPUT', `${out} already holds a trained adapter; choose another --out`, { file: out, where: '--out' });
  }
  if (existsSync(join(out, 'checkpoints', 'latest.json'))) {
    throw new GraftError(
      'BAD_INPUT',
      `${out} holds checkpoints of an unfinished run; continue it with --resume ${out}, or choose another --out`,
      {
        file: out,
        where: '--out',
      },
    );
  }
}

function paramCount(source: WeightSource): number {
  let n = 0;
  for (const name of source.names()) n += source.shape(name).reduce((a, b) => a * b, 1);
  return n;
}

/** QLoRA's base in memory: projections at ~0.52 bytes/parameter (4 bits + block scales), the rest fp32. */
function quantizedWeightBytes(source: WeightSource): number {
  let bytes = 0;
  for (const n of source.names()) {
    const count = source.shape(n).reduce((a, b) => a * b, 1);
    bytes += /\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/.test(n) ? count * 0.58 : count * 4;
  }
  return bytes;
}
