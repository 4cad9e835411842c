import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { GraftError } from '../../engine/errors';
import { columnsOf, DATA_SOURCE_OPTIONS } from '../../engine/options/dataset';
import { validateOptions } from '../../engine/options/schema';
import { parseTrainOptions, TRAIN_OPTIONS } from '../../engine/options/train';
import { trainAdapter } from '../../engine/train/train-adapter';
import type { CommandRegistrar } from './index';
import { gptqProgressLine } from './quant-progress';
import { addSchemaFlags, inputFromFlags } from './schema-flags';
import { ProgressPrinter } from './train-progress';

/** The flags of `graft train` that are not job options: where things are, and how to print. */
interface TrainPlaces {
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

async function train(flags: TrainPlaces & Record<string, unknown>): Promise<void> {
  const options = parseTrainOptions(await inputFromFlags(TRAIN_OPTIONS, flags));
  const source = validateOptions(DATA_SOURCE_OPTIONS, await inputFromFlags(DATA_SOURCE_OPTIONS, flags));
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
      { model, data, out, resume: flags.resume, read: { format: source.format, columns: columnsOf(source), textSplit: source.textSplit }, options },
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

export const registerTrain: CommandRegistrar = (program: Command) => {
  const cmd = program
    .command('train')
    .description('fine-tune a LoRA adapter on a dataset; Ctrl-C checkpoints, --resume continues')
    .option('--model <path>', 'base model: a Hugging Face folder or a .gguf file')
    .option('--data <file>', 'dataset: .jsonl/.json (messages, alpaca, sharegpt, text), .csv/.tsv, .txt')
    .option('--out <dir>', 'where the adapter (and checkpoints/) go; with --resume, the resumed run folder by default')
    .option('--resume <dir>', 'continue an interrupted run from its --out folder or a checkpoint')
    .option('--json', 'print JSON lines (events) on stdout instead of a progress bar');
  addSchemaFlags(cmd, DATA_SOURCE_OPTIONS);
  addSchemaFlags(cmd, TRAIN_OPTIONS).action(train);
};
