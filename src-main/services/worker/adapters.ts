/**
 * The engine worker's methods for the Adapters screen: imports, exports and blends read and write tensors, convert
 * GGUF and run SVDs, so they run on the worker thread and the UI and the host's event loop never wait on them.
 */
import { blendIntoLibrary, exportAdapter, exportMethodEntry, importChecked } from '../../store/adapter-ops.js';
import { AdapterLibrary } from '../../store/library.js';
import type { AdapterBlendReq, AdapterBlendRes, AdapterExportJob, AdapterExportMethodJob, AdapterExportMethodRes, AdapterExportRes, AdapterImportReq, AdapterImportRes } from '../../ipc/adapters';

/** Requests as the main side sends them: with the adapter library's folder. */
export type WithLibrary<T> = T & { library: string };

/** Merged into the worker protocol's WorkerMethods. */
export interface AdapterWorkerMethods {
  'adapters.import': { params: WithLibrary<AdapterImportReq>; result: AdapterImportRes };
  'adapters.export': { params: WithLibrary<AdapterExportJob>; result: AdapterExportRes };
  'adapters.exportMethod': { params: WithLibrary<AdapterExportMethodJob>; result: AdapterExportMethodRes };
  'adapters.blend': { params: WithLibrary<AdapterBlendReq>; result: AdapterBlendRes };
}

type Methods = { [M in keyof AdapterWorkerMethods]: (p: AdapterWorkerMethods[M]['params']) => Promise<AdapterWorkerMethods[M]['result']> };

export function adapterMethods(): Methods {
  return {
    'adapters.import': async ({ library, path, name, tags, basePath }) => {
      const lib = await AdapterLibrary.open(library);
      const warnings: string[] = [];
      const e = await importChecked(lib, path, { name, tags, basePath, onWarning: (m) => warnings.push(m) });
      return { entry: { meta: e.meta, dir: e.dir, sizeBytes: e.sizeBytes }, warnings };
    },

    'adapters.export': async ({ library, id, ...opts }) => exportAdapter(await AdapterLibrary.open(library), id, opts),

    'adapters.exportMethod': async ({ library, id, out, base, ...opts }) => ({ format: opts.format, ...(await exportMethodEntry(await AdapterLibrary.open(library), id, { ...opts, out, base })) }),

    'adapters.blend': async ({ library, parts, name, rank }) => {
      const lib = await AdapterLibrary.open(library);
      const { entry, result } = await blendIntoLibrary(
        lib,
        parts.map((p) => ({ ref: p.id, weight: p.weight })),
        { name, rank },
      );
      return {
        entry: { meta: entry.meta, dir: entry.dir, sizeBytes: entry.sizeBytes },
        mode: result.mode,
        relativeError: result.relativeError,
        worst: result.worst,
      };
    },
  };
}
