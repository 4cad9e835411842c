import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { GraftError } from '../../engine/errors';
import { columnsOf, DATA_SOURCE_OPTIONS } from '../../engine/options/dataset';
import { validateOptions } from '../../engine/options/schema';
import { parseTrainOptions, TRAIN_OPTIONS } from '../../engine/options/train';
import { LIBRARY_METHODS } from '../../engine/adapters/method-kinds';
import { trainAdapter, type TrainAdapterOptions } from '../../engine/train/train-adapter';
import { importChecked } from '../../store/adapter-ops';
import { AdapterLibrary, type LibraryEntry } from '../../store/library';
import { resolveModelRef } from '../../store/model-registry';
import { dataDir, defaultLibraryDir, userDataDir } from '../../store/paths';
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
  library?: string;
  name?: string;
}

/** What an interrupted run recorded in <run>/checkpoints/run.json (train-adapter.ts), and its run folder. */
interface SavedRun {
  dir?: string;
  model?: string;
  data?: string;
  options?: Record<string, unknown>;
  read?: TrainAdapterOptions['read'];
}

/** --resume takes the run folder, its checkpoints folder or one checkpoint in it: the run is found from any. */
export function savedRun(resume: string): SavedRun {
  for (const dir of [resume, dirname(resume), dirname(dirname(resume))]) {
    const file = join(dir, 'checkpoints', 'run.json');
    if (!existsSync(file)) continue;
    try {
      return { dir, ...(JSON.parse(readFileSync(file, 'utf8')) as Omit<SavedRun, 'dir'>) };
    } catch (err) {
      throw new GraftError('BAD_FILE', `${file}: not valid JSON; give {model}, {data} and the run's options again`, { file, cause: err });
    }
  }
  return {};
}

/** The parsed flags of `graft train` and `graft job export`: the places and every option's flag. */
export type TrainFlags = TrainPlaces & Record<string, unknown>;

/**
 * The engine's training job from the train flags: the one place a flag becomes a setting, shared by
 * `graft train` and `graft job export` so a bundle is written from exactly what a local run would use.
 * `saved` (a resumed run) supplies every option and the data reading not given as a flag.
 */
export async function trainJobFromFlags(flags: TrainFlags, where: { model: string; data: string; out: string }, saved: SavedRun = {}): Promise<TrainAdapterOptions> {
  const options = parseTrainOptions({ ...saved.options, ...(await inputFromFlags(TRAIN_OPTIONS, flags)) });
  const sourceInput = await inputFromFlags(DATA_SOURCE_OPTIONS, flags);
  const source = validateOptions(DATA_SOURCE_OPTIONS, sourceInput);
  const read = saved.read && Object.keys(sourceInput).length === 0 ? saved.read : { format: source.format, columns: columnsOf(source), textSplit: source.textSplit };
  return { ...where, resume: flags.resume, read, options };
}


/** The library name of the new adapter: --name, else the run folder's or the dataset's, numbered when taken. */
async function adapterName(lib: AdapterLibrary, given: string | undefined, fallback: string): Promise<string> {
  // the library compares names without case
  const taken = new Set((await lib.list()).entries.map((e) => e.meta.name.toLowerCase()));
  if (given) {
    if (taken.has(given.toLowerCase())) throw new GraftError('BAD_INPUT', `the library already has an adapter named "${given}" (${lib.root}); choose another {name}`, { where: 'name' });
    return given;
  }
  let name = fallback;
  for (let k = 2; taken.has(name.toLowerCase()); k++) name = `${fallback} (${k})`;
  return name;
}

/** Import the finished run; a default name taken meanwhile (another run finishing) moves on to the next number. */
async function saveToLibrary(lib: AdapterLibrary, runDir: string, name: string, named: boolean, model: string, warn: (w: string) => void): Promise<LibraryEntry> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await importChecked(lib, runDir, { name, basePath: model, onWarning: warn });
    } catch (err) {
      if (named || attempt >= 20 || !(err instanceof GraftError) || err.where !== 'name') throw err;
      name = await adapterName(lib, undefined, name.replace(/ \(\d+\)$/, ''));
    }
  }
}

async function train(flags: TrainFlags): Promise<void> {
  const fromRun = flags.resume ? savedRun(flags.resume) : {};
  const modelRef = flags.model ?? fromRun.model;
  const data = flags.data ?? fromRun.data;
  if (!modelRef) throw new GraftError('BAD_INPUT', 'is required: a model folder, a .gguf file or the name of a model registered in the app', { field: 'model' });
  if (!data) throw new GraftError('BAD_INPUT', 'is required: the dataset file', { field: 'data' });
  const model = resolveModelRef(modelRef, 'model');
  // The adapter goes to the library (the app's, unless --library); --out keeps a copy (the run folder) there too.
  const lib = await AdapterLibrary.open(flags.library ?? defaultLibraryDir());
  const name = await adapterName(lib, flags.name, basename(flags.out ?? fromRun.dir ?? data).replace(/\.[^.]+$/, '') || 'adapter');
  // a run of its own in the app's data folder, named so that a resume without --name finds the name again
  const out = flags.out ?? fromRun.dir ?? join(dataDir(), 'runs', Date.now().toString(36), name.replace(/[^\w.-]+/g, '-').slice(0, 60) || 'adapter');
  const printer = new ProgressPrinter();
  const json = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const job = await trainJobFromFlags(flags, { model, data, out }, fromRun);
    const result = await trainAdapter(
      // With checkpoints off, weights the final write could not store are kept in the data folder.
      { ...job, rescueDir: join(userDataDir(), 'rescued') },
      {
        signal: ac.signal,
        onEvent: (e) => (flags.json ? json(e) : printer.event(e)),
        onWarning: (w) => (flags.json ? json({ type: 'warning', message: w }) : printer.warn(w)),
        onQuantProgress: (p) => (flags.json ? json({ type: 'quantize', ...p }) : gptqProgressLine(p)),
        onMemoryEstimate: (e, available) => (flags.json ? json({ type: 'memory', ...e, available }) : printer.memory(e, available)),
      },
    );
    if (result.cancelled) {
      process.exitCode = 130;
      return;
    }
    // The library holds every method but AdapterFusion (as the app's Train screen offers); a fusion stays in its run folder.
    const entry = (LIBRARY_METHODS as readonly string[]).includes(job.options.method)
      ? await saveToLibrary(lib, result.out, name, flags.name !== undefined, model, (w) => (flags.json ? json({ type: 'warning', message: w }) : printer.warn(w)))
      : null;
    if (flags.json)
      json({
        type: 'result',
        out: result.out,
        library: entry ? lib.root : null,
        id: entry?.meta.id ?? null,
        name: entry?.meta.name ?? null,
        device: result.device,
        steps: result.steps,
        finalLoss: result.finalLoss,
        finalEvalLoss: result.finalEvalLoss,
      });
    else if (entry) console.error(`adapter "${entry.meta.name}" saved to the library ${lib.root} (${result.device}); its run folder: ${result.out}`);
    else console.error(`adapter written to ${result.out} (${result.device}); the library does not hold ${job.options.method} adapters, so it stays there`);
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
    .option('--model <path>', 'base model: a Hugging Face folder, a .gguf file, or the name of a model registered in the app')
    .option('--data <file>', 'dataset: .jsonl/.json (messages, alpaca, sharegpt, text), .csv/.tsv, .txt')
    .option('--out <dir>', outHelp);
  addSchemaFlags(cmd, DATA_SOURCE_OPTIONS);
  return addSchemaFlags(cmd, TRAIN_OPTIONS);
}

export const registerTrain: CommandRegistrar = (program: Command) => {
  addTrainFlags(
    program.command('train').description('fine-tune an adapter (LoRA, QLoRA or another --method) on a dataset; Ctrl-C checkpoints, --resume continues'),
    'also keep the run folder (the adapter, checkpoints/) here; default: in the app\'s data folder; with --resume, the resumed run\'s',
  )
    .option('--library <dir>', `the adapter library the new adapter goes to (default: ${defaultLibraryDir()}, the app's)`)
    .option('--name <name>', 'its name in the library (default: the --out folder\'s or the dataset\'s, numbered when taken)')
    .option('--resume <dir>', 'continue an interrupted run (its folder or a checkpoint): its model, data and options come with it')
    .option('--json', 'print JSON lines (events) on stdout instead of a progress bar')
    .action(train);
};
