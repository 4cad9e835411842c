/**
 * Sessions over generated graphs. A graph is saved once to the graph cache (model + shared external
 * weights file, named by content hash) and loaded by path, which is what lets ORT resolve external
 * data. Outputs named in `keepOnDevice` stay in GPU buffers on WebGPU and come back as DeviceTensors.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { GraftError } from '../errors.js';
import type { Graph } from '../graph/ir.js';
import { serializeModel } from '../graph/onnx-writer.js';
import { onWeight } from '../graph/weight-origin.js';
import { fsyncDir, writeFileAtomic } from '../io/atomic.js';
import { EarlyWrites } from './early-writes.js';
import type { DeviceInfo } from './device.js';
import { DeviceTensor, type Feed, fromOrtCpu, type HostTensor, toOrt } from './tensors.js';

/** Threads of each CPU session created from now on (the app's Settings; GRAFT_CPU_THREADS); null: ORT's default. */
let cpuThreads: number | null = Number(process.env.GRAFT_CPU_THREADS) > 0 ? Math.floor(Number(process.env.GRAFT_CPU_THREADS)) : null;
export function setCpuThreads(n: number | null): void {
  cpuThreads = n !== null && Number.isInteger(n) && n > 0 ? n : null;
}
export function cpuThreadCount(): number | null {
  return cpuThreads;
}

export interface SessionOpts {
  device: DeviceInfo;
  /** Output names to keep on the device (gpu-buffer on WebGPU), or a test of the name; the rest are copied to the host. */
  keepOnDevice?: readonly string[] | ((name: string) => boolean);
  /** Disable ORT's graph optimizations (constant folding would expand packed 4-bit weights). */
  noOptimize?: boolean;
  /** Let ops without a WebGPU kernel fall back to the CPU EP. Off by default: a fallback is a bug. */
  allowCpuFallback?: boolean;
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
        if (statSync(p).mtimeMs < cutoff) rmSync(p, { force: true });
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
  if (existsSync(file) && (verified.has(file) || sameBytes(file, bytes))) {
    verified.add(file);
    const now = new Date();
    utimesSync(file, now, now);
    return;
  }
  await writeFileAtomic(file, bytes);
  verified.add(file);
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

/** Saves the graph and says what a session over it needs (also what a cache key's file records). */
async function saveGraphRef(g: Graph, timing: CreateTiming, early?: EarlyWrites): Promise<GraphRef> {
  const saved = await saveGraphFiles(g, timing, early);
  return { ...saved, name: g.name, nodes: g.nodes.length, outputs: g.outputs.map((v) => v.name), keepConstantsPacked: g.keepConstantsPacked };
}

function newTiming(g: Graph): CreateTiming {
  return { graph: g.name, nodes: g.nodes.length, serializeMs: 0, writeMs: 0, ortCreateMs: 0 };
}

async function saveGraphFiles(g: Graph, timing?: Partial<CreateTiming>, early?: EarlyWrites): Promise<{ model: string; external: string[] }> {
  const dir = graphCacheDir();
  let t = performance.now();
  const ser = serializeModel(g, { salt: codeStamp() });
  if (timing) timing.serializeMs = performance.now() - t;
  t = performance.now();
  let renamed = false;
  try {
    for (const f of ser.external) {
      const file = path.join(dir, f.name);
      if (early && (await early.finish(f.name))) renamed = true;
      else if (!(f.byOrigin && ensureOriginFile(file, f.bytes.byteLength))) await ensureCachedFile(file, f.bytes);
    }
  } finally {
    await early?.settle();
  }
  if (renamed) await fsyncDir(dir);
  const modelPath = path.join(dir, `m-${createHash('sha256').update(ser.model).digest('hex').slice(0, 24)}.onnx`);
  await ensureCachedFile(modelPath, ser.model);
  if (timing) timing.writeMs = performance.now() - t;
  return { model: modelPath, external: ser.external.map((f) => f.name) };
}

/** What a cached graph's key file records: enough to create its session without building the graph. */
interface GraphRef {
  model: string;
  external: string[];
  name: string;
  nodes: number;
  outputs: string[];
  keepConstantsPacked: boolean;
}

let codeStampValue: string | undefined;

/**
 * The engine code's identity, part of every cache key: a graph found by key must come from the same
 * builders. From source (tests, tsx) the engine's .ts files' sizes and times; from a bundle, the bundle's.
 */
function codeStamp(): string {
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

function refPath(key: string): string {
  return path.join(graphCacheDir(), `k-${createHash('sha256').update(`${codeStamp()}|${key}`).digest('hex').slice(0, 32)}.json`);
}

/** The saved graph for a key, when it and every weight file it names are still in the cache (all touched, so kept). */
function findRef(key: string): GraphRef | null {
  try {
    const ref = JSON.parse(readFileSync(refPath(key), 'utf8')) as GraphRef;
    const dir = graphCacheDir();
    const files = [ref.model, ...ref.external.map((f) => path.join(dir, f)), refPath(key)];
    if (!files.every((f) => existsSync(f))) return null;
    const now = new Date();
    for (const f of files) utimesSync(f, now, now);
    return ref;
  } catch {
    return null;
  }
}

/**
 * How the WebGPU EP reuses its storage buffers between runs. Its default ('bucket') keeps at most 2–6
 * buffers of each size above 40 MB and destroys the rest at the end of every run, so a training step,
 * which holds dozens of [B·T, intermediate] activations for its backward, allocated them all afresh
 * each step. 'simple' keeps every released buffer for reuse by size. Measured on the H200 (Qwen2.5
 * shapes, fp16 step): 0.5B 1×512 2,041 → 2,836 tok/s, 8×512 2,285 → 4,835, 1.5B 1×512 949 → 1,391
 * (bench/results/gpu-vs-peers-2026-12-02-training-s6.json). The cost: buffers are kept per distinct
 * size until the EP's context goes (its last session released), so every graph with a variable axis
 * must take few distinct sizes (kv-decoder.ts rounds prefill lengths to powers of two).
 */
const STORAGE_BUFFER_CACHE = { storageBufferCacheMode: 'simple' };
/** ORT's graph optimization level; GRAFT_ORT_OPT_LEVEL (basic | extended | all) sets it for measurements. */
const OPTIMIZATION_LEVEL = (['basic', 'extended', 'all'] as const).find((l) => l === process.env.GRAFT_ORT_OPT_LEVEL) ?? 'all';

/**
 * WebGPU EP options. Dawn's per-command validation and shader robustness (bounds checks on every
 * buffer access) cost CPU time per dispatch and GPU time per access: a decode step is hundreds of
 * dispatches, so both are off unless GRAFT_WEBGPU_VALIDATE=1 (debugging a WebGPU error). The EP's
 * context is created once per process, so the first session's options hold for all.
 * GRAFT_WEBGPU_OPTS (JSON) overrides them for measurements.
 */
const WEBGPU_OPTS: Record<string, unknown> = {
  ...(process.env.GRAFT_WEBGPU_VALIDATE === '1' ? {} : { validationMode: 'disabled', enableRobustness: false }),
  ...STORAGE_BUFFER_CACHE,
  ...JSON.parse(process.env.GRAFT_WEBGPU_OPTS ?? '{}'),
};

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
export const createTimings: CreateTiming[] = [];

// GRAFT_PROFILE=1: time spent inside ORT per graph, printed at exit (to tell engine time from host time).
// Read per run, so a benchmark can switch it on after the engine is loaded.
const profiling = () => process.env.GRAFT_PROFILE === '1';
const stats = new Map<string, { runs: number; ms: number }>();
function record(name: string, ms: number): void {
  const s = stats.get(name) ?? { runs: 0, ms: 0 };
  s.runs++;
  s.ms += ms;
  if (!stats.has(name)) {
    if (stats.size === 0) process.once('exit', () => stats.forEach((v, k) => console.error(`[profile] ${k}: ${v.runs} runs, ${(v.ms / v.runs).toFixed(2)} ms/run`)));
    stats.set(name, s);
  }
}

export class GraphSession {
  private constructor(
    private readonly name: string,
    private readonly session: ort.InferenceSession,
    readonly device: DeviceInfo,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  static async create(g: Graph, opts: SessionOpts): Promise<GraphSession> {
    const timing = newTiming(g);
    return GraphSession.open(await saveGraphRef(g, timing), opts, timing);
  }

  /**
   * A session for the graph that `build` makes, found by `key` when an earlier process saved it: the
   * key must name everything the graph depends on (the model files' stamp, every option). A second
   * start then skips building, serializing and hashing the weights: ORT loads the saved files.
   */
  static async createCached(key: string, build: () => Graph, opts: SessionOpts): Promise<GraphSession> {
    const found = findRef(key);
    if (found) return GraphSession.open(found, opts, { graph: found.name, nodes: found.nodes, serializeMs: 0, writeMs: 0, ortCreateMs: 0, cached: true });
    const t0 = performance.now();
    // Weights named by origin start to be written while the build goes on (early-writes.ts).
    const early = new EarlyWrites(graphCacheDir(), codeStamp());
    let g: Graph;
    try {
      g = onWeight(early.seen, build);
    } catch (err) {
      await early.settle();
      throw err;
    }
    const timing = { ...newTiming(g), buildMs: performance.now() - t0 };
    const ref = await saveGraphRef(g, timing, early);
    await writeFileAtomic(refPath(key), JSON.stringify(ref));
    return GraphSession.open(ref, opts, timing);
  }

  private static async open(ref: GraphRef, opts: SessionOpts, timing: CreateTiming): Promise<GraphSession> {
    // Only the WebGPU EP hands outputs back as device buffers in onnxruntime-node; with CUDA or DirectML
    // the state makes a round trip through the host between runs.
    const gpu = opts.device.kind === 'webgpu';
    const noOptimize = opts.noOptimize || ref.keepConstantsPacked;
    const so: ort.InferenceSession.SessionOptions = {
      executionProviders: gpu ? [{ name: 'webgpu', ...WEBGPU_OPTS }] : [opts.device.kind === 'cpu' ? 'cpu' : opts.device.ep],
      graphOptimizationLevel: noOptimize ? 'basic' : OPTIMIZATION_LEVEL,
      logSeverityLevel: 3,
    };
    if (opts.device.kind === 'cpu' && cpuThreads !== null) so.intraOpNumThreads = cpuThreads;
    if (gpu) {
      const k = opts.keepOnDevice ?? [];
      const keep = typeof k === 'function' ? k : (n: string) => k.includes(n);
      so.preferredOutputLocation = Object.fromEntries(ref.outputs.map((o) => [o, keep(o) ? 'gpu-buffer' : 'cpu']));
      if (!opts.allowCpuFallback) so.extra = { session: { disable_cpu_ep_fallback: '1' } };
    }
    if (noOptimize) so.extra = { ...(so.extra ?? {}), optimization: { disable_specified_optimizers: 'ConstantFolding' } };
    // GRAFT_ORT_PROFILE=PREFIX: ORT's per-node profile (JSON at PREFIX_<date>.json), for measurements.
    if (process.env.GRAFT_ORT_PROFILE) Object.assign(so, { enableProfiling: true, profileFilePrefix: process.env.GRAFT_ORT_PROFILE });
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(ref.model, so);
    timing.ortCreateMs = performance.now() - t0;
    createTimings.push(timing);
    if (createTimings.length > 256) createTimings.shift();
    if (process.env.GRAFT_TIMING === '1') console.error(`[timing] ${JSON.stringify(timing)}`);
    return new GraphSession(ref.name, session, opts.device, session.inputNames, session.outputNames);
  }

  /** Runs the graph. Outputs kept on the device are DeviceTensors; the others are host tensors. */
  async run(feeds: Record<string, Feed>): Promise<Record<string, Feed>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.inputNames) {
      const f = feeds[name];
      if (!f) throw new Error(`missing input ${name}`);
      ortFeeds[name] = toOrt(f);
    }
    const profile = profiling();
    const t0 = profile ? performance.now() : 0;
    const out = await this.session.run(ortFeeds);
    if (profile) record(this.name, performance.now() - t0);
    const result: Record<string, Feed> = {};
    for (const [name, t] of Object.entries(out)) result[name] = t.location === 'gpu-buffer' ? new DeviceTensor(t) : fromOrtCpu(t);
    return result;
  }

  async release(): Promise<void> {
    // ORT writes a profile's JSON only when profiling ends, not when the session is released.
    if (process.env.GRAFT_ORT_PROFILE) this.session.endProfiling();
    await this.session.release();
  }
}

export type { Feed, HostTensor };
