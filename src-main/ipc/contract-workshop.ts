/**
 * The IPC contract of the Models, Datasets and Train screens (types only; merged into contract.ts's Requests
 * and Streams). Engine types are re-used as they are so the renderer sees exactly what the engine returns.
 */
import type { GraftErrorData } from '../engine/errors';
import type { DeviceInfo } from '../engine/runtime/device';
import type { DatasetSummary } from '../engine/data/inspect';
import type { PreviewExample } from '../engine/data/preview';
import type { ColumnMapping, DatasetFormat, TextSplit } from '../engine/data/types';
import type { LoraTarget } from '../engine/adapters/lora-config';
import type { TrainMethod } from '../engine/options/train';
import type { TrainEvent } from '../engine/train/events';
import type { MemoryEstimate } from '../engine/train/memory-estimate';
import type { EstimateRequest, TrainJobState, TrainRequest, TrainSettings } from './train';

export type { ColumnMapping, DatasetSummary, PreviewExample, DatasetFormat, TrainEvent, MemoryEstimate, LoraTarget, TrainJobState, TrainMethod, TrainRequest, TrainSettings };
/** The model families, as the Models screen names them (plain data from the engine). */
export { familyNames } from '../engine/io/model-families';

/** What the engine reads from a model's files, without loading weights. */
export interface ModelInfo {
  format: 'gguf' | 'safetensors';
  architecture: string;
  modelType: string | null;
  params: number;
  contextLength: number | null;
  layers: number;
  hiddenSize: number;
  vocabSize: number;
  /** Stored dtype of the projections, e.g. "F32", "BF16", "Q8_0". */
  dtype: string;
  /** Bytes of the model files on disk. */
  sizeBytes: number;
  hasTokenizer: boolean;
  /** Peak training memory per method at the Balanced preset's shape (engine/options/train.ts). */
  memory: { method: TrainMethod; estimate: MemoryEstimate }[];
}

export interface ModelEntry {
  id: string;
  name: string;
  /** A Hugging Face folder or a .gguf file. */
  path: string;
  source: 'local' | 'demo' | 'hub';
  repo?: string;
  addedAt: string;
  /** Null when the files could not be read (then `error` says why). */
  info: ModelInfo | null;
  error?: GraftErrorData;
}

export interface ModelList {
  models: ModelEntry[];
  /** True while the bundled demo model has not been added nor declined. */
  offerDemo: boolean;
  demoAvailable: boolean;
  /** Downloads of this session, running or ended, latest progress each (a reopened page shows them again). */
  downloads: DownloadProgress[];
}

export interface DownloadProgress {
  downloadId: string;
  repo: string;
  state: 'listing' | 'downloading' | 'verifying' | 'done' | 'error' | 'cancelled';
  file: string | null;
  fileIndex: number;
  fileCount: number;
  /** Bytes of all files, done so far and in total. */
  bytes: number;
  total: number;
  /** Bytes per second over the last few seconds. */
  speed: number;
  etaMs: number | null;
  /** Bytes found already on disk and not fetched again. */
  resumedBytes: number;
  modelId?: string;
  error?: GraftErrorData;
}

export interface DatasetEntry {
  id: string;
  name: string;
  path: string;
  sizeBytes: number;
  addedAt: string;
  /** The user's choice; 'auto' means the detected one. */
  format: DatasetFormat | 'auto';
  textSplit: TextSplit;
  /** CSV/TSV: which columns hold what; absent to recognise them from the header. */
  columns?: ColumnMapping;
}

export interface DatasetReport {
  summary: DatasetSummary;
  preview: PreviewExample[];
  /** The model whose tokenizer and chat template rendered the preview. */
  modelId: string | null;
}

/** A job bundle written for accelerate + PEFT on another machine (`graft job export` from the Train screen). */
export interface JobExportResult {
  out: string;
  /** graft-job.json's id. */
  id: string;
  trainRows: number;
  valRows: number;
  totalSteps: number;
  /** What the cluster run will not reproduce of the local one. */
  notes: string[];
  warnings: string[];
}


export interface TrainJobStatus {
  id: string;
  state: TrainJobState;
  settings: TrainSettings;
  modelName: string;
  datasetName: string;
  startedAt: string;
  memory: { estimate: MemoryEstimate; available: number } | null;
  /** GPTQ's one-time preparation of the 4-bit base, while it runs. */
  quantize: { phase: 'calibration' | 'layers'; done: number; total: number } | null;
  warnings: string[];
  /** Library id of the imported adapter once done. */
  adapterId: string | null;
  device: string | null;
  error: GraftErrorData | null;
}

/** A job with its whole event history: what a screen that (re)attaches draws its charts from. */
export interface TrainJob extends TrainJobStatus {
  events: TrainEvent[];
}

export interface TrainUpdate {
  job: TrainJobStatus;
  event?: TrainEvent;
}

export interface MemoryCheck {
  estimate: MemoryEstimate;
  /** Free memory of the chosen device's host, in bytes. */
  available: number;
  device: DeviceInfo;
}

/** Preferences kept in settings.json in the user data folder. */
export interface AppSettings {
  /** Where Hub downloads come from; null: GRAFT_HF_ENDPOINT, else huggingface.co. */
  hfEndpoint: string | null;
  /** The settings of the last run started, so the Train form opens with them. */
  lastTrain: TrainSettings | null;
}

export interface PickPathRequest {
  kind: 'file' | 'folder';
  title?: string;
  filters?: { name: string; extensions: string[] }[];
}

export interface WorkshopRequests {
  'app.pickPath': { req: PickPathRequest; res: string | null };
  'settings.get': { req: void; res: AppSettings };
  'settings.update': { req: { hfEndpoint?: string | null }; res: AppSettings };
  'models.list': { req: void; res: ModelList };
  'models.add': { req: { path: string; name?: string }; res: ModelEntry };
  'models.remove': { req: { id: string }; res: void };
  'models.addDemo': { req: void; res: ModelEntry };
  'models.declineDemo': { req: void; res: void };
  'models.download': { req: { repo: string; revision?: string; files?: string[] }; res: { downloadId: string } };
  'models.cancelDownload': { req: { downloadId: string }; res: void };
  'datasets.list': { req: void; res: DatasetEntry[] };
  /** From a path on this machine, or from the text of a dropped/picked file (the browser gives no paths). */
  'datasets.import': { req: { name: string; path?: string; content?: string }; res: DatasetEntry };
  'datasets.remove': { req: { id: string }; res: void };
  /** `columns: null` goes back to recognising the columns from the header. */
  'datasets.update': { req: { id: string; format?: DatasetFormat | 'auto'; textSplit?: TextSplit; columns?: ColumnMapping | null }; res: DatasetEntry };
  'datasets.inspect': { req: { id: string; modelId?: string; seqLen?: number; count?: number }; res: DatasetReport };
  'train.estimate': { req: { modelId: string } & Partial<Omit<EstimateRequest, 'modelId'>>; res: MemoryCheck };
  'train.start': { req: TrainRequest; res: TrainJob };
  'train.current': { req: void; res: TrainJob | null };
  'train.pause': { req: void; res: void };
  'train.resume': { req: void; res: void };
  'train.cancel': { req: void; res: void };
  /** Continues the last cancelled (or failed) run from its latest checkpoint, in the same job. */
  'train.continue': { req: void; res: TrainJob };
  /** Writes a job bundle for the same run to `out` (a new folder) instead of training here. */
  'train.exportJob': { req: { settings: TrainRequest; out: string; includeModel?: boolean }; res: JobExportResult };
}

export interface WorkshopStreams {
  'models.download': DownloadProgress;
  'train.update': TrainUpdate;
}
