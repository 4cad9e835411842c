/**
 * Weight conversion on several threads, for the first start of big models: each thread reads its rows of
 * a tensor straight from the model file and encodes them to fp16 or writes them transposed into a shared
 * output. The graph builders are synchronous, so the calling thread hands out the rows and waits
 * (Atomics.wait) until every thread is done. The threads run the very functions the calling thread would
 * (encodeF16Bits, transposeTiles), from their source text, so a bundle needs no separate worker file.
 * GRAFT_WEIGHT_THREADS sets the count; by default one fewer than the cores, at most 8, none on 2 cores.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { encodeF16Bits } from './half.js';

/** Where a tensor's bytes sit in a file, for a reader that opens the file itself. */
export interface RawLocation {
  file: string;
  offset: number;
  dtype: 'F32' | 'BF16';
}

/**
 * Wᵀ of rows [o0, o1) of an [out, in] matrix (`data` holds those rows from its start) into columns
 * col + o of the [in, total] matrix `t`, tile by tile (a row-by-row transpose writes each value to
 * another cache line of `t`). Self-contained: the weight threads run it from its source text.
 */
export function transposeTiles<T extends Float32Array | Uint16Array>(t: T, total: number, col: number, data: T, o0: number, o1: number, inDim: number): void {
  for (let a = o0; a < o1; a += 32) {
    const b = Math.min(a + 32, o1);
    for (let i0 = 0; i0 < inDim; i0 += 32) {
      const i1 = Math.min(i0 + 32, inDim);
      for (let i = i0; i < i1; i++) {
        const dst = i * total + col;
        for (let o = a; o < b; o++) t[dst + o] = data[(o - o0) * inDim + i];
      }
    }
  }
}

interface Job {
  /**
   * float32 as stored, fp16 as stored, fp16 transposed into columns col… of [in, total], both fp16 forms from one
   * read ('f16+T': as stored into out2, transposed into out), or float32 transposed into columns col… of [in, total].
   */
  kind: 'f32' | 'f16' | 'f16T' | 'f16+T' | 'T';
  loc: RawLocation;
  o0: number;
  o1: number;
  inDim: number;
  out: SharedArrayBuffer;
  out2?: SharedArrayBuffer;
  total: number;
  col: number;
  status: SharedArrayBuffer;
}

// The thread: reads rows o0..o1, a few MB at a time, into its own reused buffers (float32), converts
// them, counts itself done. Its buffers stay small whatever the tensor (an 8B table is 2 GB).
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const encodeF16Bits = (${encodeF16Bits.toString()});
const transposeTiles = (${transposeTiles.toString()});
const CHUNK = 1 << 20;
let f32 = new Float32Array(0);
let u16 = new Uint16Array(0);
let h16 = new Uint16Array(0);
function readRows(fd, j, c0, c1) {
  const n = (c1 - c0) * j.inDim;
  if (f32.length < n) f32 = new Float32Array(n);
  const width = j.loc.dtype === 'F32' ? 4 : 2;
  if (width === 2 && u16.length < n) u16 = new Uint16Array(n);
  const into = width === 4 ? new Uint8Array(f32.buffer, 0, n * 4) : new Uint8Array(u16.buffer, 0, n * 2);
  for (let done = 0; done < into.length; ) {
    const got = readSync(fd, into, done, into.length - done, j.loc.offset + c0 * j.inDim * width + done);
    if (got === 0) throw new Error('truncated');
    done += got;
  }
  if (width === 2) {
    const bits = new Uint32Array(f32.buffer, 0, n);
    for (let i = 0; i < n; i++) bits[i] = u16[i] << 16;
  }
  return f32.subarray(0, n);
}
parentPort.on('message', (j) => {
  const status = new Int32Array(j.status);
  try {
    const fd = openSync(j.loc.file, 'r');
    try {
      const step = Math.max(1, Math.floor(CHUNK / j.inDim));
      for (let c0 = j.o0; c0 < j.o1; c0 += step) {
        const c1 = Math.min(j.o1, c0 + step);
        const rows = readRows(fd, j, c0, c1);
        const n = rows.length;
        if (j.kind === 'f32') new Float32Array(j.out, c0 * j.inDim * 4, n).set(rows);
        else if (j.kind === 'f16') encodeF16Bits(new Int32Array(rows.buffer, 0, n), new Uint16Array(j.out, c0 * j.inDim * 2, n), 0, n);
        else if (j.kind === 'f16T' || j.kind === 'f16+T') {
          if (h16.length < n) h16 = new Uint16Array(n);
          encodeF16Bits(new Int32Array(rows.buffer, 0, n), h16, 0, n);
          transposeTiles(new Uint16Array(j.out), j.total, j.col, h16, c0, c1, j.inDim);
          if (j.out2) new Uint16Array(j.out2, c0 * j.inDim * 2, n).set(h16.subarray(0, n));
        } else transposeTiles(new Float32Array(j.out), j.total, j.col, rows, c0, c1, j.inDim);
      }
    } finally {
      closeSync(fd);
    }
  } catch {
    Atomics.add(status, 1, 1);
  }
  Atomics.add(status, 0, 1);
  Atomics.notify(status, 0);
});
`;

export function weightThreadCount(): number {
  const set = Number(process.env.GRAFT_WEIGHT_THREADS);
  if (process.env.GRAFT_WEIGHT_THREADS && Number.isInteger(set) && set >= 0) return set;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.min(8, Math.max(0, cores - 1));
}

let threads: Worker[] = [];
/** Set once a thread failed to answer in time: everything is converted on the calling thread from then on. */
let broken = false;

function pool(n: number): Worker[] {
  while (threads.length < n) {
    const w = new Worker(THREAD_SOURCE, { eval: true });
    w.unref(); // never keeps the process alive
    w.on('error', () => {
      broken = true;
    });
    threads.push(w);
  }
  return threads.slice(0, n);
}

let idle: ReturnType<typeof setTimeout> | null = null;
/** Threads left idle this long are stopped (a build converts tensor after tensor; then nothing for a long while). */
function stopWhenIdle(): void {
  if (idle) clearTimeout(idle);
  // not while prefetched conversions wait to be taken: their threads may still be at them
  idle = setTimeout(() => (ahead.size > 0 ? stopWhenIdle() : void stopWeightThreads()), 20_000);
  idle.unref();
}

/** Stops the threads (tests; a process that is done with weights). */
export async function stopWeightThreads(): Promise<void> {
  if (idle) clearTimeout(idle);
  idle = null;
  ahead.clear(); // nothing left to answer them
  const ts = threads;
  threads = [];
  await Promise.all(ts.map((t) => t.terminate()));
}

/** Whether the weight threads would take a tensor of `rows` rows: asked before allocating shared memory for them. */
export function weightThreadsFor(rows: number): boolean {
  return !broken && Math.min(weightThreadCount(), rows) >= 2;
}

/** A thread that has not answered in this long is taken for lost (a 1 GB table converts in about a second). */
const PATIENCE_MS = 120_000;

/** Jobs handed to the threads for one tensor: `status` counts those done [0] and those failed [1]. */
interface Posted {
  status: Int32Array;
  jobs: number;
}

/** Hands rows [0, rows) of the tensor at `loc` to the threads, split evenly; null when there are too few threads. */
function post(kind: Job['kind'], loc: RawLocation, rows: number, inDim: number, out: SharedArrayBuffer, total = 0, col = 0, out2?: SharedArrayBuffer): Posted | null {
  if (!weightThreadsFor(rows)) return null;
  const n = Math.min(weightThreadCount(), rows);
  const ws = pool(n);
  stopWhenIdle();
  const status = new Int32Array(new SharedArrayBuffer(8));
  const per = Math.ceil(rows / n);
  let jobs = 0;
  for (let k = 0; k < n && k * per < rows; k++) {
    const job: Job = { kind, loc, o0: k * per, o1: Math.min(rows, (k + 1) * per), inDim, out, out2, total, col, status: status.buffer as SharedArrayBuffer };
    ws[k].postMessage(job);
    jobs++;
  }
  return { status, jobs };
}

/** Waits until every job of `p` is done; false when one failed or a thread did not answer in time. */
function finish(p: Posted): boolean {
  const deadline = Date.now() + PATIENCE_MS;
  for (let d = Atomics.load(p.status, 0); d < p.jobs; d = Atomics.load(p.status, 0)) {
    if (Atomics.wait(p.status, 0, d, Math.max(1, deadline - Date.now())) === 'timed-out' && Atomics.load(p.status, 0) < p.jobs) {
      broken = true;
      return false;
    }
  }
  return Atomics.load(p.status, 1) === 0;
}

/**
 * Rows [0, rows) of the tensor at `loc` converted by the weight threads into `out`; false (nothing
 * promised about `out`) when there are too few threads, or one failed: the caller converts on its own.
 */
function spread(kind: Job['kind'], loc: RawLocation, rows: number, inDim: number, out: SharedArrayBuffer, total = 0, col = 0, out2?: SharedArrayBuffer): boolean {
  const p = post(kind, loc, rows, inDim, out, total, col, out2);
  return p !== null && finish(p);
}

/**
 * Conversions handed to the threads before a build asks for them (prefetchOnThreads), by tensor: the threads
 * read while the calling thread does something else (ORT creating a session), and the build then takes them.
 */
const ahead = new Map<string, Posted & { out: SharedArrayBuffer }>();
const aheadKey = (kind: 'f32' | 'f16', loc: RawLocation, rows: number, inDim: number) => `${kind}|${loc.file}|${loc.offset}|${loc.dtype}|${rows}x${inDim}`;

/**
 * Starts converting the [rows, inDim] tensor at `loc` (float32, or fp16 as stored) on the weight threads without
 * waiting: f32OnThreads / f16OnThreads for the same tensor then wait for it instead of starting again. Its bytes
 * are held until then or dropPrefetched. False when the threads would not take it.
 */
export function prefetchOnThreads(kind: 'f32' | 'f16', loc: RawLocation, rows: number, inDim: number): boolean {
  const key = aheadKey(kind, loc, rows, inDim);
  if (ahead.has(key)) return true;
  const out = new SharedArrayBuffer(rows * inDim * (kind === 'f32' ? 4 : 2));
  const p = post(kind, loc, rows, inDim, out);
  if (p) {
    ahead.set(key, { ...p, out });
    prefetchStats.handed++;
  }
  return p !== null;
}

/** The prefetched conversion of a tensor, waited for and taken (no longer held here); null when none was started or it failed. */
function takeAhead(kind: 'f32' | 'f16', loc: RawLocation, rows: number, inDim: number): SharedArrayBuffer | null {
  const key = aheadKey(kind, loc, rows, inDim);
  const p = ahead.get(key);
  if (!p) return null;
  ahead.delete(key);
  if (!finish(p)) return null;
  prefetchStats.taken++;
  return p.out;
}

/** Prefetched conversions not yet taken (tests: a build takes every one it was prefetched for). */
export const prefetchedPending = (): number => ahead.size;
/** Conversions prefetched and taken in this process (tests: a first training start read ahead). */
export const prefetchStats = { handed: 0, taken: 0 };

/** Forgets conversions prefetched and never asked for (their threads finish them; the bytes go with them). */
export function dropPrefetched(): void {
  ahead.clear();
}

/** The [rows, inDim] tensor at `loc` as float32 (a shared array), read by the weight threads, or null (the caller reads it). */
export function f32OnThreads(loc: RawLocation, rows: number, inDim: number): Float32Array | null {
  const done = takeAhead('f32', loc, rows, inDim);
  if (done) return new Float32Array(done);
  if (!weightThreadsFor(rows)) return null;
  const out = new SharedArrayBuffer(rows * inDim * 4);
  return spread('f32', loc, rows, inDim, out) ? new Float32Array(out) : null;
}

/**
 * The [rows, inDim] tensor at `loc` as fp16 ([inDim, rows] when `transposed`: encoding is per element, so
 * this is the transpose of the encoded tensor), converted by the weight threads, or null (the caller does it).
 */
export function f16OnThreads(loc: RawLocation, rows: number, inDim: number, transposed = false): Uint16Array | null {
  const done = transposed ? null : takeAhead('f16', loc, rows, inDim);
  if (done) return new Uint16Array(done);
  if (!weightThreadsFor(rows)) return null;
  const out = new SharedArrayBuffer(rows * inDim * 2);
  return spread(transposed ? 'f16T' : 'f16', loc, rows, inDim, out, rows) ? new Uint16Array(out) : null;
}

/** Wᵀ of the [out, inDim] tensor at `loc` into columns [col, col + out) of `t` ([inDim, total], shared); false: the caller does it. */
export function transposeOnThreads(loc: RawLocation, t: Float32Array, total: number, col: number, out: number, inDim: number): boolean {
  if (!(t.buffer instanceof SharedArrayBuffer) || t.byteOffset !== 0) return false;
  return spread('T', loc, out, inDim, t.buffer, total, col);
}

/** Wᵀ of the [out, inDim] tensor at `loc` in fp16 into columns [col, col + out) of `t` ([inDim, total], shared); false: the caller does it. */
export function transposeHalfOnThreads(loc: RawLocation, t: Uint16Array, total: number, col: number, out: number, inDim: number): boolean {
  if (!(t.buffer instanceof SharedArrayBuffer) || t.byteOffset !== 0) return false;
  return spread('f16T', loc, out, inDim, t.buffer, total, col);
}

/**
 * The [rows, inDim] tensor at `loc` as fp16 both as stored and transposed ([inDim, rows]), from one read of the
 * file (the fp16 training step keeps both: models/half-weights.ts), or null (the caller converts it).
 */
export function f16BothOnThreads(loc: RawLocation, rows: number, inDim: number): { asStored: Uint16Array; transposed: Uint16Array } | null {
  if (!weightThreadsFor(rows)) return null;
  const t = new SharedArrayBuffer(rows * inDim * 2);
  const a = new SharedArrayBuffer(rows * inDim * 2);
  return spread('f16+T', loc, rows, inDim, t, rows, 0, a) ? { asStored: new Uint16Array(a), transposed: new Uint16Array(t) } : null;
}
