/**
 * Bring an adapter into the library from a PEFT folder, a .zip of one, a bare adapter_model.safetensors with its
 * adapter_config.json beside it, or a llama.cpp GGUF LoRA. Everything is copied into a staging folder first and
 * validated there (what we check is exactly what we keep); the finished folder then appears in one rename.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { checkCompatibility, inspectPeftAdapter, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, type BaseModelShapes, type PeftAdapterInfo } from '../engine/adapters/compat.js';
import { GraftError } from '../engine/errors.js';
import { copyFileDurable, noSpaceAt } from '../engine/io/atomic.js';
import { META_FILE, META_FORMAT, parseAdapterMeta, type AdapterMeta, type BaseModelRef } from './adapter-meta.js';
import type { AdapterLibrary, LibraryEntry } from './library.js';
import { extractAdapterZip, type ZipLimits } from './zip-import.js';
import { folderMethod, stageMethodFolder } from './import-method.js';
import type { ModelSpec } from '../engine/models/spec.js';

export interface ImportOptions {
  name?: string;
  tags?: string[];
  /** The base to check against (and to record): its identity, its tensor shapes and (for method folders) its spec. */
  base?: { ref: BaseModelRef; shapes: BaseModelShapes; spec?: ModelSpec };
  /** The architecture the adapter was made for, when the caller knows it better than the files do. */
  arch?: string;
  zipLimits?: ZipLimits;
  /** Told about checks that could not be made (e.g. no architecture recorded in the adapter's files). */
  onWarning?: (message: string) => void;
  /** Converts a GGUF LoRA into PEFT files in a folder (engine/adapters/gguf-lora); needed for .gguf imports. */
  ggufToPeft?: (gguf: string, destDir: string) => Promise<{ arch: string }>;
}

export type ImportKind = 'peft-folder' | 'zip' | 'safetensors' | 'gguf';

export async function detectImportKind(src: string): Promise<ImportKind> {
  const st = await fsp.stat(src).catch((err) => {
    throw new GraftError('NOT_FOUND', `${src}: no such file or folder`, { file: src, cause: err });
  });
  if (st.isDirectory()) return 'peft-folder';
  const lower = src.toLowerCase();
  if (lower.endsWith('.zip')) return 'zip';
  if (lower.endsWith('.safetensors') || path.basename(lower) === PEFT_CONFIG_FILE) return 'safetensors';
  if (lower.endsWith('.gguf')) return 'gguf';
  throw new GraftError('UNSUPPORTED', `${src}: not an adapter Graft can import (a PEFT folder, .zip, adapter_model.safetensors or .gguf)`, { file: src });
}

/** Fill `staged` with the adapter's files; returns the arch a GGUF declared, if any. */
async function gather(src: string, kind: ImportKind, staged: string, opts: ImportOptions): Promise<string | undefined> {
  if (kind === 'zip') {
    await extractAdapterZip(src, staged, opts.zipLimits);
    return undefined;
  }
  if (kind === 'gguf') {
    if (!opts.ggufToPeft) throw new GraftError('UNSUPPORTED', `${src}: GGUF import is not available here`, { file: src });
    return (await opts.ggufToPeft(src, staged)).arch;
  }
  const dir = kind === 'peft-folder' ? src : path.dirname(src);
  const weights = kind === 'safetensors' && src.toLowerCase().endsWith('.safetensors') ? src : path.join(dir, PEFT_WEIGHTS_FILE);
  const config = path.join(dir, PEFT_CONFIG_FILE);
  if (!existsSync(config)) throw new GraftError('NOT_FOUND', `${dir}: no ${PEFT_CONFIG_FILE} beside the adapter weights`, { file: config });
  if (!existsSync(weights)) {
    const pickle = path.join(dir, 'adapter_model.bin');
    if (existsSync(pickle)) throw new GraftError('UNSUPPORTED', `${pickle}: a Python pickle, which Graft does not load; save the adapter as safetensors`, { file: pickle });
    throw new GraftError('NOT_FOUND', `${dir}: no ${PEFT_WEIGHTS_FILE}`, { file: weights });
  }
  await copyFileDurable(config, path.join(staged, PEFT_CONFIG_FILE));
  await copyFileDurable(weights, path.join(staged, PEFT_WEIGHTS_FILE));
  if (existsSync(path.join(dir, META_FILE))) await copyFileDurable(path.join(dir, META_FILE), path.join(staged, META_FILE));
  return undefined;
}

/** Metadata a previous Graft export carried along, if any and if readable (never fatal). */
async function carriedMeta(staged: string): Promise<Partial<AdapterMeta>> {
  const file = path.join(staged, META_FILE);
  if (!existsSync(file)) return {};
  try {
    return parseAdapterMeta(JSON.parse(await fsp.readFile(file, 'utf8')), file);
  } catch {
    return {};
  } finally {
    await fsp.rm(file, { force: true });
  }
}

export function metaFromPeft(info: PeftAdapterInfo, fields: Partial<AdapterMeta> & { name: string; source: string }): Omit<AdapterMeta, 'id'> {
  return {
    format: META_FORMAT,
    tags: [],
    notes: '',
    base: null,
    method: 'lora',
    dataset: null,
    hyperparameters: {},
    metrics: {},
    lossCurve: [],
    created: new Date().toISOString(),
    ...fields,
    r: info.r,
    alpha: info.alpha,
    targets: info.targets,
    rslora: info.rslora,
  };
}

function defaultName(src: string): string {
  const base = path.basename(src).replace(/\.(zip|gguf|safetensors|json)$/i, '');
  if (base === 'adapter_model' || base === 'adapter_config') return path.basename(path.dirname(src));
  return base;
}

export async function importAdapter(lib: AdapterLibrary, src: string, opts: ImportOptions = {}): Promise<LibraryEntry> {
  const kind = await detectImportKind(src);
  const staged = await lib.stage();
  try {
    if (kind === 'peft-folder' && folderMethod(src) !== null) return await importMethod(lib, src, staged, opts);
    const ggufArch = await gather(src, kind, staged, opts);
    const info = inspectPeftAdapter(staged);
    const carried = await carriedMeta(staged);
    const arch = opts.arch ?? ggufArch ?? (carried.base?.arch || undefined);
    if (opts.base) {
      if (!arch) opts.onWarning?.(`${src} does not say which architecture it was trained on, so only layer count and tensor shapes were checked against ${opts.base.ref.id} (name its architecture to check it too)`);
      checkCompatibility(
        { arch, tensors: info.tensors, numLayers: info.numLayers, layersToTransform: info.layersToTransform, label: `adapter ${src}` },
        { ...opts.base.shapes, label: opts.base.shapes.label ?? `base ${opts.base.ref.id}` },
      );
    }
    const base: BaseModelRef | null = opts.base?.ref ?? carried.base ?? (info.baseModelNameOrPath ? { id: info.baseModelNameOrPath, arch: arch ?? '' } : arch ? { id: '', arch } : null);
    const meta = metaFromPeft(info, {
      ...carried,
      name: opts.name ?? carried.name ?? defaultName(src),
      tags: opts.tags ?? carried.tags ?? [],
      base,
      source: path.resolve(src),
      created: carried.created ?? new Date().toISOString(),
    });
    return await lib.commitStaged(staged, meta);
  } catch (err) {
    await fsp.rm(staged, { recursive: true, force: true });
    // A full disk is the library's, not the user's file: name the library folder that needs room.
    if (err instanceof GraftError && err.code === 'IO' && err.file?.startsWith(staged)) throw noSpaceAt(err, path.join(lib.root, path.basename(err.file)));
    throw inUserTerms(err, staged, src, kind);
  }
}

/** A non-LoRA method folder (import-method.ts), with the metadata a Graft run carried beside it. */
async function importMethod(lib: AdapterLibrary, src: string, staged: string, opts: ImportOptions): Promise<LibraryEntry> {
  const shape = await stageMethodFolder(src, staged, { spec: opts.base?.spec, onWarning: opts.onWarning });
  const carriedFile = path.join(src, META_FILE);
  let carried: Partial<AdapterMeta> = {};
  // as for LoRA: metadata a Graft run or export carried along, when readable (never fatal)
  if (existsSync(carriedFile)) carried = await fsp.readFile(carriedFile, 'utf8').then((t) => parseAdapterMeta(JSON.parse(t), carriedFile)).catch(() => ({}));
  return lib.commitStaged(staged, {
    format: META_FORMAT,
    notes: '',
    dataset: null,
    hyperparameters: {},
    metrics: {},
    lossCurve: [],
    ...carried,
    ...shape,
    name: opts.name ?? carried.name ?? defaultName(src),
    tags: opts.tags ?? carried.tags ?? [],
    base: opts.base?.ref ?? carried.base ?? null,
    source: path.resolve(src),
    created: carried.created ?? new Date().toISOString(),
  });
}

/**
 * The checks run on the staging copy, whose path means nothing to the user (and is gone once the import
 * fails): an error naming a staged file is reworded to name the file the user gave.
 */
function inUserTerms(err: unknown, staged: string, src: string, kind: ImportKind): unknown {
  if (!(err instanceof GraftError) || !(err.message.includes(staged) || err.file?.startsWith(staged))) return err;
  const userFile = (stagedFile: string): string => {
    const name = path.relative(staged, stagedFile);
    if (kind === 'peft-folder') return path.join(src, name);
    if (kind === 'safetensors') return path.join(path.dirname(src), name);
    if (kind === 'zip') return `${src} (member ${name})`;
    return src; // gguf: the PEFT files were made from it
  };
  const message = err.message.replace(new RegExp(`${staged.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^\\s:]*`, 'g'), (m) => userFile(m));
  return new GraftError(err.code, message, { file: err.file?.startsWith(staged) ? userFile(err.file) : err.file, where: err.where, cause: err });
}
