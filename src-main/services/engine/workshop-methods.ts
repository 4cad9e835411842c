/**
 * The engine worker's methods for the Models, Datasets and Train screens. Reading a model's tensors, tokenizing
 * a dataset and above all training run here, on the worker thread: a training job lives as long as the worker,
 * not as long as the page, so closing the window does not stop it and a reopened page reattaches.
 */
import { promises as fsp } from 'node:fs';
import { freemem } from 'node:os';
import path from 'node:path';
import { inspectDataset } from '../../engine/data/inspect.js';
import { previewDataset } from '../../engine/data/preview.js';
import type { ColumnMapping, DatasetFormat, TextSplit } from '../../engine/data/types.js';
import { GraftError, toErrorData } from '../../engine/errors.js';
import { targetsFor } from '../../engine/adapters/lora.js';
import { textEndToken } from '../../engine/train/end-token.js';
import type { LoraTarget } from '../../engine/adapters/lora-config.js';
import { openModelSource, type WeightSource } from '../../engine/io/model-source.js';
import { specFromConfig } from '../../engine/models/index.js';
import { presetValues, type EstimateOptions } from '../../engine/options/train.js';
import { describeDevice } from '../../engine/runtime/device.js';
import type { TextTokenizer } from '../../engine/tokenize/types.js';
import { estimateForSource, paramCount } from '../../engine/train/memory-estimate.js';
import { exportJobBundle } from '../../engine/job/export-bundle.js';
import type { DatasetReport, JobExportResult, MemoryCheck, ModelInfo, TrainJob } from '../../ipc/contract-workshop';
import type { TrainSettings } from '../../ipc/train';
import { JobRunner, trainOptionsFromParams, userNames, type Emit } from './train-job.js';

export interface TrainStartParams {
  settings: TrainSettings;
  modelPath: string;
  modelName: string;
  datasetPath: string;
  datasetName: string;
  datasetFormat: DatasetFormat | 'auto';
  textSplit: TextSplit;
  columns?: ColumnMapping;
  /** Folder the run writes its adapter and checkpoints to. */
  out: string;
  /** Adapter library the finished adapter is imported into. */
  library: string;
}

export interface JobExportParams extends Omit<TrainStartParams, 'library'> {
  includeModel?: boolean;
  /** The base's Hub id when it was downloaded from the Hub, for a cluster that loads it from there. */
  hubId?: string;
}

export type EstimateParams = { modelPath: string } & EstimateOptions;

/** Merged into the worker protocol's EngineMethods. */
export interface WorkshopEngineMethods {
  'models.inspect': { params: { path: string }; result: ModelInfo };
  'datasets.inspect': {
    params: { path: string; format: DatasetFormat | 'auto'; textSplit: TextSplit; columns?: ColumnMapping; modelPath?: string; seqLen?: number; count?: number };
    result: Omit<DatasetReport, 'modelId'>;
  };
  'train.estimate': { params: EstimateParams; result: MemoryCheck };
  'train.start': { params: TrainStartParams; result: TrainJob };
  'train.current': { params: null; result: TrainJob | null };
  'train.continue': { params: null; result: TrainJob };
  'train.control': { params: { action: 'pause' | 'resume' | 'cancel' }; result: null };
  'job.export': { params: JobExportParams; result: JobExportResult };
}

type Methods = { [M in keyof WorkshopEngineMethods]: (p: WorkshopEngineMethods[M]['params']) => Promise<WorkshopEngineMethods[M]['result']> };

/** The targets as this model names its projections (q/k/v → qkv on Phi-3), as a run adapts them; as given for a model no family knows. */
function modelTargets(s: WeightSource, targets: readonly LoraTarget[]): LoraTarget[] {
  try {
    return targetsFor(specFromConfig(s.config, s.path), targets);
  } catch {
    return [...targets];
  }
}

async function sizeOnDisk(p: string): Promise<number> {
  const st = await fsp.stat(p);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of await fsp.readdir(p, { withFileTypes: true })) if (e.isFile()) total += (await fsp.stat(path.join(p, e.name))).size;
  return total;
}

async function inspectModel(p: string): Promise<ModelInfo> {
  const s = await openModelSource(p);
  try {
    const c = s.config;
    const proj = s.names().find((n) => /self_attn\.(q|qkv)_proj\.weight$/.test(n));
    const tok = await s.tokenizer().catch(() => null);
    const b = presetValues('balanced');
    const balanced = { lora: { r: b.rank, targets: modelTargets(s, b.targets) }, batch: b.batch, seqLen: b.seqLen };
    return {
      format: s.format,
      architecture: c.architectures?.[0] ?? c.model_type ?? 'unknown',
      modelType: c.model_type ?? null,
      params: paramCount(s),
      contextLength: c.max_position_embeddings ?? null,
      layers: c.num_hidden_layers,
      hiddenSize: c.hidden_size,
      vocabSize: c.vocab_size,
      dtype: proj ? s.dtype(proj) : (c.torch_dtype ?? c.dtype ?? 'unknown'),
      sizeBytes: await sizeOnDisk(p),
      hasTokenizer: tok !== null,
      memory: (['lora', 'qlora'] as const).map((method) => ({ method, estimate: estimateForSource(s, { method, ...balanced }) })),
    };
  } finally {
    s.close();
  }
}

/**
 * Tokenizers are slow to build and every preview needs one: keep the last few, with the token that ends
 * plain-text rows for that model (what training will append, so the preview shows the same).
 */
const tokenizers = new Map<string, Promise<{ tokenizer: TextTokenizer; textEndId: number | null } | null>>();
function tokenizerOf(modelPath: string): Promise<{ tokenizer: TextTokenizer; textEndId: number | null } | null> {
  let t = tokenizers.get(modelPath);
  if (!t) {
    t = openModelSource(modelPath).then(async (s) => {
      try {
        const tokenizer = await s.tokenizer();
        return tokenizer && { tokenizer, textEndId: textEndToken(s, specFromConfig(s.config, s.path), tokenizer).id };
      } finally {
        s.close();
      }
    });
    t.catch(() => tokenizers.delete(modelPath));
    if (tokenizers.size >= 4) tokenizers.delete(tokenizers.keys().next().value!);
    tokenizers.set(modelPath, t);
  }
  return t;
}

export function createWorkshopMethods(emit: Emit): Methods {
  const jobs = new JobRunner(emit);
  return {
    'models.inspect': ({ path: p }) => inspectModel(p),
    'datasets.inspect': async (p) => {
      const tok = p.modelPath ? await tokenizerOf(p.modelPath) : null;
      if (p.modelPath && !tok) throw new GraftError('NOT_FOUND', `${p.modelPath}: the model carries no tokenizer`, { file: p.modelPath });
      const tokenizer = tok?.tokenizer;
      const opts = { format: p.format, textSplit: p.textSplit, columns: p.columns, seqLen: p.seqLen, tokenizer, textEndId: tok?.textEndId, maxIssues: 200 };
      const summary = await inspectDataset(p.path, opts);
      const preview = tokenizer ? await previewDataset(p.path, tokenizer, { ...opts, count: p.count ?? 5 }) : [];
      return { summary, preview };
    },
    'train.estimate': async (p) => {
      const [s, device] = await Promise.all([openModelSource(p.modelPath), describeDevice(p.device)]);
      try {
        const estimate = estimateForSource(s, { method: p.method, lora: { r: p.rank, targets: modelTargets(s, p.targets) }, batch: p.batch, seqLen: p.seqLen });
        return { estimate, available: freemem(), device };
      } finally {
        s.close();
      }
    },
    'train.start': async (p) => jobs.start(p),
    'train.current': async () => jobs.current(),
    'train.continue': async () => jobs.continue_(),
    'train.control': async ({ action }) => {
      jobs.steer(action);
      return null;
    },
    'job.export': async (p) => {
      const warnings: string[] = [];
      try {
        const m = await exportJobBundle(trainOptionsFromParams({ ...p, library: '' }), p.out, {
          name: p.settings.name,
          datasetName: p.datasetName,
          includeModel: p.includeModel,
          hubId: p.hubId,
          onWarning: (w) => warnings.push(w.replaceAll(p.datasetPath, p.datasetName).replace('run `graft dataset inspect` for all', 'the Datasets screen lists them all')),
        });
        return { out: p.out, id: m.id, trainRows: m.dataset.trainRows, valRows: m.dataset.valRows, totalSteps: m.settings.train.total_steps, notes: m.notes, warnings };
      } catch (err) {
        const e = userNames(toErrorData(err), { ...p, library: '' });
        throw new GraftError(e.code, e.message, { file: e.file, where: e.where });
      }
    },
  };
}
