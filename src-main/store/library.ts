/**
 * The adapter library: one folder per adapter under <root>/adapters/<id>/ holding the PEFT files and graft.json.
 * There is no index file: listing reads the folders, so one damaged folder costs only its own entry.
 *
 * Crash safety comes from building a new adapter in <root>/.staging/<pid>-<rand>/ and renaming the finished
 * folder into adapters/ (one atomic rename), and from rewriting graft.json atomically for metadata edits.
 * A short cross-process lock covers the steps that must see a consistent set of names.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../engine/adapters/compat.js';
import { GraftError } from '../engine/errors.js';
import { copyFileDurable, fsyncDir, isProcessAlive, isTempName, tempOwnerPid, writeFileDurable, writeJsonAtomic } from '../engine/io/atomic.js';
import { META_FILE, makeId, parseAdapterMeta, type AdapterMeta } from './adapter-meta.js';
import { withDirLock, type LockOptions } from './lock.js';

export interface LibraryEntry {
  meta: AdapterMeta;
  dir: string;
  sizeBytes: number;
}

export interface LibraryProblem {
  dir: string;
  message: string;
}

export type SortKey = 'name' | 'created' | 'size' | 'rank';

export interface ListOptions {
  /** Words that must all appear in the name, tags, notes, base or dataset (case-insensitive). */
  query?: string;
  /** Every one of these tags must be present. */
  tags?: string[];
  sort?: SortKey;
  descending?: boolean;
}

export interface LibraryListing {
  entries: LibraryEntry[];
  /** Folders that could not be read, each with why: reported, never fatal. */
  problems: LibraryProblem[];
}

export const DELETED_MARK = '.deleted.json';

export class AdapterLibrary {
  readonly adaptersDir: string;
  readonly trashDir: string;
  readonly stagingDir: string;

  private constructor(readonly root: string, readonly lockOptions: LockOptions) {
    this.adaptersDir = path.join(root, 'adapters');
    this.trashDir = path.join(root, 'trash');
    this.stagingDir = path.join(root, '.staging');
  }

  /** Open (creating if needed) a library, sweeping what dead processes left half-done. */
  static async open(root: string, lockOptions: LockOptions = {}): Promise<AdapterLibrary> {
    const lib = new AdapterLibrary(path.resolve(root), lockOptions);
    for (const d of [lib.root, lib.adaptersDir, lib.trashDir, lib.stagingDir]) await fsp.mkdir(d, { recursive: true });
    await lib.sweepAbandoned();
    return lib;
  }

  withLock<T>(fn: () => Promise<T>): Promise<T> {
    return withDirLock(this.root, fn, this.lockOptions);
  }

  private async sweepAbandoned(): Promise<void> {
    for (const name of await fsp.readdir(this.stagingDir)) {
      const pid = Number(name.split('-')[0]);
      if (!Number.isInteger(pid) || !isProcessAlive(pid)) await fsp.rm(path.join(this.stagingDir, name), { recursive: true, force: true });
    }
    for (const id of await fsp.readdir(this.adaptersDir)) {
      const dir = path.join(this.adaptersDir, id);
      const names = await fsp.readdir(dir).catch(() => [] as string[]);
      for (const n of names) {
        const pid = tempOwnerPid(n);
        if (isTempName(n) && pid !== undefined && !isProcessAlive(pid)) await fsp.rm(path.join(dir, n), { force: true });
        // a delete that died between marking and moving: the adapter stays, the mark goes
        if (n === DELETED_MARK) await fsp.rm(path.join(dir, n), { force: true });
      }
    }
  }

  /** A fresh folder to build a new adapter in; hand it to commitStaged, or remove it. */
  async stage(): Promise<string> {
    const dir = path.join(this.stagingDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
    await fsp.mkdir(dir);
    return dir;
  }

  /**
   * Move a finished staging folder into the library under a unique name (a taken name gets " 2", " 3", ...).
   * graft.json is written last inside staging, then the folder appears in adapters/ in one rename.
   */
  async commitStaged(staged: string, meta: Omit<AdapterMeta, 'id'> & { id?: string }): Promise<LibraryEntry> {
    return this.withLock(async () => {
      const { entries } = await this.list();
      const name = uniqueName(meta.name, new Set(entries.map((e) => e.meta.name.toLowerCase())));
      const id = meta.id && !entries.some((e) => e.meta.id === meta.id) ? meta.id : makeId(name, randomBytes(4).toString('hex'));
      const full: AdapterMeta = { ...meta, id, name };
      await writeFileDurable(path.join(staged, META_FILE), JSON.stringify(full, null, 2) + '\n');
      await fsyncDir(staged);
      const dest = path.join(this.adaptersDir, id);
      await fsp.rename(staged, dest);
      await fsyncDir(this.adaptersDir);
      return { meta: full, dir: dest, sizeBytes: await folderSize(dest) };
    });
  }

  async list(opts: ListOptions = {}): Promise<LibraryListing> {
    const { entries, problems } = await readFolders(this.adaptersDir);
    const words = (opts.query ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    const filtered = entries.filter((e) => {
      const hay = [e.meta.name, e.meta.id, ...e.meta.tags, e.meta.notes, e.meta.base?.id ?? '', e.meta.base?.arch ?? '', e.meta.dataset?.name ?? '']
        .join('\n')
        .toLowerCase();
      const tags = new Set(e.meta.tags.map((t) => t.toLowerCase()));
      return words.every((w) => hay.includes(w)) && (opts.tags ?? []).every((t) => tags.has(t.toLowerCase()));
    });
    return { entries: sortEntries(filtered, opts.sort ?? 'name', opts.descending ?? false), problems };
  }

  /** Find by id, exact name (any case), or a unique id prefix. */
  async get(ref: string): Promise<LibraryEntry> {
    return resolveRef((await this.list()).entries, ref, 'library');
  }

  /** Read-modify-write graft.json under the lock, atomically. */
  async update(ref: string, change: (meta: AdapterMeta) => AdapterMeta | Promise<AdapterMeta>): Promise<LibraryEntry> {
    return this.withLock(async () => {
      const { entries } = await this.list();
      const entry = resolveRef(entries, ref, 'library');
      const next = await change(structuredClone(entry.meta));
      if (next.id !== entry.meta.id) throw new GraftError('BAD_INPUT', 'an adapter\'s id cannot change', { where: 'id' });
      const clash = entries.find((e) => e.meta.id !== next.id && e.meta.name.toLowerCase() === next.name.toLowerCase());
      if (clash) throw new GraftError('BAD_INPUT', `an adapter named "${clash.meta.name}" already exists`, { where: 'name' });
      await writeJsonAtomic(path.join(entry.dir, META_FILE), next);
      return { ...entry, meta: next };
    });
  }

  rename(ref: string, newName: string): Promise<LibraryEntry> {
    const name = newName.trim();
    if (!name) throw new GraftError('BAD_INPUT', 'a name cannot be empty', { where: 'name' });
    return this.update(ref, (m) => ({ ...m, name }));
  }

  setTags(ref: string, tags: string[]): Promise<LibraryEntry> {
    const clean = [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
    return this.update(ref, (m) => ({ ...m, tags: clean }));
  }

  setNotes(ref: string, notes: string): Promise<LibraryEntry> {
    return this.update(ref, (m) => ({ ...m, notes }));
  }

  /** Copy an adapter's files into a new entry (named "<name> copy" unless given). */
  async duplicate(ref: string, newName?: string): Promise<LibraryEntry> {
    const src = await this.get(ref);
    const staged = await this.stage();
    try {
      for (const f of await fsp.readdir(src.dir)) {
        if (f === META_FILE || f.startsWith('.')) continue;
        await copyFileDurable(path.join(src.dir, f), path.join(staged, f));
      }
      const { id: _id, ...rest } = src.meta;
      return await this.commitStaged(staged, { ...rest, name: newName ?? `${src.meta.name} copy`, created: new Date().toISOString(), source: `duplicate of ${src.meta.id}` });
    } catch (err) {
      await fsp.rm(staged, { recursive: true, force: true });
      throw err;
    }
  }
}

export function uniqueName(name: string, takenLower: Set<string>): string {
  const base = name.trim() || 'adapter';
  if (!takenLower.has(base.toLowerCase())) return base;
  for (let i = 2; ; i++) {
    const candidate = `${base} ${i}`;
    if (!takenLower.has(candidate.toLowerCase())) return candidate;
  }
}

export function resolveRef<T extends { meta: AdapterMeta }>(entries: T[], ref: string, where: string): T {
  const byId = entries.find((e) => e.meta.id === ref);
  if (byId) return byId;
  const byName = entries.filter((e) => e.meta.name.toLowerCase() === ref.toLowerCase());
  if (byName.length === 1) return byName[0];
  const byPrefix = entries.filter((e) => e.meta.id.startsWith(ref));
  if (byPrefix.length === 1) return byPrefix[0];
  if (byPrefix.length > 1) throw new GraftError('BAD_INPUT', `"${ref}" matches ${byPrefix.length} adapters in the ${where}; use more of the id`, { where: ref });
  throw new GraftError('NOT_FOUND', `no adapter "${ref}" in the ${where}`, { where: ref });
}

/** Read every <dir>/<id>/graft.json; a folder that fails goes to problems with the reason. */
export async function readFolders(parent: string): Promise<LibraryListing> {
  const entries: LibraryEntry[] = [];
  const problems: LibraryProblem[] = [];
  for (const id of (await fsp.readdir(parent)).sort()) {
    if (id.startsWith('.')) continue;
    const dir = path.join(parent, id);
    try {
      const file = path.join(dir, META_FILE);
      let raw: unknown;
      try {
        raw = JSON.parse(await fsp.readFile(file, 'utf8'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new GraftError('BAD_FILE', `${file}: missing`, { file });
        if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new GraftError('BAD_FILE', `${dir}: not a folder`, { file: dir });
        throw new GraftError('BAD_FILE', `${file}: not valid JSON (${(err as Error).message})`, { file });
      }
      const meta = parseAdapterMeta(raw, file);
      if (meta.id !== id) throw new GraftError('BAD_FILE', `${file}: id "${meta.id}" does not match its folder "${id}"`, { file, where: 'id' });
      for (const f of [PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE]) {
        if (!existsSync(path.join(dir, f))) throw new GraftError('BAD_FILE', `${dir}: ${f} is missing`, { file: path.join(dir, f) });
      }
      entries.push({ meta, dir, sizeBytes: await folderSize(dir) });
    } catch (err) {
      problems.push({ dir, message: (err as Error).message });
    }
  }
  return { entries, problems };
}

export async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const f of await fsp.readdir(dir)) {
    const st = await fsp.stat(path.join(dir, f)).catch(() => undefined);
    if (st?.isFile()) total += st.size;
  }
  return total;
}

function sortEntries(entries: LibraryEntry[], key: SortKey, descending: boolean): LibraryEntry[] {
  const cmp: Record<SortKey, (a: LibraryEntry, b: LibraryEntry) => number> = {
    name: (a, b) => a.meta.name.localeCompare(b.meta.name, undefined, { sensitivity: 'base', numeric: true }),
    created: (a, b) => a.meta.created.localeCompare(b.meta.created),
    size: (a, b) => a.sizeBytes - b.sizeBytes,
    rank: (a, b) => a.meta.r - b.meta.r,
  };
  const sorted = [...entries].sort((a, b) => cmp[key](a, b) || a.meta.id.localeCompare(b.meta.id));
  return descending ? sorted.reverse() : sorted;
}
