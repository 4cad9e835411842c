/**
 * The Adapters screen's part of the IPC contract: its channels (merged into contract.ts) and payload types.
 */
import type { AdapterMeta } from '../engine/adapters/meta';
import { EXPORT_OPTIONS, given, IMPORT_OPTIONS, type ExportFormat, type ExportOptions, type ImportOptions } from '../engine/options/adapters';
import { EXPORT_METHOD_OPTIONS, type ExportMethodOptions } from '../engine/options/export-method';
import { validateOptions } from '../engine/options/schema';
import { obj, str, strList } from './checks';

export { EXPORT_FORMATS, EXPORT_OPTIONS, GGUF_TENSOR_TYPES, IMPORT_OPTIONS } from '../engine/options/adapters';
export { EXPORT_METHOD_OPTIONS, EXPORTS_BY_METHOD } from '../engine/options/export-method';
export { isMethodEntry, METHODS } from '../engine/adapters/method-kinds';

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

/**
 * What to import (a PEFT folder, a .zip of one, an adapter_model.safetensors with adapter_config.json beside it,
 * or a GGUF LoRA) and its tags; the options (name, base to check against, architecture) are the import schema's.
 */
export type AdapterImportReq = { path: string; tags?: string[] } & { [K in keyof ImportOptions]?: ImportOptions[K] };

export interface AdapterImportRes {
  entry: AdapterEntry;
  /** Checks that could not be made, e.g. no architecture recorded in the adapter's files. */
  warnings: string[];
}

export type AdapterExportFormat = ExportFormat;

/** Which adapter, and where to write it (a folder for peft/merged, a file for .zip/.gguf); the rest is the export schema's. */
export type AdapterExportReq = { id: string; out: string } & { [K in keyof ExportOptions]?: ExportOptions[K] };
/** An export request as the IPC validated it: the format and tensor type filled in, unset paths left out. */
export type AdapterExportJob = { id: string; out: string; format: ExportFormat; ggufType: ExportOptions['ggufType']; base?: string; ollamaBase?: string };

export interface AdapterExportRes {
  format: AdapterExportFormat;
  out: string;
  /** Files written beside the output (the Ollama Modelfile for gguf). */
  extra: string[];
}

/** A non-LoRA adapter's method export (issue 16): the export-method schema's options, and the base it needs (default: the recorded one). */
export type AdapterExportMethodReq = { id: string; out: string; base?: string } & { [K in keyof ExportMethodOptions]?: ExportMethodOptions[K] };
export type AdapterExportMethodJob = { id: string; out: string; base?: string } & ExportMethodOptions;
export interface AdapterExportMethodRes {
  format: ExportMethodOptions['format'];
  out: string;
  /** A LoRA fitted by SVD: its reconstruction error overall and at the worst weight. */
  relativeError?: number;
  worst?: { tensor: string; relativeError: number };
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
  'adapters.exportMethod': { req: AdapterExportMethodReq; res: AdapterExportMethodRes };
  'adapters.blend': { req: AdapterBlendReq; res: AdapterBlendRes };
}

/** An adapters.import request checked whole: its options by the import schema (what `graft adapters import` parses its flags with). */
export function parseAdapterImport(req: unknown): AdapterImportReq {
  const c = 'adapters.import';
  const o = obj(c, req);
  const { path: _p, tags: _t, ...options } = o;
  const v = validateOptions(IMPORT_OPTIONS, options);
  return { path: str(c, o, 'path'), tags: strList(c, o, 'tags'), name: given(v.name), basePath: given(v.basePath), arch: given(v.arch) };
}

/** An adapters.export request checked whole: its options by the export schema (what `graft adapters export` parses its flags with). */
export function parseAdapterExport(req: unknown): AdapterExportJob {
  const c = 'adapters.export';
  const o = obj(c, req);
  const { id: _i, out: _o, ...options } = o;
  const v = validateOptions(EXPORT_OPTIONS, options);
  return { id: str(c, o, 'id'), out: str(c, o, 'out'), format: v.format, ggufType: v.ggufType, base: given(v.base), ollamaBase: given(v.ollamaBase) };
}

/** An adapters.exportMethod request checked whole: its options by the export-method schema (what `graft export-method` parses its flags with). */
export function parseAdapterExportMethod(req: unknown): AdapterExportMethodJob {
  const c = 'adapters.exportMethod';
  const o = obj(c, req);
  const { id: _i, out: _o, base: _b, ...options } = o;
  const base = o.base === undefined || o.base === '' ? undefined : str(c, o, 'base');
  return { id: str(c, o, 'id'), out: str(c, o, 'out'), base, ...validateOptions(EXPORT_METHOD_OPTIONS, options) };
}
