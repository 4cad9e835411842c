/**
 * Crash-safe file writes, the one helper of the engine, the stores and the graph cache: data goes to a temp
 * file in the same folder (so the rename stays on one filesystem), is fsynced, then renamed over the target,
 * and the folder is fsynced so the rename itself survives a power cut. A reader sees the old file or the new
 * one, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, mkdirSync, openSync, promises as fsp, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { GraftError } from '../errors.js';

/**
 * A full disk (or quota) while writing `target`, in words that name the folder that needs room; the write
 * was atomic, so nothing was replaced. Other errors pass through unchanged.
 */
export function noSpace(err: unknown, target: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return err;
  const why = code === 'ENOSPC' ? 'no space left on the disk' : 'the disk quota is used up';
  return new GraftError('IO', `${path.dirname(target)}: ${why} while writing ${path.basename(target)}; nothing was replaced. Free some space there and try again`, { file: target, cause: err });
}

/**
 * noSpace for a whole export built under a temp name (a folder, a zip): the message names the folder the user
 * chose and the output, not the temp entry inside it, whichever file of it the disk ran out on.
 */
export function noSpaceAt(err: unknown, output: string): unknown {
  const inner = err instanceof GraftError && err.code === 'IO' && err.cause ? err.cause : err;
  const worded = noSpace(inner, output);
  return worded === inner ? err : worded;
}

/** Temp names carry the writer's pid so a sweeper can tell an abandoned temp file from a live one. */
export function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function isTempName(name: string): boolean {
  return /\.tmp-\d+-[0-9a-f]+$/.test(name);
}

export function tempOwnerPid(name: string): number | undefined {
  const m = /\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Errors of a folder fsync that mean "this OS cannot", not "this failed" (Windows refuses, some FSs too). */
const CANNOT_SYNC_DIR = new Set(['EISDIR', 'EPERM', 'EINVAL', 'EBADF']);

/** fsync a folder so a rename or create inside it is durable (a no-op where the OS refuses, as on Windows). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, constants.O_RDONLY);
    await fh.sync();
  } catch (err) {
    if (!CANNOT_SYNC_DIR.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await fh?.close();
  }
}

/** fsyncDir for synchronous writers; best effort, as the synchronous writers have always had it. */
export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* not supported here */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

type Data = string | Uint8Array | readonly Uint8Array[];

export async function writeFileAtomic(target: string, data: Data): Promise<void> {
  const tmp = tempName(target);
  const fh = await fsp.open(tmp, 'w');
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) await fh.writeFile(data);
    else for (const c of data) await fh.write(c);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw noSpace(err, target);
  }
  await fh.close();
  try {
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(path.dirname(target));
}

export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}

function writeAll(fd: number, chunk: Uint8Array): void {
  let done = 0;
  while (done < chunk.byteLength) {
    // writeSync takes at most 2 GiB per call
    const len = Math.min(chunk.byteLength - done, 1 << 30);
    done += writeSync(fd, chunk, done, len);
  }
}

/** writeFileAtomic for synchronous writers, in chunks (tensors over 2 GiB); creates the folder. */
export function writeFileAtomicSync(target: string, chunks: Iterable<Uint8Array>): void {
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempName(target);
  const fd = openSync(tmp, 'w');
  try {
    try {
      for (const c of chunks) writeAll(fd, c);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw noSpace(err, target);
  }
  fsyncDirSync(path.dirname(target));
}

/** Copy a file's bytes unchanged and fsync the copy (the caller renames or fsyncs the folder). */
export async function copyFileDurable(from: string, to: string): Promise<void> {
  await fsp.copyFile(from, to).catch((err: unknown) => {
    throw noSpace(err, to);
  });
  const fh = await fsp.open(to, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write bytes to a new file and fsync it (for staging folders that are renamed into place afterwards). */
export async function writeFileDurable(target: string, data: string | Uint8Array): Promise<void> {
  const fh = await fsp.open(target, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Removes the temp files and folders (`.name.tmp-PID-hex`) that processes killed mid-write left under `root`
 * (a killed run's checkpoint, an export cut short): those of a live process are its work in progress.
 * Returns what was removed. Folders are searched `maxDepth` deep; a temp folder goes whole.
 */
export async function sweepDeadTemps(root: string, maxDepth = 6): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(dir, e.name);
      const pid = tempOwnerPid(e.name);
      if (isTempName(e.name) && pid !== undefined && !isProcessAlive(pid)) {
        await fsp.rm(p, { recursive: true, force: true });
        removed.push(p);
      } else if (e.isDirectory() && !e.isSymbolicLink() && depth < maxDepth) {
        await walk(p, depth + 1);
      }
    }
  };
  await walk(root, 1);
  return removed;
}
