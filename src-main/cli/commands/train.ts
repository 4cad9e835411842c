import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { LORA_TARGETS, MODULE_TARGETS, type LoraTarget } from '../../engine/adapters/lora-config';
import { METHOD_SETTINGS, METHODS, TRAIN_METHODS, type TrainMethod } from '../../engine/adapters/method-options';
import { GraftError } from '../../engine/errors';
import { SCHEDULES } from '../../engine/train/schedule';
import { trainAdapter, type TrainAdapterOptions } from '../../engine/train/train-adapter';
import { addDataFlags, columnsOf, readTemplate, type DataFlags } from './dataset';
import type { CommandRegistrar } from './index';
import { gptqProgressLine } from './quant-progress';
import { choiceFlag, intFlag, numFlag } from './parse-flags';
import { ProgressPrinter } from './train-progress';

export interface TrainFlags extends DataFlags {
  model?: string;
  data?: string;
  out?: string;
  method: TrainMethod;
  ia3Targets: string;
  virtualTokens: number;
  reductionFactor?: number;
  bottleneckSize?: number;
  nonLinearity?: 'relu' | 'silu';
  adapterScaling?: number;
  quant?: 'nf4' | 'int4';
  quantEmbeddings?: 'fp16' | 'int8';
  quantMethod?: 'rtn' | 'gptq';
  precision: 'fp32' | 'fp16';
  rank: number;
  alpha?: number;
  dropout: number;
  targets: string;
  rslora?: boolean;
  lr: number;
  steps?: number;
  epochs?: number;
  batch: number;
  gradAccum: number;
  seqLen: number;
  warmup: number;
  schedule: TrainAdapterOptions['schedule'];
  valSplit: number;
  evalEvery: number;
  evalBatches?: number;
  saveEvery: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  maxGradNorm: number;
  pack?: boolean;
  resume?: string;
  seed: number;
  device: TrainAdapterOptions['device'];
  memoryLimit?: number;
  json?: boolean;
}

function parseTargets(v: string, flag = '--targets'): LoraTarget[] {
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.find((t) => !MODULE_TARGETS.includes(t as LoraTarget));
  if (bad !== undefined || list.length === 0)
    throw new GraftError('BAD_INPUT', `${flag} takes a comma list of ${MODULE_TARGETS.join(',')}; got "${v}"`, { where: flag });
  return MODULE_TARGETS.filter((t) => list.includes(t));
}

/** With --resume, the model and data of the interrupted run are found in its graft settings when not given. */
function resumeDefaults(dir: string): { model?: string; data?: string } {
  try {
    return JSON.parse(readFileSync(`${dir}/checkpoints/run.json`, 'utf8')) as { model?: string; data?: string };
  } catch {
    return {};
  }
}

/**
 * The engine's training options from the train flags: the one place a flag becomes a setting, shared by
 * `graft train` and `graft job export` so a bundle is written from exactly what a local run would use.
 */
export async function trainOptionsFromFlags(flags: TrainFlags, where: { model: string; data: string; out: string }): Promise<TrainAdapterOptions> {
  const { model, data, out } = where;
  return {
    model,
    data,
    out,
    format: flags.format,
    columns: columnsOf(flags),
    textSplit: flags.textSplit,
    lossOn: flags.lossOn,
    chatTemplate: await readTemplate(flags.chatTemplate),
    pack: flags.pack,
    method: flags.method,
    ia3Targets: parseTargets(flags.ia3Targets, '--ia3-targets'),
    virtualTokens: flags.virtualTokens,
    bottleneck: { reductionFactor: flags.reductionFactor, bottleneckSize: flags.bottleneckSize, nonLinearity: flags.nonLinearity, adapterScaling: flags.adapterScaling },
    quant: flags.quant,
    quantEmbeddings: flags.quantEmbeddings,
    quantMethod: flags.quantMethod,
    precision: flags.precision,
    lora: {
      r: flags.rank,
      alpha: flags.alpha ?? 2 * flags.rank,
      dropout: flags.dropout,
      targets: parseTargets(flags.targets),
      rslora: Boolean(flags.rslora),
    },
    lr: flags.lr,
    steps: flags.steps,
    epochs: flags.epochs,
    batch: flags.batch,
    gradAccum: flags.gradAccum,
    seqLen: flags.seqLen,
    warmup: flags.warmup,
    schedule: flags.schedule,
    valSplit: flags.valSplit,
    evalEvery: flags.evalEvery,
    maxEvalBatches: flags.evalBatches,
    saveEvery: flags.saveEvery,
    weightDecay: flags.weightDecay,
    beta1: flags.beta1,
    beta2: flags.beta2,
    maxGradNorm: flags.maxGradNorm,
    resume: flags.resume,
    seed: flags.seed,
    device: flags.device,
    memoryLimit: flags.memoryLimit,
  };
}

async function train(flags: TrainFlags): Promise<void> {
  const fromRun = flags.resume ? resumeDefaults(flags.resume) : {};
  const model = flags.model ?? fromRun.model;
  const data = flags.data ?? fromRun.data;
  const out = flags.out ?? (flags.resume && existsSync(join(flags.resume, 'checkpoints')) ? flags.resume : undefined);
  if (!out) throw new GraftError('BAD_INPUT', 'graft train needs --out DIR', { where: '--out' });
  if (!model) throw new GraftError('BAD_INPUT', 'graft train needs --model PATH (a model folder or .gguf file)', { where: '--model' });
  if (!data) throw new GraftError('BAD_INPUT', 'graft train needs --data FILE', { where: '--data' });
  if (flags.steps !== undefined && flags.epochs !== undefined)
    throw new GraftError('BAD_INPUT', 'give --steps or --epochs, not both', { where: '--steps' });
  const printer = new ProgressPrinter();
  const json = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await trainAdapter(
      await trainOptionsFromFlags(flags, { model, data, out }),
      {
        signal: ac.signal,
        onEvent: (e) => (flags.json ? json(e) : printer.event(e)),
        onWarning: (w) => (flags.json ? json({ type: 'warning', message: w }) : printer.warn(w)),
        onQuantProgress: (p) => (flags.json ? json({ type: 'quantize', ...p }) : gptqProgressLine(p)),
        onMemoryEstimate: (e, available) => (flags.json ? json({ type: 'memory', ...e, available }) : printer.memory(e, available)),
      },
    );
    if (result.cancelled) process.exitCode = 130;
    else if (flags.json)
      json({
        type: 'result',
        out: result.out,
        device: result.device,
        steps: result.steps,
        finalLoss: result.finalLoss,
        finalEvalLoss: result.finalEvalLoss,
      });
    else console.error(`adapter written to ${result.out} (${result.device})`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * The training settings' flags (model, data and every hyper-parameter), shared by `graft train` and
 * `graft job export`; `outHelp` says what --out means for the command.
 */
export function addTrainFlags(cmd: Command, outHelp: string): Command {
  return addDataFlags(
    cmd
      .option('--model <path>', 'base model: a Hugging Face folder or a .gguf file')
      .option('--data <file>', 'dataset: .jsonl/.json (messages, alpaca, sharegpt, text), .csv/.tsv, .txt')
      .option('--out <dir>', outHelp),
  )
    .option(
      '--method <m>',
      `training method:\n${TRAIN_METHODS.map((m) => `  ${m.padEnd(8)} ${METHODS[m].tradeOff}`).join('\n')}\n(the trainable parameter count and memory estimate are printed at the start of a run)`,
      choiceFlag('--method', TRAIN_METHODS),
      'lora',
    )
    .option(`${METHOD_SETTINGS.ia3Targets.flag} <list>`, METHOD_SETTINGS.ia3Targets.help, METHOD_SETTINGS.ia3Targets.default)
    .option(
      `${METHOD_SETTINGS.virtualTokens.flag} <n>`,
      METHOD_SETTINGS.virtualTokens.help,
      intFlag(METHOD_SETTINGS.virtualTokens.flag, METHOD_SETTINGS.virtualTokens.min),
      METHOD_SETTINGS.virtualTokens.default,
    )
    .option(`${METHOD_SETTINGS.reductionFactor.flag} <n>`, METHOD_SETTINGS.reductionFactor.help, intFlag(METHOD_SETTINGS.reductionFactor.flag, 1))
    .option(`${METHOD_SETTINGS.bottleneckSize.flag} <n>`, METHOD_SETTINGS.bottleneckSize.help, intFlag(METHOD_SETTINGS.bottleneckSize.flag, 1))
    .option(`${METHOD_SETTINGS.nonLinearity.flag} <f>`, METHOD_SETTINGS.nonLinearity.help, choiceFlag(METHOD_SETTINGS.nonLinearity.flag, METHOD_SETTINGS.nonLinearity.choices))
    .option(`${METHOD_SETTINGS.adapterScaling.flag} <x>`, METHOD_SETTINGS.adapterScaling.help, numFlag(METHOD_SETTINGS.adapterScaling.flag, 0))
    .option('--quant <q>', 'QLoRA base format: nf4 | int4 (default nf4)', choiceFlag('--quant', ['nf4', 'int4'] as const))
    .option(
      '--quant-embeddings <p>',
      'QLoRA embeddings and LM head: fp16 | int8 (default fp16)',
      choiceFlag('--quant-embeddings', ['fp16', 'int8'] as const),
    )
    .option(
      '--quant-method <m>',
      'QLoRA rounding: rtn (round to nearest, default) | gptq (calibrated on text sampled from the model; slower once, cached)',
      choiceFlag('--quant-method', ['rtn', 'gptq'] as const),
    )
    .option(
      '--precision <p>',
      'LoRA method: base projections in fp32 | fp16 (half the memory)',
      choiceFlag('--precision', ['fp32', 'fp16'] as const),
      'fp32',
    )
    .option('--rank <n>', 'LoRA rank r', intFlag('--rank', 1), 16)
    .option('--alpha <n>', 'LoRA alpha (default 2 × rank)', numFlag('--alpha', 0))
    .option('--dropout <x>', 'LoRA dropout', numFlag('--dropout', 0, 0.99), 0)
    .option('--targets <list>', `modules to adapt: ${MODULE_TARGETS.join(',')} (q,k,v and gate,up mean qkv and gate_up on Phi-3, and the reverse)`, LORA_TARGETS.join(','))
    .option('--rslora', 'scale by alpha/sqrt(r)')
    .option('--lr <x>', 'peak learning rate', numFlag('--lr', 0), 2e-4)
    .option('--steps <n>', 'optimizer steps', intFlag('--steps', 1))
    .option('--epochs <n>', 'passes over the data (default 1 when --steps is not given)', numFlag('--epochs', 0))
    .option('--batch <n>', 'micro-batch rows', intFlag('--batch', 1), 4)
    .option('--grad-accum <n>', 'micro-batches per optimizer step', intFlag('--grad-accum', 1), 1)
    .option('--seq-len <n>', 'tokens per row (longer rows are cut)', intFlag('--seq-len', 2), 512)
    .option('--warmup <n>', 'warm-up steps', intFlag('--warmup', 0), 0)
    .option('--schedule <s>', SCHEDULES.join(' | '), choiceFlag('--schedule', SCHEDULES), 'cosine')
    .option('--val-split <x>', 'fraction held out for evaluation', numFlag('--val-split', 0, 0.9), 0)
    .option('--eval-every <n>', 'evaluate every N steps (0: only at the end)', intFlag('--eval-every', 0), 0)
    .option('--eval-batches <n>', 'cap on validation micro-batches per evaluation', intFlag('--eval-batches', 1))
    .option('--save-every <n>', 'checkpoint every N steps (0: never)', intFlag('--save-every', 0), 0)
    .option('--weight-decay <x>', 'AdamW weight decay', numFlag('--weight-decay', 0), 0)
    .option('--beta1 <x>', 'AdamW beta1', numFlag('--beta1', 0, 0.999999), 0.9)
    .option('--beta2 <x>', 'AdamW beta2', numFlag('--beta2', 0, 0.999999), 0.999)
    .option('--max-grad-norm <x>', 'clip the gradient norm (0: off)', numFlag('--max-grad-norm', 0), 1)
    .option('--pack', 'pack short examples together into full rows')
    .option('--seed <n>', 'random seed (data order, split, LoRA init, dropout)', intFlag('--seed', 0), 0)
    .option('--device <d>', 'auto | cpu | gpu', choiceFlag('--device', ['auto', 'cpu', 'gpu'] as const), 'auto')
    .option('--memory-limit <bytes>', 'refuse to start if the estimate exceeds this many bytes', numFlag('--memory-limit', 1));
}

export const registerTrain: CommandRegistrar = (program: Command) => {
  addTrainFlags(
    program.command('train').description('fine-tune a LoRA adapter on a dataset; Ctrl-C checkpoints, --resume continues'),
    'where the adapter (and checkpoints/) go; with --resume, the resumed run folder by default',
  )
    .option('--resume <dir>', 'continue an interrupted run from its --out folder or a checkpoint')
    .option('--json', 'print JSON lines (events) on stdout instead of a progress bar')
    .action(train);
};
