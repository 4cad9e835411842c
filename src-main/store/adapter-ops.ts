/**
 * Library operations that need the engine: exports to GGUF and merged models, imports checked against a base,
 * blends. Shared by the CLI and the app so both do exactly the same thing.
 */
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { blendAdapters, type BlendResult } from '../engine/adapters/blend.js';
import { baseShapesOf, readAdapterWeights, writePeftFiles, type BaseModelShapes } from '../engine/adapters/compat.js';
import { checkCompatibility, inspectPeftAdapter } from '../engine/adapters/compat.js';
import { exportGgufLora, ggufLoraToPeft, ollamaModelfile } from '../engine/adapters/gguf-lora.js';
import { exportMergedModel } from '../engine/adapters/merge.js';
import { exportMergedGguf, ollamaMergedModelfile } from '../engine/adapters/merge-gguf.js';
import { GraftError } from '../engine/errors.js';
import { noSpace } from '../engine/io/atomic.js';
import { openModelSource, type WeightSource } from '../engine/io/model-source.js';
import { specFromConfig } from '../engine/models/index.js';
import { folderMethod, isMethodEntry } from './import-method.js';
import { exportMethod, type MethodExportResult } from '../engine/adapters/method-export.js';
import { readMethodFolder } from '../engine/adapters/method-folder.js';
import { EXPORTS_BY_METHOD, type ExportMethodOptions } from '../engine/options/export-method.js';
import { META_FORMAT, type BaseModelRef } from './adapter-meta.js';
import { resolveModelRef } from './model-registry.js';
import { exportPeftFolder, exportPeftZip } from './export.js';
import { importAdapter, type ImportOptions } from './import.js';
import type { AdapterLibrary, LibraryEntry } from './library.js';

/** The export formats, declared with the export options (engine/options/adapters.ts). */
export { EXPORT_FORMATS, type ExportFormat } from '../engine/options/adapters.js';
import type { ExportFormat } from '../engine/options/adapters.js';
import type { MergedGgufType } from '../engine/io/gguf-types.js';

export interface OpenedBase {
  source: WeightSource;
  ref: BaseModelRef;
  shapes: BaseModelShapes;
}

/** `modelPath` may be the name of a model registered in the app (the same registry as the Models screen). */
export async function openBase(modelRef: string): Promise<OpenedBase> {
  const modelPath = resolveModelRef(modelRef, 'base');
  const source = await openModelSource(modelPath);
  return { source, ref: { id: path.resolve(modelPath), arch: source.config.model_type ?? '' }, shapes: baseShapesOf(source) };
}

/** The base to use for an adapter: the one given, else the recorded one when it is a path on this machine. */
async function baseFor(entry: LibraryEntry, given: string | undefined, why: string): Promise<OpenedBase> {
  if (isMethodEntry(entry.meta)) throw methodNeedsItsExport(entry, why);
  const p = given ?? (entry.meta.base?.id && existsSync(entry.meta.base.id) ? entry.meta.base.id : undefined);
  // Named by its field key: the CLI words it as --base, the GUI as its form label.
  if (!p) {
    const recorded = entry.meta.base?.id ? `"${entry.meta.base.id}", which is not on this machine` : 'no base';
    throw new GraftError('BAD_INPUT', `is needed for ${why}: adapter ${entry.meta.name} records ${recorded}`, { field: 'base' });
  }
  const base = await openBase(p);
  try {
    const info = inspectPeftAdapter(entry.dir);
    checkCompatibility({ ...info, arch: entry.meta.base?.arch || undefined, label: `adapter ${entry.meta.name}` }, base.shapes);
  } catch (err) {
    base.source.close();
    throw err;
  }
  return base;
}

function methodNeedsItsExport(entry: LibraryEntry, what: string): GraftError {
  const formats = EXPORTS_BY_METHOD[entry.meta.method] ?? [];
  const instead = formats.length ? `its method exports (${formats.join(', ')})` : 'its PEFT folder';
  return new GraftError('UNSUPPORTED', `${what} takes LoRA adapters; ${entry.meta.name} is a ${entry.meta.method} adapter: use ${instead}`, { field: 'format' });
}

/**
 * A library entry of another method than LoRA out as export-method says (adapters/method-export.ts), read and
 * checked against its base: the one given, else the recorded one.
 */
export async function exportMethodEntry(lib: AdapterLibrary, ref: string, o: ExportMethodOptions & { out: string; base?: string }): Promise<MethodExportResult> {
  const entry = await lib.get(ref);
  if (!isMethodEntry(entry.meta)) throw new GraftError('BAD_INPUT', `${entry.meta.name} is a LoRA adapter: export it with the LoRA formats (peft, gguf, merged)`, { field: 'format' });
  const p = o.base ?? (entry.meta.base?.id && existsSync(entry.meta.base.id) ? entry.meta.base.id : undefined);
  if (!p) throw new GraftError('BAD_INPUT', `is needed to export adapter ${entry.meta.name}: it records ${entry.meta.base?.id ? `"${entry.meta.base.id}", which is not on this machine` : 'no base'}`, { field: 'base' });
  const out = path.resolve(o.out);
  refuseExisting([out]);
  const base = await openBase(p);
  try {
    const folder = readMethodFolder(entry.dir, specFromConfig(base.source.config, base.ref.id));
    return await exportMethod(base.source, folder, o, out);
  } finally {
    base.source.close();
  }
}

export interface ExportResult {
  format: ExportFormat;
  out: string;
  /** Extra files written beside the output (the Ollama Modelfile for GGUF). */
  extra: string[];
}

/** Refuse before writing anything when any of the files exists: an export never replaces a file of the user's. */
function refuseExisting(files: string[]): void {
  for (const f of files) if (existsSync(f)) throw new GraftError('BAD_INPUT', `${f} already exists; choose a new path`, { file: f });
}

/**
 * The Ollama Modelfile beside a GGUF just written. Both files or neither: a GGUF without its Modelfile, or
 * half a Modelfile, is no finished export.
 */
async function writeModelfile(gguf: string, modelfile: string, text: string): Promise<void> {
  try {
    await fsp.writeFile(modelfile, text, { flag: 'wx' });
  } catch (err) {
    await fsp.rm(gguf, { force: true });
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await fsp.rm(modelfile, { force: true });
    throw noSpace(err, modelfile);
  }
}

export async function exportAdapter(
  lib: AdapterLibrary,
  ref: string,
  opts: { format: ExportFormat; out: string; base?: string; ggufType?: 'F32' | 'F16'; ggufQuant?: MergedGgufType; ollamaBase?: string },
): Promise<ExportResult> {
  const entry = await lib.get(ref);
  const out = path.resolve(opts.out);
  switch (opts.format) {
    case 'peft':
      await exportPeftFolder(entry, out);
      return { format: opts.format, out, extra: [] };
    case 'peft-zip':
      await exportPeftZip(entry, out);
      return { format: opts.format, out, extra: [] };
    case 'gguf': {
      const base = await baseFor(entry, opts.base, 'GGUF export');
      try {
        // Both files are checked before either is written: an export never replaces a file of the user's.
        const modelfile = out.replace(/\.gguf$/i, '') + '.Modelfile';
        refuseExisting([out, modelfile]);
        await exportGgufLora(entry.dir, base.source.config, out, { type: opts.ggufType ?? 'F16', name: entry.meta.name });
        await writeModelfile(out, modelfile, ollamaModelfile(opts.ollamaBase ?? base.ref.id, `./${path.basename(out)}`));
        return { format: opts.format, out, extra: [modelfile] };
      } finally {
        base.source.close();
      }
    }
    case 'merged-gguf': {
      const base = await baseFor(entry, opts.base, 'a merged GGUF export');
      try {
        const modelfile = out.replace(/\.gguf$/i, '') + '.Modelfile';
        refuseExisting([out, modelfile]);
        const baseName = typeof base.source.ggufMetadata?.['general.name'] === 'string' ? base.source.ggufMetadata['general.name'] : path.basename(base.ref.id);
        exportMergedGguf(base.source, readAdapterWeights(entry.dir), out, { type: opts.ggufQuant ?? 'F16', name: `${baseName} + ${entry.meta.name}` });
        await writeModelfile(out, modelfile, ollamaMergedModelfile(`./${path.basename(out)}`));
        return { format: opts.format, out, extra: [modelfile] };
      } finally {
        base.source.close();
      }
    }
    case 'merged': {
      const base = await baseFor(entry, opts.base, 'a merged export');
      try {
        await exportMergedModel(base.source, readAdapterWeights(entry.dir), out);
        return { format: opts.format, out, extra: [] };
      } finally {
        base.source.close();
      }
    }
  }
}

/** Import with the compatibility check against `basePath` when given (and GGUF LoRAs converted with it). */
export async function importChecked(lib: AdapterLibrary, src: string, opts: Omit<ImportOptions, 'base' | 'ggufToPeft'> & { basePath?: string }): Promise<LibraryEntry> {
  const base = opts.basePath ? await openBase(opts.basePath) : undefined;
  try {
    return await importAdapter(lib, src, {
      ...opts,
      // a method folder is built for the base's layers (its spec) and every tensor checked against them
      base: base ? { ref: base.ref, shapes: base.shapes, spec: folderMethod(src) !== null ? specFromConfig(base.source.config, base.ref.id) : undefined } : undefined,
      ggufToPeft: (file, dir) => ggufLoraToPeft(file, dir, base?.source.config),
    });
  } finally {
    base?.source.close();
  }
}

export interface BlendPart {
  ref: string;
  weight: number;
}

/** Blend library adapters into a new library entry; exact unless `rank` is below the sum of ranks. */
export async function blendIntoLibrary(lib: AdapterLibrary, parts: BlendPart[], opts: { name: string; rank?: number }): Promise<{ entry: LibraryEntry; result: BlendResult }> {
  const entries = await Promise.all(parts.map((p) => lib.get(p.ref)));
  // other methods compose at inference (a Chat column's weighted merge); this writes a LoRA
  for (const e of entries)
    if (isMethodEntry(e.meta))
      throw new GraftError('UNSUPPORTED', `a blend writes a LoRA; ${e.meta.name} is a ${e.meta.method} adapter: merge it at inference instead (a Chat column's weighted merge, graft generate --compose merge)`, { where: e.meta.id });
  const result = blendAdapters(entries.map((e, i) => ({ adapter: readAdapterWeights(e.dir), weight: parts[i].weight, label: e.meta.name })), { rank: opts.rank });
  const bases = new Set(entries.map((e) => e.meta.base?.id ?? ''));
  const base = bases.size === 1 ? entries[0].meta.base : null;
  const staged = await lib.stage();
  try {
    await writePeftFiles(staged, result.weights, { baseModel: base?.id || null });
    const entry = await lib.commitStaged(staged, {
      format: META_FORMAT,
      name: opts.name,
      tags: ['blend'],
      notes: '',
      base,
      method: 'lora',
      r: result.weights.r,
      alpha: result.weights.alpha,
      targets: result.weights.targets,
      rslora: false,
      dataset: null,
      hyperparameters: { blend: entries.map((e, i) => ({ id: e.meta.id, name: e.meta.name, weight: parts[i].weight })), mode: result.mode },
      metrics: { blendRelativeError: result.relativeError },
      lossCurve: [],
      created: new Date().toISOString(),
      source: `blend of ${entries.map((e, i) => `${e.meta.name}×${parts[i].weight}`).join(', ')}`,
    });
    return { entry, result };
  } catch (err) {
    await fsp.rm(staged, { recursive: true, force: true });
    throw err;
  }
}
