/**
 * A graph's files gathered in a private folder inside the graph cache before they are made durable there.
 *
 * Why: a first start used to wait for every new weight file to reach the disk (fsync) before ORT could read
 * them, then for ORT. Here new files are written into the stage without waiting for the disk (the page cache
 * holds them), files the cache already has are hard-linked in, and ORT creates the session from the stage.
 * Meanwhile `commit` fsyncs each new file and renames it into the cache. A file appears in the cache under its
 * name only once it is on disk, as with writeFileAtomic; a process killed before its commit leaves a stage
 * folder, which the next start removes (its name carries the owner's pid, like any temp file).
 */
import { mkdirSync, promises as fsp, rmSync } from 'node:fs';
import path from 'node:path';
import { fsyncDir, noSpace, tempName } from '../io/atomic.js';

/** `bytes` written from the thread pool in pieces under 1 GiB (write(2) takes at most ~2 GiB a call). */
async function writeWhole(fh: fsp.FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.byteLength; ) done += (await fh.write(bytes, done, Math.min(bytes.byteLength - done, 1 << 30), done)).bytesWritten;
}

export class Stage {
  /** The stage folder: a temp name of the cache folder (`isTempName`), so a dead owner's stage is swept. */
  readonly dir: string;
  /** Files written here (not linked): what commit makes durable and moves into the cache. */
  private readonly fresh = new Map<string, Promise<void>>();
  /** The fsyncs of the written files, once started (startSync). */
  private synced: Promise<void> | undefined;
  private closed = false;

  constructor(readonly cacheDir: string) {
    this.dir = tempName(path.join(cacheDir, 'stage'));
    mkdirSync(this.dir, { mode: 0o700 });
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  /** Starts writing `name` (no fsync yet); the promise settles once the bytes are in the file. */
  write(name: string, bytes: Uint8Array): Promise<void> {
    const existing = this.fresh.get(name);
    if (existing) return existing;
    if (this.synced || this.closed) throw new Error(`stage ${this.dir}: ${name} written after the stage was synced or closed`);
    const file = this.path(name);
    const done = (async () => {
      const fh = await fsp.open(file, 'w', 0o600);
      try {
        await writeWhole(fh, bytes);
      } finally {
        await fh.close();
      }
    })().catch((err: unknown) => {
      throw noSpace(err, path.join(this.cacheDir, name));
    });
    done.catch(() => {}); // reported to whoever awaits the write (or commit)
    this.fresh.set(name, done);
    return done;
  }

  /** Puts a file that is already on disk into the stage by a hard link; false where that cannot be done. */
  async linkIn(from: string, name: string): Promise<boolean> {
    try {
      await fsp.link(from, this.path(name));
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EEXIST';
    }
  }

  /** Starts making the written files durable (fsync each once written); commit waits for it. */
  startSync(): Promise<void> {
    this.synced ??= Promise.all(
      [...this.fresh].map(async ([name, written]) => {
        await written;
        const fh = await fsp.open(this.path(name), 'r+');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
      }),
    ).then(() => undefined);
    this.synced.catch(() => {}); // reported by commit
    return this.synced;
  }

  /**
   * Makes every written file durable and renames it into the cache, then removes the stage. Files already
   * renamed stay (each is whole and correctly named); on failure the rest of the stage is removed.
   */
  async commit(): Promise<void> {
    try {
      await this.startSync();
      await Promise.all([...this.fresh.keys()].map((name) => fsp.rename(this.path(name), path.join(this.cacheDir, name))));
      await fsyncDir(this.cacheDir);
    } catch (err) {
      throw noSpace(err, this.cacheDir);
    } finally {
      await this.discard();
    }
  }

  /** Removes the stage and what is left in it (after the writes in flight end, so none lands in a removed folder). */
  async discard(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.fresh.values()]);
    rmSync(this.dir, { recursive: true, force: true });
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
