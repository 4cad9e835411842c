/**
 * Sessions over generated graphs. A graph is saved once to the graph cache (graph-cache.ts: model + external
 * weight files) and loaded by path, which is what lets ORT resolve external data. Outputs named in
 * `keepOnDevice` stay in GPU buffers on WebGPU and come back as DeviceTensors.
 */
import ort from 'onnxruntime-node';
import type { Graph } from '../graph/ir.js';
import { onWeight } from '../graph/weight-origin.js';
import { writeFileAtomic } from '../io/atomic.js';
import { EarlyWrites } from './early-writes.js';
import { codeStamp, type CreateTiming, findRef, graphCacheDir, type GraphRef, inlineGraph, type InlineGraphRef, newTiming, refPath, saveGraphRef, stageGraphRef } from './graph-cache.js';
import { Stage } from './stage.js';
import type { DeviceInfo } from './device.js';
import { DeviceTensor, type Feed, fromOrtCpu, type HostTensor, toOrt } from './tensors.js';
import { ortLogLevel } from './ort-capi.js';
import { holdWebGpuContext, WEBGPU_OPTIONS } from './webgpu-context.js';

/** Threads of each CPU session created from now on (the app's Settings; GRAFT_CPU_THREADS); null: ORT's default. */
let cpuThreads: number | null = Number(process.env.GRAFT_CPU_THREADS) > 0 ? Math.floor(Number(process.env.GRAFT_CPU_THREADS)) : null;
export function setCpuThreads(n: number | null): void {
  cpuThreads = n !== null && Number.isInteger(n) && n > 0 ? n : null;
}
export function cpuThreadCount(): number | null {
  return cpuThreads;
}

/**
 * A keyed graph's session is created from its stage while the stage's files are made durable and moved into
 * the cache (stage.ts). Not on Windows, where a file ORT holds open cannot be renamed: there the files are
 * committed first. GRAFT_DEFERRED_SAVE=0 commits first everywhere.
 */
const DEFERRED_SAVE = process.platform !== 'win32' && process.env.GRAFT_DEFERRED_SAVE !== '0';

/** Keyed graphs being committed to the cache after their session was made, by key. */
const savesInFlight = new Map<string, Promise<void>>();
const failedSaves: unknown[] = [];

function trackSave(key: string, save: Promise<void>): void {
  const tracked = save.catch((err: unknown) => {
    failedSaves.push(err); // the session works; only the cache misses this graph, and the next start builds it again
  }).finally(() => savesInFlight.delete(key));
  savesInFlight.set(key, tracked);
}

/**
 * Waits for every keyed graph of this process to be in the cache (its files durable, its key written);
 * throws the first failure since the last call (a full disk, named). For tests, and before a process ends.
 */
export async function graphCacheSaved(): Promise<void> {
  await Promise.all([...savesInFlight.values()]);
  const err = failedSaves.shift();
  failedSaves.length = 0;
  if (err !== undefined) throw err;
}

export interface SessionOpts {
  device: DeviceInfo;
  /** Output names to keep on the device (gpu-buffer on WebGPU), or a test of the name; the rest are copied to the host. */
  keepOnDevice?: readonly string[] | ((name: string) => boolean);
  /** Disable ORT's graph optimizations (constant folding would expand packed 4-bit weights). */
  noOptimize?: boolean;
  /** Let ops without a WebGPU kernel fall back to the CPU EP. Off by default: a fallback is a bug. */
  allowCpuFallback?: boolean;
  /**
   * Outputs are written where `run`'s `into` says (a tensor of the right shape, on the host or the
   * device), the others come back to the host; `keepOnDevice` is then ignored. onnxruntime-node (1.30, 1.31)
   * honours such pre-allocated outputs only when no output has a preferred location (with one set, it
   * binds every output afresh and drops them), so a session is one kind or the other. This is what
   * lets a decode step update its KV caches in place and leave its ids on the device for the next step.
   */
  bindOutputs?: boolean;
}

/** ORT's graph optimization level; GRAFT_ORT_OPT_LEVEL (basic | extended | all) sets it for measurements. */
const OPTIMIZATION_LEVEL = (['basic', 'extended', 'all'] as const).find((l) => l === process.env.GRAFT_ORT_OPT_LEVEL) ?? 'all';

// EP options beyond onnxruntime-node's list cannot be set as session config entries (`extra`): the binding
// appends the EP, which reads its options then, before it applies `extra`. ORT's verbose log shows it
// ("WebGPU EP graph capture enable: 0" with the entry set). Graph capture and the EP's submit window go
// through ORT's C API instead (captured-graph.ts, webgpu-context.ts).

export const createTimings: CreateTiming[] = [];

/** Notes a session's creation (this module's, or one another runtime opened over saved files: a captured graph). */
export function recordTiming(timing: CreateTiming): void {
  createTimings.push(timing);
  if (createTimings.length > 256) createTimings.shift();
  if (process.env.GRAFT_TIMING === '1') console.error(`[timing] ${JSON.stringify(timing)}`);
}

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

/** A graph found in the cache: nothing built, serialized or written. */
const foundTiming = (found: GraphRef): CreateTiming => ({ graph: found.name, nodes: found.nodes, serializeMs: 0, writeMs: 0, ortCreateMs: 0, cached: true });

/** Builds a keyed graph while its weights are written into a new stage; commit() makes the stage the cache's. */
async function stageBuild(key: string, build: () => Graph): Promise<{ stage: Stage; staged: GraphRef; saved: GraphRef; timing: CreateTiming; commit: () => Promise<void> }> {
  const t0 = performance.now();
  // Weights named by origin start to be written into the stage while the build goes on (early-writes.ts).
  const stage = new Stage(graphCacheDir());
  const early = new EarlyWrites(stage, codeStamp());
  try {
    let g: Graph;
    try {
      g = onWeight(early.seen, build);
    } catch (err) {
      await early.settle(); // the writes the failed build started end before its stage goes
      throw err;
    }
    const timing: CreateTiming = { ...newTiming(g), buildMs: performance.now() - t0 };
    const { staged, saved } = await stageGraphRef(g, timing, stage, early);
    const commit = async () => {
      await stage.commit();
      await writeFileAtomic(refPath(key), JSON.stringify(saved));
    };
    return { stage, staged, saved, timing, commit };
  } catch (err) {
    await stage.discard();
    throw err;
  }
}

export class GraphSession {
  private constructor(
    private readonly name: string,
    private readonly session: ort.InferenceSession,
    readonly device: DeviceInfo,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    private readonly bindsOutputs = false,
  ) {}

  static async create(g: Graph, opts: SessionOpts): Promise<GraphSession> {
    // a small graph (no external weights) from memory: nothing written, nothing made durable (graph-cache.ts, inlineGraph)
    const timing = newTiming(g);
    const inline = inlineGraph(g, timing);
    if (inline) return GraphSession.open(inline, opts, timing);
    return (await GraphSession.openSaved(null, () => g, (ref, timing) => GraphSession.open(ref, opts, timing))).value;
  }

  /**
   * A session for the graph that `build` makes, found by `key` when an earlier process saved it: the
   * key must name everything the graph depends on (the model files' stamp, every option). A second
   * start then skips building, serializing and hashing the weights: ORT loads the saved files.
   */
  static async createCached(key: string, build: () => Graph, opts: SessionOpts): Promise<GraphSession> {
    return (await GraphSession.openSaved(key, build, (ref, timing) => GraphSession.open(ref, opts, timing))).value;
  }

  /**
   * What `open` makes over the saved files of the graph `build` makes (a session of any runtime), found by `key`
   * as createCached finds them, else built now. The graph's files are read by `open` while they are made
   * durable, and move into the cache once `open` is done, so nothing looks for a file that has just moved.
   * A null key saves the graph by content first, as create does.
   */
  static async openSaved<T>(
    key: string | null,
    build: () => Graph,
    open: (ref: GraphRef, timing: CreateTiming) => Promise<T>,
  ): Promise<{ value: T; timing: CreateTiming }> {
    if (key === null) {
      const g = build();
      const timing = newTiming(g);
      return { value: await open(await saveGraphRef(g, timing), timing), timing };
    }
    await savesInFlight.get(key); // this process saving the same key: find it rather than build it twice
    const found = findRef(key);
    if (found) {
      const timing = foundTiming(found);
      return { value: await open(found, timing), timing };
    }
    const { stage, staged, saved, timing, commit } = await stageBuild(key, build);
    if (!DEFERRED_SAVE) {
      await commit();
      return { value: await open(saved, timing), timing };
    }
    stage.startSync();
    let value: T;
    try {
      value = await open(staged, timing);
    } catch (err) {
      await stage.discard();
      throw err;
    }
    trackSave(key, commit());
    return { value, timing };
  }

  /** ORT's session over a saved graph's files, or over a small graph's bytes (inlineGraph). */
  private static async open(ref: GraphRef | InlineGraphRef, opts: SessionOpts, timing: CreateTiming): Promise<GraphSession> {
    // Only the WebGPU EP hands outputs back as device buffers in onnxruntime-node; with CUDA or DirectML
    // the state makes a round trip through the host between runs.
    const gpu = opts.device.kind === 'webgpu';
    if (gpu) holdWebGpuContext();
    const noOptimize = opts.noOptimize || ref.keepConstantsPacked;
    const so: ort.InferenceSession.SessionOptions = {
      executionProviders: gpu ? [{ name: 'webgpu', ...WEBGPU_OPTIONS }] : [opts.device.kind === 'cpu' ? 'cpu' : opts.device.ep],
      graphOptimizationLevel: noOptimize ? 'basic' : OPTIMIZATION_LEVEL,
      logSeverityLevel: ortLogLevel(),
    };
    if (opts.device.kind === 'cpu' && cpuThreads !== null) so.intraOpNumThreads = cpuThreads;
    if (gpu && !opts.bindOutputs) {
      const k = opts.keepOnDevice ?? [];
      const keep = typeof k === 'function' ? k : (n: string) => k.includes(n);
      so.preferredOutputLocation = Object.fromEntries(ref.outputs.map((o) => [o, keep(o) ? 'gpu-buffer' : 'cpu']));
    }
    if (gpu && !opts.allowCpuFallback) so.extra = { session: { disable_cpu_ep_fallback: '1' } };
    if (noOptimize) so.extra = { ...(so.extra ?? {}), optimization: { disable_specified_optimizers: 'ConstantFolding' } };
    // GRAFT_ORT_PROFILE=PREFIX: ORT's per-node profile (JSON at PREFIX_<date>.json), for measurements.
    if (process.env.GRAFT_ORT_PROFILE) Object.assign(so, { enableProfiling: true, profileFilePrefix: process.env.GRAFT_ORT_PROFILE });
    const t0 = performance.now();
    // a path or the bytes: the binding's overloads take either, not their union
    const session = await ort.InferenceSession.create(ref.model as Uint8Array, so);
    timing.ortCreateMs = performance.now() - t0;
    recordTiming(timing);
    return new GraphSession(ref.name, session, opts.device, session.inputNames, session.outputNames, opts.bindOutputs === true);
  }

  /**
   * Runs the graph. Outputs kept on the device are DeviceTensors; the others are host tensors. On a
   * session made with `bindOutputs`, the outputs named in `into` are written into those tensors (which
   * may also be inputs of this run: a cache updated in place) and come back as the same objects.
   */
  async run(feeds: Record<string, Feed>, into?: Record<string, Feed>): Promise<Record<string, Feed>> {
    if (into && !this.bindsOutputs) throw new Error(`session ${this.name}: outputs can be bound only on a session made with bindOutputs`);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.inputNames) {
      const f = feeds[name];
      if (!f) throw new Error(`missing input ${name}`);
      ortFeeds[name] = toOrt(f);
    }
    const profile = profiling();
    const t0 = profile ? performance.now() : 0;
    const fetches = into ? Object.fromEntries(this.outputNames.map((n) => [n, into[n] ? toOrt(into[n]) : null])) : undefined;
    const out = await (fetches ? this.session.run(ortFeeds, fetches) : this.session.run(ortFeeds));
    if (profile) record(this.name, performance.now() - t0);
    const result: Record<string, Feed> = {};
    for (const [name, t] of Object.entries(out)) result[name] = into?.[name] ?? (t.location === 'gpu-buffer' ? new DeviceTensor(t) : fromOrtCpu(t));
    return result;
  }

  async release(): Promise<void> {
    // ORT writes a profile's JSON only when profiling ends, not when the session is released.
    if (process.env.GRAFT_ORT_PROFILE) this.session.endProfiling();
    await this.session.release();
  }
}

export type { CreateTiming, Feed, HostTensor };
