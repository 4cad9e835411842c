/**
 * Cross-process mutual exclusion for a library folder, so the app and the CLI (or two app windows) can work on
 * one library at once. proper-lockfile takes the lock with an atomic mkdir and keeps its mtime fresh while held;
 * a holder that died (SIGKILL, power cut) stops refreshing it and the lock goes stale after `staleMs`.
 * Held only for the short metadata step of an operation (name check + rename), never while copying big files.
 */
import lockfile from 'proper-lockfile';
import { GraftError } from '../engine/errors.js';

export interface LockOptions {
  /** A lock not refreshed for this long is taken as abandoned by a dead process. */
  staleMs?: number;
  /** How long to keep trying before giving up. */
  waitMs?: number;
}

const DEFAULT_STALE_MS = 5_000;

export async function withDirLock<T>(dir: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const stale = opts.staleMs ?? DEFAULT_STALE_MS;
  const waitMs = opts.waitMs ?? stale * 3;
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, {
      stale,
      realpath: false,
      lockfilePath: `${dir}/.lock`,
      retries: { retries: Math.max(1, Math.ceil(waitMs / 100)), minTimeout: 50, maxTimeout: 200, factor: 1.2 },
      onCompromised: (err) => {
        compromised = err;
      },
    });
  } catch (err) {
    throw new GraftError('IO', `the library at ${dir} is busy (locked by another Graft process): ${(err as Error).message}`, {
      file: dir,
      cause: err,
    });
  }
  try {
    const out = await fn();
    if (compromised) throw new GraftError('IO', `lost the lock on ${dir} while working: ${compromised.message}`, { file: dir });
    return out;
  } finally {
    await release().catch(() => undefined);
  }
}
