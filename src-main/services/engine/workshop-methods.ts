/**
 * The engine worker's methods for the Models, Datasets and Train screens. Reading a model's tensors, tokenizing
 * a dataset and above all training run here, on the worker thread: a training job lives as long as the worker,
 * not as long as the page, so closing the window does not stop it and a reopened page reattaches.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { freemem } from 'node:os';
import path from 'node:path';
import { inspectDataset } from '../../engine/data/inspect.js';
import { previewDataset } from '../../engine/data/preview.js';
import type { ColumnMapping, DatasetFormat, TextSplit } from '../../engine/data/types.js';
import { GraftError, toErrorData, type GraftErrorData } from '../../engine/errors.js';
import { openModelSource, type WeightSource } from '../../engine/io/model-source.js';
import { describeDevice, type DevicePref } from '../../engine/runtime/device.js';
import type { TextTokenizer } from '../../engine/tokenize/types.js';
import { TrainControl } from '../../engine/train/control.js';
import { estimateTrainingMemory, type MemoryEstimate } from '../../engine/train/memory-estimate.js';
import { trainAdapter } from '../../engine/train/train-adapter.js';
import type { LoraTarget } from '../../engine/adapters/lora-config.js';
import { importChecked } from '../../store/adapter-ops.js';
import { AdapterLibrary } from '../../store/library.js';
import type { DatasetReport, MemoryCheck, ModelInfo, TrainJob, TrainMethod, TrainSettings, TrainUpdate } from '../../ipc/contract-workshop';

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

export interface EstimateParams {
  modelPath: string;
  method: TrainMethod;
  rank: number;
  targets: LoraTarget[];
  batch: number;
  seqLen: number;
  device: DevicePref;
}

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
}

type Emit = (stream: 'train.update', event: TrainUpdate) => void;
type Methods = { [M in keyof WorkshopEngineMethods]: (p: WorkshopEngineMethods[M]['params']) => Promise<WorkshopEngineMethods[M]['result']> };

const ALL_TARGETS: LoraTarget[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];

function paramCount(s: WeightSource): number {
  let n = 0;
  for (const name of s.names()) n += s.shape(name).reduce((a, b) => a * b, 1);
  return n;
}

/** QLoRA's base in memory: the projections at 4 bits plus block scales, everything else fp32. */
function quantizedBytes(s: WeightSource): number {
  let bytes = 0;
  for (const n of s.names()) {
    const count = s.shape(n).reduce((a, b) => a * b, 1);
    bytes += /\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/.test(n) ? count * 0.58 : count * 4;
  }
  return bytes;
}

function estimateFor(s: WeightSource, method: TrainMethod, o: { rank: number; targets: LoraTarget[]; batch: number; seqLen: number }): MemoryEstimate {
  return estimateTrainingMemory({
    config: s.config,
    lora: { r: o.rank, targets: o.targets },
    batch: o.batch,
    seqLen: o.seqLen,
    paramCount: paramCount(s),
    weightBytes: method === 'qlora' ? quantizedBytes(s) : undefined,
  });
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
    const proj = s.names().find((n) => n.endsWith('self_attn.q_proj.weight'));
    const tok = await s.tokenizer().catch(() => null);
    const balanced = { rank: 16, targets: ALL_TARGETS, batch: 1, seqLen: 512 };
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
      memory: (['lora', 'qlora'] as const).map((method) => ({ method, estimate: estimateFor(s, method, balanced) })),
    };
  } finally {
    s.close();
  }
}

/** Tokenizers are slow to build and every preview needs one: keep the last few. */
const tokenizers = new Map<string, Promise<TextTokenizer | null>>();
function tokenizerOf(modelPath: string): Promise<TextTokenizer | null> {
  let t = tokenizers.get(modelPath);
  if (!t) {
    t = openModelSource(modelPath).then(async (s) => {
      try {
        return await s.tokenizer();
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

/** Datasets are stored under internal names: say the name the user imported instead. */
function userNames(e: GraftErrorData, p: TrainStartParams): GraftErrorData {
  const fix = (t: string) => t.replaceAll(p.datasetPath, p.datasetName);
  return { ...e, message: fix(e.message), ...(e.file ? { file: fix(e.file) } : {}) };
}

/** The one training job of this worker (one run at a time: it uses the whole device). */
class JobRunner {
  private job: TrainJob | null = null;
  private params: TrainStartParams | null = null;
  private control: TrainControl | null = null;
  private abort: AbortController | null = null;

  constructor(private readonly emit: Emit) {}

  current(): TrainJob | null {
    return this.job;
  }

  start(p: TrainStartParams): TrainJob {
    if (this.job && ['preparing', 'running', 'paused', 'importing'].includes(this.job.state)) {
      throw new GraftError('BAD_INPUT', `a training run is already going on ("${this.job.settings.name}"): pause, cancel or wait for it first`);
    }
    const job: TrainJob = {
      id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
      state: 'preparing',
      settings: p.settings,
      modelName: p.modelName,
      datasetName: p.datasetName,
      startedAt: new Date().toISOString(),
      memory: null,
      warnings: [],
      adapterId: null,
      device: null,
      error: null,
      events: [],
    };
    this.job = job;
    this.params = p;
    return this.launch(job, p, false);
  }

  /** The stopped run again from its latest checkpoint: same job, same folder, history kept. */
  continue_(): TrainJob {
    const job = this.job;
    const p = this.params;
    if (!job || !p || (job.state !== 'cancelled' && job.state !== 'error')) throw new GraftError('BAD_INPUT', 'no cancelled or failed run to continue');
    if (!existsSync(path.join(p.out, 'checkpoints', 'latest.json'))) {
      throw new GraftError('NOT_FOUND', `"${job.settings.name}" saved no checkpoint to continue from; start a new run`, { file: p.out });
    }
    job.state = 'preparing';
    job.error = null;
    return this.launch(job, p, true);
  }

  private launch(job: TrainJob, p: TrainStartParams, resume: boolean): TrainJob {
    this.control = new TrainControl();
    this.abort = new AbortController();
    this.publish();
    void this.run(job, p, this.control, this.abort.signal, resume);
    return job;
  }

  control_(action: 'pause' | 'resume' | 'cancel'): void {
    const job = this.job;
    if (!job || !['preparing', 'running', 'paused'].includes(job.state)) throw new GraftError('BAD_INPUT', `no training run to ${action}`);
    if (action === 'pause') this.control!.pause();
    else if (action === 'resume') this.control!.resume();
    else this.abort!.abort();
  }

  private publish(event?: TrainJob['events'][number]): void {
    const { events: _events, ...status } = this.job!;
    this.emit('train.update', { job: status, event });
  }

  private async run(job: TrainJob, p: TrainStartParams, control: TrainControl, signal: AbortSignal, resume: boolean): Promise<void> {
    const s = p.settings;
    try {
      const result = await trainAdapter(
        {
          model: p.modelPath,
          data: p.datasetPath,
          out: p.out,
          format: p.datasetFormat,
          textSplit: p.textSplit,
          columns: p.columns,
          lossOn: s.lossOn,
          chatTemplate: s.chatTemplate.trim() ? s.chatTemplate : undefined,
          pack: s.pack,
          method: s.method,
          quant: s.method === 'qlora' ? s.quant : undefined,
          lora: { r: s.rank, alpha: s.alpha, dropout: s.dropout, targets: s.targets, rslora: s.rslora },
          lr: s.lr,
          ...(s.epochs ? { epochs: s.epochs } : { steps: s.steps }),
          batch: s.batch,
          gradAccum: s.gradAccum,
          seqLen: s.seqLen,
          warmup: s.warmup,
          schedule: s.schedule,
          valSplit: s.valSplit,
          evalEvery: s.evalEvery,
          maxEvalBatches: s.maxEvalBatches ?? undefined,
          saveEvery: s.saveEvery,
          weightDecay: s.weightDecay,
          maxGradNorm: s.maxGradNorm,
          beta1: s.beta1,
          beta2: s.beta2,
          seed: s.seed,
          device: s.device,
          resume: resume ? p.out : undefined,
        },
        {
          signal,
          control,
          onMemoryEstimate: (estimate, available) => {
            job.memory = { estimate, available };
            this.publish();
          },
          onWarning: (w) => {
            job.warnings.push(w.replaceAll(p.datasetPath, p.datasetName).replace('run `graft dataset inspect` for all', 'the Datasets screen lists them all'));
            this.publish();
          },
          onEvent: (e) => {
            job.events.push(e);
            if (e.type === 'start' || e.type === 'resumed') job.state = 'running';
            else if (e.type === 'paused') job.state = 'paused';
            this.publish(e);
          },
        },
      );
      job.device = result.device;
      if (result.cancelled) {
        job.state = 'cancelled';
        this.publish();
        return;
      }
      job.state = 'importing';
      this.publish();
      const lib = await AdapterLibrary.open(p.library);
      const entry = await importChecked(lib, p.out, { name: s.name, basePath: p.modelPath, onWarning: (w) => job.warnings.push(w) });
      job.adapterId = entry.meta.id;
      job.state = 'done';
    } catch (err) {
      job.state = signal.aborted ? 'cancelled' : 'error';
      job.error = signal.aborted ? null : userNames(toErrorData(err), p);
    }
    this.publish();
  }
}

export function createWorkshopMethods(emit: Emit): Methods {
  const jobs = new JobRunner(emit);
  return {
    'models.inspect': ({ path: p }) => inspectModel(p),
    'datasets.inspect': async (p) => {
      const tokenizer = p.modelPath ? await tokenizerOf(p.modelPath) : null;
      if (p.modelPath && !tokenizer) throw new GraftError('NOT_FOUND', `${p.modelPath}: the model carries no tokenizer`, { file: p.modelPath });
      const opts = { format: p.format, textSplit: p.textSplit, columns: p.columns, seqLen: p.seqLen, tokenizer: tokenizer ?? undefined, maxIssues: 200 };
      const summary = await inspectDataset(p.path, opts);
      const preview = tokenizer ? await previewDataset(p.path, tokenizer, { ...opts, count: p.count ?? 5 }) : [];
      return { summary, preview };
    },
    'train.estimate': async (p) => {
      const [s, device] = await Promise.all([openModelSource(p.modelPath), describeDevice(p.device)]);
      try {
        return { estimate: estimateFor(s, p.method, p), available: freemem(), device };
      } finally {
        s.close();
      }
    },
    'train.start': async (p) => jobs.start(p),
    'train.current': async () => jobs.current(),
    'train.continue': async () => jobs.continue_(),
    'train.control': async ({ action }) => {
      jobs.control_(action);
      return null;
    },
  };
}
