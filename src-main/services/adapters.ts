/**
 * The Adapters screen's jobs. Quick metadata work (list, rename, tags, notes, delete, undo) reads and writes
 * small JSON files on the main side; imports, exports and blends touch tensors and run on the engine worker.
 */
import { defaultLibraryDir } from '../store/paths';
import { AdapterLibrary, type LibraryEntry } from '../store/library';
import { listTrash, moveToTrash, restoreFromTrash } from '../store/trash';
import type { AdapterBlendReq, AdapterBlendRes, AdapterEntry, AdapterExportJob, AdapterExportMethodJob, AdapterExportMethodRes, AdapterExportRes, AdapterImportReq, AdapterImportRes, AdapterListReq, AdapterListing } from '../ipc/adapters';
import type { WorkerClient } from './worker/client';

const entry = (e: LibraryEntry): AdapterEntry => ({ meta: e.meta, dir: e.dir, sizeBytes: e.sizeBytes });

export class AdapterService {
  private lib: Promise<AdapterLibrary> | null = null;

  constructor(
    private readonly worker: WorkerClient,
    /** GRAFT_LIBRARY or the user-data library, read when first used. */
    private readonly rootOverride?: string,
  ) {}

  get root(): string {
    return this.rootOverride ?? defaultLibraryDir();
  }

  private open(): Promise<AdapterLibrary> {
    this.lib ??= AdapterLibrary.open(this.root);
    this.lib.catch(() => (this.lib = null)); // a failed open is retried on the next request
    return this.lib;
  }

  async list(req: AdapterListReq): Promise<AdapterListing> {
    const lib = await this.open();
    const [{ entries, problems }, all, trash] = await Promise.all([lib.list(req), lib.list(), listTrash(lib)]);
    const allTags = [...new Set(all.entries.flatMap((e) => e.meta.tags))].sort((a, b) => a.localeCompare(b));
    return {
      entries: entries.map(entry),
      problems,
      allTags,
      root: lib.root,
      trash: trash.entries.map((t) => ({ id: t.meta.id, name: t.meta.name, deletedAt: t.deletedAt })),
    };
  }

  async rename(id: string, name: string): Promise<AdapterEntry> {
    return entry(await (await this.open()).rename(id, name));
  }

  async setTags(id: string, tags: string[]): Promise<AdapterEntry> {
    return entry(await (await this.open()).setTags(id, tags));
  }

  async setNotes(id: string, notes: string): Promise<AdapterEntry> {
    return entry(await (await this.open()).setNotes(id, notes));
  }

  async remove(id: string): Promise<{ id: string; name: string; deletedAt: string }> {
    const t = await moveToTrash(await this.open(), id);
    return { id: t.meta.id, name: t.meta.name, deletedAt: t.deletedAt };
  }

  async restore(id?: string): Promise<AdapterEntry> {
    return entry(await restoreFromTrash(await this.open(), id));
  }

  import(req: AdapterImportReq): Promise<AdapterImportRes> {
    return this.worker.call('adapters.import', { ...req, library: this.root });
  }

  export(req: AdapterExportJob): Promise<AdapterExportRes> {
    return this.worker.call('adapters.export', { ...req, library: this.root });
  }

  exportMethod(req: AdapterExportMethodJob): Promise<AdapterExportMethodRes> {
    return this.worker.call('adapters.exportMethod', { ...req, library: this.root });
  }

  blend(req: AdapterBlendReq): Promise<AdapterBlendRes> {
    return this.worker.call('adapters.blend', { ...req, library: this.root });
  }
}
