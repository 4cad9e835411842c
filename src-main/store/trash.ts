/**
 * Delete to a trash with undo. Deleting first writes a mark (when) into the adapter's folder, then moves the
 * folder to <root>/trash/<id> in one rename; restoring moves it back. A crash between the two steps leaves the
 * adapter in place with a stray mark, which the next open of the library removes.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { GraftError } from '../engine/errors.js';
import { fsyncDir, writeJsonAtomic } from '../engine/io/atomic.js';
import type { AdapterMeta } from './adapter-meta.js';
import { META_FILE } from './adapter-meta.js';
import { DELETED_MARK, readFolders, resolveRef, uniqueName, type AdapterLibrary, type LibraryEntry, type LibraryProblem } from './library.js';

export interface TrashEntry extends LibraryEntry {
  /** ISO time of the delete. */
  deletedAt: string;
}

async function deletedAt(dir: string): Promise<string> {
  try {
    const mark = JSON.parse(await fsp.readFile(path.join(dir, DELETED_MARK), 'utf8')) as { deletedAt?: unknown };
    if (typeof mark.deletedAt === 'string') return mark.deletedAt;
  } catch {
    /* no mark: fall back to the folder's time */
  }
  return (await fsp.stat(dir)).mtime.toISOString();
}

/** Newest delete first. */
export async function listTrash(lib: AdapterLibrary): Promise<{ entries: TrashEntry[]; problems: LibraryProblem[] }> {
  const { entries, problems } = await readFolders(lib.trashDir);
  const withTime = await Promise.all(entries.map(async (e) => ({ ...e, deletedAt: await deletedAt(e.dir) })));
  withTime.sort((a, b) => b.deletedAt.localeCompare(a.deletedAt));
  return { entries: withTime, problems };
}

export async function moveToTrash(lib: AdapterLibrary, ref: string): Promise<TrashEntry> {
  return lib.withLock(async () => {
    const entry = resolveRef((await lib.list()).entries, ref, 'library');
    const when = new Date().toISOString();
    await writeJsonAtomic(path.join(entry.dir, DELETED_MARK), { deletedAt: when, from: entry.dir });
    const dest = path.join(lib.trashDir, entry.meta.id);
    // an older trashed copy with the same id (deleted, restored... duplicated) is superseded, not overwritten in place
    await fsp.rm(dest, { recursive: true, force: true });
    await fsp.rename(entry.dir, dest);
    await fsyncDir(lib.adaptersDir);
    await fsyncDir(lib.trashDir);
    return { ...entry, dir: dest, deletedAt: when };
  });
}

/**
 * Bring an adapter back from the trash; without a ref, the most recently deleted one (undo).
 * If its name was taken meanwhile, it comes back as "<name> 2".
 */
export async function restoreFromTrash(lib: AdapterLibrary, ref?: string): Promise<LibraryEntry> {
  return lib.withLock(async () => {
    const trash = (await listTrash(lib)).entries;
    if (trash.length === 0) throw new GraftError('NOT_FOUND', 'the trash is empty');
    const entry = ref === undefined ? trash[0] : resolveRef(trash, ref, 'trash');
    const live = (await lib.list()).entries;
    if (live.some((e) => e.meta.id === entry.meta.id)) {
      throw new GraftError('BAD_INPUT', `an adapter with id ${entry.meta.id} is already in the library`, { where: entry.meta.id });
    }
    const name = uniqueName(entry.meta.name, new Set(live.map((e) => e.meta.name.toLowerCase())));
    if (name !== entry.meta.name) {
      const meta: AdapterMeta = { ...entry.meta, name };
      await writeJsonAtomic(path.join(entry.dir, META_FILE), meta);
      entry.meta = meta;
    }
    const dest = path.join(lib.adaptersDir, entry.meta.id);
    await fsp.rename(entry.dir, dest);
    await fsp.rm(path.join(dest, DELETED_MARK), { force: true });
    await fsyncDir(lib.trashDir);
    await fsyncDir(lib.adaptersDir);
    return { meta: entry.meta, dir: dest, sizeBytes: entry.sizeBytes };
  });
}

/** Remove trashed adapters for good; with olderThanMs, only those deleted longer ago than that. */
export async function emptyTrash(lib: AdapterLibrary, olderThanMs = 0): Promise<number> {
  return lib.withLock(async () => {
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const e of (await listTrash(lib)).entries) {
      if (Date.parse(e.deletedAt) <= cutoff) {
        await fsp.rm(e.dir, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  });
}
