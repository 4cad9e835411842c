import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { GraftError } from '../../engine/errors';
import { columnsOf, DATA_SOURCE_OPTIONS } from '../../engine/options/dataset';
import { validateOptions } from '../../engine/options/schema';
import { parseTrainOptions, TRAIN_OPTIONS } from '../../engine/options/train';
import { trainAdapter, type TrainAdapterOptions } from '../../engine/train/train-adapter';
import { userDataDir } from '../../store/paths';
import type { CommandRegistrar } from './index';
import { gptqProgressLine } from './quant-progress';
import { addSchemaFlags, inputFromFlags } from './schema-flags';
import { ProgressPrinter } from './train-progress';

/** The flags of `graft train` that are not job options: where things are, and how to print. */
export interface TrainPlaces {
  model?: string;
  data?: string;
  out?: string;
  resume?: string;
  json?: boolean;
}

/** With --resume, the model and data of the interrupted run are found in its graft settings when not given. */
function resumeDefaults(dir: string): { model?: string; data?: string } {
  try {
    return JSON.parse(readFileSync(`${dir}/checkpoints/run.json`, 'utf8')) as { model?: string; data?: string };
  } catch {
    return {};
  }
}

/** The parsed flags of `graft train` and `graft job export`: the places and every option's flag. */
export type TrainFlags = TrainPlaces & Record<string, unknown>;

/**
 * The engine's training job from the train flags: the one place a flag becomes a setting, shared by
 * `graft train` and `graft job export` so a bundle is written from exactly what a local run would use.
 */
export async function trainJobFromFlags(flags: TrainFlags, where: { model: string; data: string; out: string }): Promise<TrainAdapterOptions> {
  const options = parseTrainOptions(await inputFromFlags(TRAIN_OPTIONS, flags));
  const source = validateOptions(DATA_SOURCE_OPTIONS, await inputFromFlags(DATA_SOURCE_OPTIONS, flags));
  return { ...where, resume: flags.resume, read: { format: source.format, columns: columnsOf(source), textSplit: source.textSplit }, options };
}

async function train(flags: TrainFlags): Promise<void> {
  const fromRun = flags.resume ? resumeDefaults(flags.resume) : {};
  const model = flags.model ?? fromRun.model;
  const data = flags.data ?? fromRun.data;
  const out = flags.out ?? (flags.resume && existsSync(join(flags.resume, 'checkpoints')) ? flags.resume : undefined);
  if (!out) throw new GraftError('BAD_INPUT', 'is required: the folder the adapter goes to', { field: 'out' });
  if (!model) throw new GraftError('BAD_INPUT', 'is required: a model folder or .gguf file', { field: 'model' });
  if (!data) throw new GraftError('BAD_INPUT', 'is required: the dataset file', { field: 'data' });
  const printer = new ProgressPrinter();
  const json = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await trainAdapter(
      // With checkpoints off, weights the final write could not store are kept in the data folder.
      { ...(await trainJobFromFlags(flags, { model, data, out })), rescueDir: join(userDataDir(), 'rescued') },
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
 * The training job's flags (model, data and every option of the schema), shared by `graft train` and
 * `graft job export`; `outHelp` says what --out means for the command.
 */
export function addTrainFlags(cmd: Command, outHelp: string): Command {
  cmd
    .option('--model <path>', 'base model: a Hugging Face folder or a .gguf file')
    .option('--data <file>', 'dataset: .jsonl/.json (messages, alpaca, sharegpt, text), .csv/.tsv, .txt')
    .option('--out <dir>', outHelp);
  addSchemaFlags(cmd, DATA_SOURCE_OPTIONS);
  return addSchemaFlags(cmd, TRAIN_OPTIONS);
}

export const registerTrain: CommandRegistrar = (program: Command) => {
  addTrainFlags(
    program.command('train').description('fine-tune an adapter (LoRA, QLoRA or another --method) on a dataset; Ctrl-C checkpoints, --resume continues'),
    'where the adapter (and checkpoints/) go; with --resume, the resumed run folder by default',
  )
    .option('--resume <dir>', 'continue an interrupted run from its --out folder or a checkpoint')
    .option('--json', 'print JSON lines (events) on stdout instead of a progress bar')
    .action(train);
};
