/**
 * The Adapters screen's part of the IPC contract: its channels (merged into contract.ts) and payload types.
 */
import type { AdapterMeta } from '../engine/adapters/meta';

export type { AdapterMeta };

export type AdapterSortKey = 'name' | 'created' | 'size' | 'rank';

export interface AdapterEntry {
  meta: AdapterMeta;
  /** The adapter's folder on this machine. */
  dir: string;
  sizeBytes: number;
}

export interface AdapterListReq {
  query?: string;
  tags?: string[];
  sort?: AdapterSortKey;
  descending?: boolean;
}

export interface AdapterListing {
  entries: AdapterEntry[];
  /** Folders of the library that could not be read, with why. */
  problems: { dir: string; message: string }[];
  /** Every tag used in the library, for the tag filter. */
  allTags: string[];
  /** The library's folder, so the screen can say where adapters live. */
  root: string;
  /** Adapters in the trash, newest delete first (for Undo). */
  trash: { id: string; name: string; deletedAt: string }[];
}

export interface AdapterImportReq {
  /** A PEFT folder, a .zip of one, an adapter_model.safetensors (with adapter_config.json beside it) or a GGUF LoRA. */
  path: string;
  name?: string;
  tags?: string[];
  /** A base model to check the adapter's shapes against (and to convert a GGUF LoRA with). */
  basePath?: string;
}

export interface AdapterImportRes {
  entry: AdapterEntry;
  /** Checks that could not be made, e.g. no architecture recorded in the adapter's files. */
  warnings: string[];
}

export type AdapterExportFormat = 'peft' | 'peft-zip' | 'gguf' | 'merged';

export interface AdapterExportReq {
  id: string;
  format: AdapterExportFormat;
  /** Output path: a folder (peft, merged) or a file (.zip, .gguf). */
  out: string;
  /** Base model path, needed by gguf and merged when the recorded base is not on this machine. */
  base?: string;
  /** The model name the Ollama Modelfile's FROM line names (gguf). */
  ollamaBase?: string;
  ggufType?: 'F32' | 'F16';
}

export interface AdapterExportRes {
  format: AdapterExportFormat;
  out: string;
  /** Files written beside the output (the Ollama Modelfile for gguf). */
  extra: string[];
}

export interface AdapterBlendReq {
  parts: { id: string; weight: number }[];
  name: string;
  /** Compress to this rank; omitted = exact (rank = sum of ranks). */
  rank?: number;
}

export interface AdapterBlendRes {
  entry: AdapterEntry;
  mode: 'exact' | 'compressed';
  relativeError: number;
  worst?: { tensor: string; relativeError: number };
}

export interface AdaptersChannels {
  'adapters.list': { req: AdapterListReq; res: AdapterListing };
  'adapters.rename': { req: { id: string; name: string }; res: AdapterEntry };
  'adapters.setTags': { req: { id: string; tags: string[] }; res: AdapterEntry };
  'adapters.setNotes': { req: { id: string; notes: string }; res: AdapterEntry };
  'adapters.delete': { req: { id: string }; res: { id: string; name: string; deletedAt: string } };
  /** Without an id: the most recently deleted adapter (undo). */
  'adapters.restore': { req: { id?: string }; res: AdapterEntry };
  'adapters.import': { req: AdapterImportReq; res: AdapterImportRes };
  'adapters.export': { req: AdapterExportReq; res: AdapterExportRes };
  'adapters.blend': { req: AdapterBlendReq; res: AdapterBlendRes };
}
