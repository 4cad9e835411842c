/**
 * Weight files of the graph cache written while their graph is still being built. A weight named by
 * its origin (graph/weight-origin.ts) has its file name as soon as it exists, so its write is handed to
 * libuv's thread pool right then (opened O_DSYNC: each write returns once on disk, like the fsync of
 * writeFileAtomic) and the disk works while the build goes on reading and encoding the next weights.
 * Each file is written under a temp name and renamed into place, so a reader never sees a torn file.
 */
import { closeSync, constants, existsSync, fsync, openSync, renameSync, rmSync, write } from 'node:fs';
import path from 'node:path';
import type { DType, TypedData } from '../graph/ir.js';
import { originFileName } from '../graph/onnx-writer.js';
import { noSpace, tempName } from '../io/atomic.js';

/** Writes in flight (or done and not yet claimed), by target path: two builds never write one file twice. */
const inflight = new Map<string, Promise<void>>();

/** `bytes` written at `pos` from the thread pool (in pieces under 1 GiB: write(2) takes at most ~2 GiB a call). */
function writeAt(fd: number, bytes: Uint8Array, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const next = (done: number) => {
      if (done === bytes.byteLength) return resolve();
      write(fd, bytes, done, Math.min(bytes.byteLength - done, 1 << 30), pos + done, (err, n) => (err ? reject(err) : next(done + n)));
    };
    next(0);
  });
}

function startWrite(target: string, bytes: Uint8Array): Promise<void> {
  const tmp = tempName(target);
  // O_DSYNC where the platform has it (not Windows): no separate fsync afterwards.
  const dsync = constants.O_DSYNC ?? 0;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | dsync, 0o600);
  const done = writeAt(fd, bytes, 0)
    .then(() => (dsync ? undefined : new Promise<void>((res, rej) => fsync(fd, (e) => (e ? rej(e) : res())))))
    .finally(() => closeSync(fd))
    .then(
      () => renameSync(tmp, target),
      (err: unknown) => {
        rmSync(tmp, { force: true });
        throw noSpace(err, target);
      },
    );
  done.catch(() => {}); // reported to whoever awaits the file (finish)
  return done;
}

/** The early writes of one graph's build: collects them, then finishes or discards them at save time. */
export class EarlyWrites {
  private readonly started = new Set<string>();

  constructor(
    private readonly dir: string,
    /** The graph cache's code stamp: the salt of origin-named files. */
    private readonly salt: string,
    /** Smaller weights stay inline in the model file (Graph.externalThreshold's default). */
    private readonly minBytes = 1024,
  ) {}

  /** weight-origin's listener: starts the weight's file unless it is in the cache or being written. */
  readonly seen = (data: TypedData, dtype: DType, origin: string): void => {
    if (data.byteLength < this.minBytes) return;
    const name = originFileName(this.salt, dtype, origin);
    const target = path.join(this.dir, name);
    if (this.started.has(name)) return;
    if (!inflight.has(target)) {
      if (existsSync(target)) return;
      try {
        inflight.set(target, startWrite(target, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
      } catch {
        return; // not even opened (no folder, no file handles left): saving the graph writes it the usual way and reports why
      }
    }
    this.started.add(name);
  };

  /** Waits for the file `name` if this build started (or joined) its write: true once it is in place. */
  async finish(name: string): Promise<boolean> {
    if (!this.started.has(name)) return false;
    this.started.delete(name);
    const target = path.join(this.dir, name);
    try {
      await inflight.get(target);
    } finally {
      inflight.delete(target);
    }
    return true;
  }

  /**
   * Waits for the writes the graph did not claim (a failed build, a weight pruned from the graph). Their
   * files stay: whole and correctly named, another graph may use them, and the cache prunes unused files.
   */
  async settle(): Promise<void> {
    for (const name of [...this.started]) {
      const target = path.join(this.dir, name);
      await inflight.get(target)?.catch(() => {});
      inflight.delete(target);
    }
    this.started.clear();
  }
}
