/**
 * `graft job export`: a self-contained folder that trains, under accelerate (FSDP / DeepSpeed ZeRO-3) and PEFT
 * on a cluster, the adapter a local run with the same options would train. The data is prepared by the same
 * code as a local run (rendered, masked, truncated, split, packed) and written in the exact order the local loop
 * would consume it; the LoRA initialisation is Graft's. The bundle appears in one rename when complete.
 */
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { writePeftFiles } from '../adapters/compat.js';
import type { TokenizedExample } from '../data/tokenize-example.js';
import { fileSha256, prepareDataset } from '../data/prepare.js';
import { GraftError } from '../errors.js';
import { noSpaceAt, tempName } from '../io/atomic.js';
import { openModelSource, type WeightSource } from '../io/model-source.js';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors.js';
import { specFromConfig } from '../models/index.js';
import { ExampleStream } from '../train/batches.js';
import { textEndToken } from '../train/end-token.js';
import { modelContentHash } from '../io/content-hash.js';
import { alphaOf, type TrainOptions } from '../options/train.js';
import { initLora } from '../train/step-runner.js';
import { datasetOptions, type TrainAdapterOptions } from '../train/train-adapter.js';
import { totalSteps } from '../train/trainer.js';
import { deepspeedYaml, fsdpYaml, jobSbatch, launchSh, PINNED, readme, requirementsTxt } from './bundle-files.js';
import { jobSettings, type JobSettings } from './job-settings.js';
import { TRAIN_PY } from './train-py.js';

export const JOB_MANIFEST = 'graft-job.json';

export interface ExportJobOptions {
  /** The adapter's name in the library once it comes back (default: the bundle folder's name). */
  name?: string;
  /** Copy a Hugging Face base folder into the bundle (a GGUF base is always converted into model/). */
  includeModel?: boolean;
  /** The dataset's name as the user knows it (the app stores datasets under internal file names). */
  datasetName?: string;
  /** The base's Hugging Face Hub id, for the cluster to load when the base is not in the bundle. */
  hubId?: string;
  onWarning?: (msg: string) => void;
  onProgress?: (phase: 'data' | 'model' | 'files') => void;
}

export interface JobManifest {
  format: 1;
  kind: 'graft-job';
  id: string;
  name: string;
  name_slug: string;
  created: string;
  base: { id: string; arch: string; hash: string; format: WeightSource['format']; inBundle: boolean; load: string };
  dataset: { name: string; hash: string; format: string; trainRows: number; valRows: number; dropped: number };
  settings: JobSettings;
  graftTargets: string[];
  hyperparameters: Record<string, unknown>;
  notes: string[];
  software: Record<string, string>;
  /** sha256 of every other file of the bundle, by path relative to it. */
  files: Record<string, string>;
}

export async function exportJobBundle(job: TrainAdapterOptions, out: string, opts: ExportJobOptions = {}): Promise<JobManifest> {
  const o = job.options;
  const lora = { r: o.rank, alpha: alphaOf(o), dropout: o.dropout, targets: o.targets, rslora: o.rslora };
  if (existsSync(out) && readdirSync(out).length > 0)
    throw new GraftError('BAD_INPUT', `${out} is not empty; choose a new folder for the job bundle`, { file: out, field: 'out' });
  const source = await openModelSource(job.model);
  // Staged beside the bundle (never in the shared temp folder), under a name the start-up sweep recognises.
  const stage = tempName(resolve(out));
  try {
    const tokenizer = await source.tokenizer();
    if (!tokenizer) throw new GraftError('NOT_FOUND', `${job.model}: the model carries no tokenizer (tokenizer.json or GGUF tokenizer metadata)`, { file: job.model });
    opts.onProgress?.('data');
    // The same end-of-text token a local run appends (the model's own, found as trainAdapter finds it).
    const textEnd = textEndToken(source, specFromConfig(source.config, source.path), tokenizer);
    if (textEnd.warning) opts.onWarning?.(textEnd.warning);
    const data = await prepareDataset(job.data, tokenizer, datasetOptions(job, textEnd.id));
    for (const w of data.totals.warnings) opts.onWarning?.(w);
    if (data.totals.dropped) opts.onWarning?.(`${data.totals.dropped} of ${data.totals.records} rows dropped; run \`graft dataset inspect\` for all`);
    const total = totalSteps({ ...o, steps: o.steps ?? undefined, epochs: o.epochs ?? undefined }, data.train.length);
    const arch = source.config.architectures?.[0] ?? 'unknown';
    const { settings, notes } = jobSettings(job, { arch, totalSteps: total, padId: tokenizer.eosIds[0] ?? 0 });

    mkdirSync(join(stage, 'data'), { recursive: true });
    writeRows(join(stage, 'data/train.jsonl'), data.train);
    if (data.val.length) writeRows(join(stage, 'data/val.jsonl'), data.val);
    writeLines(join(stage, 'data/train-order.txt'), trainOrder(data.train, o, total));

    const spec = specFromConfig(source.config, source.path);
    const init = initLora(spec, lora, o.seed);
    const { r, alpha, rslora, targets } = lora;
    await writePeftFiles(join(stage, 'init'), { r, alpha, rslora, targets, tensors: new Map([...init].map(([k, t]) => [k, t.data])) }, { baseModel: null });

    opts.onProgress?.('model');
    const inBundle = source.format === 'gguf' || Boolean(opts.includeModel);
    if (source.format === 'gguf') await writeHfFolder(source, join(stage, 'model'));
    else if (opts.includeModel) copyHfFolder(job.model, join(stage, 'model'));
    if (source.format === 'gguf' && opts.hubId) opts.onWarning?.('a GGUF base is converted into the bundle; the hub id is only recorded');

    opts.onProgress?.('files');
    const name = opts.name ?? basename(resolve(out));
    const text: Record<string, string> = {
      'train.py': TRAIN_PY,
      'launch.sh': launchSh(),
      'job.sbatch': jobSbatch(name),
      'requirements.txt': requirementsTxt(settings),
      'accelerate/fsdp.yaml': fsdpYaml(settings),
      'accelerate/deepspeed-zero3.yaml': deepspeedYaml(settings),
      'README.md': readme(name, notes),
    };
    for (const [rel, body] of Object.entries(text)) {
      mkdirSync(dirname(join(stage, rel)), { recursive: true });
      writeLines(join(stage, rel), [body.replace(/\n$/, '')], rel.endsWith('.sh') || rel.endsWith('.py') || rel.endsWith('.sbatch') ? 0o755 : 0o644);
    }

    const baseHash = await modelContentHash(job.model);
    const manifest: JobManifest = {
      format: 1,
      kind: 'graft-job',
      id: '',
      name,
      name_slug: slug(name),
      created: new Date().toISOString(),
      base: {
        id: opts.hubId ?? resolve(job.model),
        arch,
        hash: baseHash,
        format: source.format,
        inBundle,
        load: inBundle ? 'model' : (opts.hubId ?? resolve(job.model)),
      },
      dataset: { name: opts.datasetName ?? data.name, hash: data.sha256, format: data.totals.format, trainRows: data.train.length, valRows: data.val.length, dropped: data.totals.dropped },
      settings,
      graftTargets: [...lora.targets],
      hyperparameters: {
        lr: o.lr,
        steps: total,
        epochs: o.steps === null ? (o.epochs ?? 1) : null,
        batch: o.batch,
        gradAccum: o.gradAccum,
        seqLen: o.seqLen,
        warmup: o.warmup,
        schedule: o.schedule,
        valSplit: o.valSplit,
        weightDecay: settings.train.weight_decay,
        maxGradNorm: settings.train.max_grad_norm,
        beta1: settings.train.beta1,
        beta2: settings.train.beta2,
        seed: o.seed,
        lossOn: o.lossOn,
        pack: o.pack,
        dropout: lora.dropout,
      },
      notes,
      software: { ...PINNED },
      files: await hashTree(stage),
    };
    // The id names this exact job: the same settings, base and data give the same id.
    manifest.id = createHash('sha256').update(JSON.stringify([manifest.settings, manifest.base.hash, manifest.files])).digest('hex').slice(0, 16);
    writeLines(join(stage, JOB_MANIFEST), [JSON.stringify(manifest, null, 2)]);
    if (existsSync(out)) rmSync(out, { recursive: true }); // empty, checked above
    renameSync(stage, out);
    return manifest;
  } catch (err) {
    rmSync(stage, { recursive: true, force: true });
    throw noSpaceAt(err, resolve(out));
  } finally {
    source.close();
  }
}

/** Row indices in the order the local loop takes them: every step's batch × grad-accum rows, step after step. */
export function trainOrder(train: TokenizedExample[], o: Pick<TrainOptions, 'batch' | 'gradAccum' | 'seed'>, steps: number): string[] {
  const index = new Map(train.map((ex, i) => [ex, i]));
  const stream = new ExampleStream(train, o.seed);
  const out: string[] = [];
  for (let s = 0; s < steps * o.gradAccum; s++) for (const ex of stream.take(o.batch)) out.push(String(index.get(ex)));
  return out;
}

/** One JSON line per example: input_ids and HF-style labels (the id where the loss is taken, else -100). */
function writeRows(file: string, rows: TokenizedExample[]): void {
  writeLines(
    file,
    rows.map((ex) => JSON.stringify({ input_ids: Array.from(ex.ids), labels: Array.from(ex.ids, (id, t) => (ex.mask[t] ? id : -100)) })),
  );
}

function writeLines(file: string, lines: string[], mode = 0o644): void {
  const fd = openSync(file, 'w', mode);
  try {
    const chunk: string[] = [];
    for (const l of lines) {
      chunk.push(l);
      if (chunk.length >= 4096) writeSync(fd, chunk.splice(0).join('\n') + '\n');
    }
    if (chunk.length) writeSync(fd, chunk.join('\n') + '\n');
  } finally {
    closeSync(fd);
  }
}

/** A GGUF base as a Hugging Face folder (dequantized to fp32, HF names and row order) that transformers loads as is. */
async function writeHfFolder(source: WeightSource, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeLines(join(dir, 'config.json'), [JSON.stringify({ ...source.config, torch_dtype: 'float32' }, null, 2)]);
  const tensors = new Map<string, TensorToWrite>();
  for (const n of source.names().sort()) tensors.set(n, { dtype: 'F32', shape: source.shape(n), data: source.readF32(n) });
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
}

function copyHfFolder(src: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(src)) {
    if (f === 'config.json' || f.endsWith('.safetensors') || f === 'model.safetensors.index.json' || f === 'generation_config.json') copyFileSync(join(src, f), join(dir, f));
  }
}

/** sha256 of every file under root, streamed (a copied base can be large). */
async function hashTree(root: string): Promise<Record<string, string>> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(root);
  const out: Record<string, string> = {};
  for (const f of files) out[relative(root, f).split('\\').join('/')] = await fileSha256(f);
  return out;
}

function slug(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .toLowerCase()
      .slice(0, 40) || 'adapter'
  );
}
