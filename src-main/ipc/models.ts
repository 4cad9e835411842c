/**
 * The Models screen's part of the IPC contract: its channels and streams (merged into contract.ts) and the
 * payload types. Engine types are re-used as they are so the renderer sees exactly what the engine returns.
 */
import type { GraftErrorData } from '../engine/errors';
import type { MemoryEstimate } from '../engine/train/memory-estimate';
import type { TrainMethod } from '../engine/options/train';

/** The model families, as the Models screen names them (plain data from the engine). */
export { familyNames } from '../engine/io/model-families';

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

export interface ModelsChannels {
  'models.list': { req: void; res: ModelList };
  'models.add': { req: { path: string; name?: string }; res: ModelEntry };
  'models.remove': { req: { id: string }; res: void };
  'models.addDemo': { req: void; res: ModelEntry };
  'models.declineDemo': { req: void; res: void };
  'models.download': { req: { repo: string; revision?: string; files?: string[] }; res: { downloadId: string } };
  'models.cancelDownload': { req: { downloadId: string }; res: void };
}

export interface ModelsStreams {
  'models.download': DownloadProgress;
}
