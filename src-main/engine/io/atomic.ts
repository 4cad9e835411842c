import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { GraftError } from '../errors.js';

/**
 * A full disk (or quota) while writing `target`, in words that name the folder that needs room; the write
 * was atomic, so nothing was replaced. Other errors pass through unchanged.
 */
export function noSpace(err: unknown, target: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return err;
  const why = code === 'ENOSPC' ? 'no space left on the disk' : 'the disk quota is used up';
  return new GraftError('IO', `${dirname(target)}: ${why} while writing ${basename(target)}; nothing was replaced. Free some space there and try again`, { file: target, cause: err });
}

/** A temp name in the same directory, so the final rename stays on one filesystem (and so is atomic). */
export function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

function writeAll(fd: number, chunk: Uint8Array): void {
  let done = 0;
  while (done < chunk.byteLength) {
    // writeSync takes at most 2 GiB per call
    const len = Math.min(chunk.byteLength - done, 1 << 30);
    done += writeSync(fd, chunk, done, len);
  }
}

/** Best effort: make the rename itself durable. Some platforms (Windows) cannot fsync a directory. */
export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* not supported here */
  }
}

/**
 * Write chunks to `path` atomically: temp file in the same directory, fsync, rename over the target.
 * A crash leaves either the old file or the new one, never a half-written file.
 */
export function writeFileAtomicSync(path: string, chunks: Iterable<Uint8Array>): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  const fd = openSync(tmp, 'w');
  try {
    try {
      for (const c of chunks) writeAll(fd, c);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw noSpace(err, path);
  }
  fsyncDir(dirname(path));
}
