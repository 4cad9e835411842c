/**
 * The graph cache: generated graphs saved once as an ONNX model and its external weight files (named by content
 * or by origin), in a private folder of the user's cache; a graph made by a keyed build is found again by its key
 * (the code's stamp, the model files' stamp, every option) so a later start skips building and writing it.
 * Sessions load graphs from here by path, which is what lets ORT resolve their external data (session.ts).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraftError } from '../errors.js';
import type { DType, Graph } from '../graph/ir.js';
import { type ExternalFile, serializeModel } from '../graph/onnx-writer.js';
import { isProcessAlive, isTempName, tempOwnerPid, writeFileAtomic } from '../io/atomic.js';
import type { EarlyWrites } from './early-writes.js';
import type { Stage } from './stage.js';

/** Where session creation spends its time (for start-up measurements): one entry per session created. */
export interface CreateTiming {
  graph: string;
  nodes: number;
  /** Building the graph (reading the weights, encoding, laying them out), when the session built it. */
  buildMs?: number;
  serializeMs: number;
  writeMs: number;
  ortCreateMs: number;
  /** Found by key in the graph cache: nothing was built or written. */
  cached?: boolean;
}

let pruned = false;

/** The user's own cache folder (XDG on Linux, Caches on macOS, LOCALAPPDATA on Windows). */
function userCacheHome(): string {
  if (process.platform === 'win32') return process.env.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData', 'Local');
  if (process.platform === 'darwin') return path.join(os.homedir(), 'Library', 'Caches');
  return process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
}

/** Folders found private, in this process (graphCacheDir is called for every graph). */
const privateDirs = new Set<string>();

/**
 * Cached weights are loaded as the model: the folder must be the user's alone. A predictable folder under
 * the shared temp folder could be created first by another local user, who could then swap the weights.
 */
function checkPrivate(dir: string): void {
  if (privateDirs.has(dir) || process.platform === 'win32' || typeof process.getuid !== 'function') return;
  const st = statSync(dir);
  if (st.uid !== process.getuid() || (st.mode & 0o022) !== 0) {
    throw new GraftError('IO', `${dir}: the graph cache folder must belong to you and be writable by no one else (owner uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}); remove it or set GRAFT_GRAPH_CACHE`, { file: dir });
  }
  privateDirs.add(dir);
}

/** Where graphs and their weight files live. Files unused for a week are removed on first use per process. */
export function graphCacheDir(): string {
  const dir = process.env.GRAFT_GRAPH_CACHE ?? path.join(userCacheHome(), 'graft', 'graph-cache');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkPrivate(dir);
  if (!pruned) {
    pruned = true;
    const cutoff = Date.now() - 7 * 24 * 3600 * 1000;
    for (const f of readdirSync(dir)) {
      const p = path.join(dir, f);
      try {
        // a stage or temp file whose writer died (stage.ts), or any file unused for a week
        const owner = tempOwnerPid(f);
        const abandoned = isTempName(f) && owner !== undefined && !isProcessAlive(owner);
        if (abandoned || statSync(p).mtimeMs < cutoff) rmSync(p, { recursive: true, force: true });
      } catch {
        // another process removed or is writing it: fine either way
      }
    }
  }
  return dir;
}

/** Files of the cache found to hold exactly the bytes wanted, in this process: each is read back once. */
const verified = new Set<string>();

/** Whether `file` holds exactly `bytes` (compared in 16 MiB pieces, so a big weight file is never read whole). */
function sameBytes(file: string, bytes: Uint8Array): boolean {
  if (statSync(file).size !== bytes.byteLength) return false;
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(bytes.byteLength, 16 << 20));
    for (let pos = 0; pos < bytes.byteLength; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, bytes.byteLength - pos), pos);
      if (n === 0 || Buffer.compare(buf.subarray(0, n), bytes.subarray(pos, pos + n)) !== 0) return false;
      pos += n;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes once; a file already there is touched instead, which keeps it from being pruned. A file of the
 * right size is trusted only once its content is checked (a torn or altered file is rewritten).
 */
export async function ensureCachedFile(file: string, bytes: Uint8Array): Promise<void> {
  if (holdsBytes(file, bytes)) return;
  await writeFileAtomic(file, bytes);
  verified.add(file);
}

/** Whether the cache's `file` holds exactly `bytes` (read back once per process); touched when it does. */
function holdsBytes(file: string, bytes: Uint8Array): boolean {
  if (!(existsSync(file) && (verified.has(file) || sameBytes(file, bytes)))) return false;
  verified.add(file);
  const now = new Date();
  utimesSync(file, now, now);
  return true;
}

/**
 * A weight file named by its origin (the model files' stamp, the tensor, the transform, the code) holds
 * that weight whenever it is there at its size: files are renamed into place whole, and any change to a
 * model file or the engine code changes the name. So it is trusted as a graph found by key is, without
 * reading gigabytes back; a file named by content is compared byte for byte (ensureCachedFile).
 */
function ensureOriginFile(file: string, byteLength: number): boolean {
  try {
    if (statSync(file).size !== byteLength) return false;
  } catch {
    return false;
  }
  verified.add(file);
  const now = new Date();
  utimesSync(file, now, now);
  return true;
}

/** Saves the graph into the cache and returns the model path. Each weight is written once, whatever graph uses it. */
export async function saveGraph(g: Graph, timing?: Partial<CreateTiming>): Promise<string> {
  return (await saveGraphFiles(g, timing)).model;
}

/**
 * A graph with every initializer below the external-file threshold (transfer.ts's Identity sessions, the device
 * top-k, small helpers), serialized whole, for a session made from memory: nothing to cache, and no file whose
 * durable write would wait. Call T of session 15: the first 1.5B training step's 42-node upload session took 1.34 s
 * to write, its fsync queued behind gigabytes of the step's weight files being made durable. Null for any other graph.
 */
export function inlineGraph(g: Graph, timing: CreateTiming): InlineGraphRef | null {
  for (const t of g.initializers.values()) if (t.data.byteLength >= g.externalThreshold) return null;
  const ser = serialized(g, timing);
  return { ...refOf(g, '', ser.external), model: ser.model };
}

/** Saves the graph and says what a session over it needs (also what a cache key's file records). */
export async function saveGraphRef(g: Graph, timing: CreateTiming): Promise<GraphRef> {
  const saved = await saveGraphFiles(g, timing);
  return refOf(g, saved.model, saved.external);
}

function refOf(g: Graph, model: string, external: readonly ExternalFile[]): GraphRef {
  const weights = external.map((f) => ({ file: f.name, ...f.tensor }));
  return { model, weights, name: g.name, nodes: g.nodes.length, inputs: g.inputs.map((v) => v.name), outputs: g.outputs.map((v) => v.name), keepConstantsPacked: g.keepConstantsPacked };
}

export function newTiming(g: Graph): CreateTiming {
  return { graph: g.name, nodes: g.nodes.length, serializeMs: 0, writeMs: 0, ortCreateMs: 0 };
}

function modelFileName(model: Uint8Array): string {
  return `m-${createHash('sha256').update(model).digest('hex').slice(0, 24)}.onnx`;
}

/** The graph serialized with the cache's salt (origin-named weights), its time in `timing`. */
function serialized(g: Graph, timing?: Partial<CreateTiming>): ReturnType<typeof serializeModel> {
  const t = performance.now();
  const ser = serializeModel(g, { salt: codeStamp() });
  if (timing) timing.serializeMs = performance.now() - t;
  return ser;
}

async function saveGraphFiles(g: Graph, timing?: Partial<CreateTiming>): Promise<{ model: string; external: ExternalFile[] }> {
  const dir = graphCacheDir();
  const ser = serialized(g, timing);
  const t = performance.now();
  for (const f of ser.external) {
    const file = path.join(dir, f.name);
    if (!(f.byOrigin && ensureOriginFile(file, f.bytes.byteLength))) await ensureCachedFile(file, f.bytes);
  }
  const modelPath = path.join(dir, modelFileName(ser.model));
  await ensureCachedFile(modelPath, ser.model);
  if (timing) timing.writeMs = performance.now() - t;
  return { model: modelPath, external: ser.external };
}

/**
 * The graph's files gathered in `stage` (stage.ts): weights the build wrote early, files the cache already
 * holds (linked in), the rest written now without waiting for the disk. `staged` is what a session can be
 * created from at once; `saved` is the same graph in the cache once the stage is committed.
 */
export async function stageGraphRef(g: Graph, timing: CreateTiming, stage: Stage, early: EarlyWrites): Promise<{ staged: GraphRef; saved: GraphRef }> {
  const dir = stage.cacheDir;
  const ser = serialized(g, timing);
  const t = performance.now();
  const placed = async (name: string, bytes: Uint8Array, byOrigin: boolean) => {
    if (await early.finish(name)) return;
    const file = path.join(dir, name);
    const inCache = byOrigin ? ensureOriginFile(file, bytes.byteLength) : holdsBytes(file, bytes);
    if (!(inCache && (await stage.linkIn(file, name)))) await stage.write(name, bytes);
  };
  const model = modelFileName(ser.model);
  try {
    await Promise.all([...ser.external.map((f) => placed(f.name, f.bytes, f.byOrigin)), placed(model, ser.model, false)]);
  } finally {
    await early.settle();
  }
  timing.writeMs = performance.now() - t;
  return { staged: refOf(g, stage.path(model), ser.external), saved: refOf(g, path.join(dir, model), ser.external) };
}

/** What a cached graph's key file records: enough to create its session without building the graph. */
export interface GraphRef {
  model: string;
  name: string;
  nodes: number;
  /** Absent in refs saved before it was recorded (such a ref serves onnxruntime-node sessions, which read the model's own). */
  inputs?: string[];
  /**
   * The model's external weight files (beside it), each with its initializer's name, type and shape: what a session
   * given its weights by the caller (shared-weights.ts) binds.
   */
  weights: { file: string; name: string; dtype: DType; shape: readonly number[] }[];
  outputs: string[];
  keepConstantsPacked: boolean;
}

/** A graph held as its bytes rather than saved files (inlineGraph). */
export type InlineGraphRef = Omit<GraphRef, 'model'> & { model: Uint8Array };

let codeStampValue: string | undefined;

/**
 * The engine code's identity, part of every cache key: a graph found by key must come from the same
 * builders. From source (tests, tsx) the engine's .ts files' sizes and times; from a bundle, the bundle's.
 */
export function codeStamp(): string {
  if (codeStampValue !== undefined) return codeStampValue;
  let here: string;
  try {
    here = fileURLToPath(import.meta.url);
  } catch {
    // a CommonJS bundle has no import.meta: the running script is the bundle
    here = process.argv[1] ?? '';
  }
  const engine = path.resolve(path.dirname(here), '..');
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.ts')) files.push(path.join(d, e.name));
    }
  };
  try {
    if (path.basename(engine) === 'engine') walk(engine);
  } catch {
    files.length = 0;
  }
  if (files.length === 0 && here) files.push(here);
  const h = createHash('sha256');
  for (const f of files.sort()) {
    try {
      const st = statSync(f);
      h.update(`${f}:${st.size}:${st.mtimeMs};`);
    } catch {
      h.update(`${f}:?;`);
    }
  }
  return (codeStampValue = h.digest('hex').slice(0, 16));
}

export function refPath(key: string): string {
  return path.join(graphCacheDir(), `k-${createHash('sha256').update(`${codeStamp()}|${key}`).digest('hex').slice(0, 32)}.json`);
}

/** The saved graph for a key, when it and every weight file it names are still in the cache (all touched, so kept). */
export function findRef(key: string): GraphRef | null {
  try {
    const ref = JSON.parse(readFileSync(refPath(key), 'utf8')) as GraphRef;
    const dir = graphCacheDir();
    const files = [ref.model, ...ref.weights.map((w) => path.join(dir, w.file)), refPath(key)];
    if (!files.every((f) => existsSync(f))) return null;
    const now = new Date();
    for (const f of files) utimesSync(f, now, now);
    return ref;
  } catch {
    return null;
  }
}
