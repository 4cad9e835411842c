/**
 * The WebGPU EP's context: its Dawn device and queue, validation, shader robustness, and how many dispatches
 * it encodes before each queue submit (`maxNumPendingDispatches`). ORT makes it once per process, with the
 * options of the first WebGPU session; later sessions' context options are ignored. It lives while any
 * WebGPU session does: the last one released takes it away.
 *
 * Why the submit window matters: a captured graph's replay (captured-graph.ts) submits its recorded
 * dispatches in windows of that size. ORT's default, 16, suits op-by-op runs, where the host encodes the next
 * window while the GPU runs this one. A replay has nothing on the host to overlap: a 0.5B decode step's 526
 * dispatches become 33 vkQueueSubmits in a row, each with Dawn's fence and bookkeeping. onnxruntime-node's
 * binding does not pass this option on (session.ts says why), so the process's first WebGPU session is
 * opened here, through ORT's C API, with it, and held open, so the context every later session finds is
 * this one.
 */
import { OrtCApi, type Ptr } from './ort-capi.js';
import { buildProbeModel } from './probe-model.js';

/**
 * The dispatches a submit carries. 256: on the H200 (bench/gpu/s19-a.sh, one process each, alternating), greedy
 * decode 173 → 183 tok/s at 0.5B, 201 → 215 at 135M, 131 → 143 (4,096) at 1.5B, 4 rows 130 → 145 a row at
 * 0.5B, the 1.5B training step 202 → 198 ms, its memory peak the same. 4,096 (one submit a replay) did as
 * well for one row and worse for 4 rows and training: a replay's host encoding then no longer overlaps the GPU.
 * GRAFT_WEBGPU_PENDING sets it (1–4096, ORT's range) for measurements; ORT_DEFAULT_PENDING is ORT's own.
 */
export const ORT_DEFAULT_PENDING = 16;
const DEFAULT_PENDING = 256;
export function pendingDispatches(): number {
  const v = Number(process.env.GRAFT_WEBGPU_PENDING);
  return Number.isInteger(v) && v >= 1 && v <= 4096 ? v : DEFAULT_PENDING;
}

/**
 * The WebGPU EP options every session of the engine passes (the binding's names and types). Dawn's
 * per-command validation and shader robustness (bounds checks on every buffer access) cost CPU time per
 * dispatch and GPU time per access: a decode step is hundreds of dispatches, so both are off unless
 * GRAFT_WEBGPU_VALIDATE=1 (debugging a WebGPU error). GRAFT_WEBGPU_OPTS (JSON) overrides them for measurements.
 *
 * Storage buffers: the EP's default cache ('bucket') keeps at most 2–6 buffers of each size above 40 MB and
 * destroys the rest at the end of every run, so a training step, which holds dozens of [B·T, intermediate]
 * activations for its backward, allocated them all afresh each step. 'simple' keeps every released buffer
 * for reuse by size. Measured on the H200 (Qwen2.5 shapes, fp16 step): 0.5B 1×512 2,041 → 2,836 tok/s,
 * 8×512 2,285 → 4,835, 1.5B 1×512 949 → 1,391 (bench/results/gpu-vs-peers-2026-12-02-training-s6.json).
 * The cost: buffers are kept per distinct size while the context lives (held below: the process), so every
 * graph with a variable axis must take few distinct sizes (kv-decoder.ts rounds prefill lengths to powers of two).
 */
export const WEBGPU_OPTIONS: Record<string, string | boolean> = {
  ...(process.env.GRAFT_WEBGPU_VALIDATE === '1' ? {} : { validationMode: 'disabled', enableRobustness: false }),
  storageBufferCacheMode: 'simple',
  ...(JSON.parse(process.env.GRAFT_WEBGPU_OPTS ?? '{}') as Record<string, string | boolean>),
};

/** The same options as the C API takes them (strings; booleans as '1' / '0'), with the submit window. */
export function contextOptions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(WEBGPU_OPTIONS)) out[k] = typeof v === 'boolean' ? (v ? '1' : '0') : v;
  out.maxNumPendingDispatches = String(pendingDispatches());
  return out;
}

interface Held {
  session: Ptr | null;
  /** Why the context was left to the binding's defaults (the C API out of reach), or null. */
  skipped: string | null;
  pending: number;
}
let held: Held | null = null;

/**
 * Makes the process's WebGPU context with the engine's options, before any other WebGPU session: a one-node
 * session opened through the C API and never released. Idempotent. Where the C API is out of reach (no koffi,
 * an unknown platform), the first binding session makes the context with the binding's options and ORT's
 * default window; that is slower for captured graphs and otherwise the same, so it is not an error.
 */
export function holdWebGpuContext(): Held {
  if (held) return held;
  let api: OrtCApi;
  try {
    api = OrtCApi.get();
  } catch (err) {
    held = { session: null, skipped: err instanceof Error ? err.message : String(err), pending: ORT_DEFAULT_PENDING };
    return held;
  }
  // Not caught: with the C API in reach, a WebGPU device that cannot be made fails the same way for the
  // binding's sessions, and the caller (the device probe, a session) reports it.
  const session = api.webgpuSession(buildProbeModel(), contextOptions(), { optimization: 'basic' });
  held = { session, skipped: null, pending: pendingDispatches() };
  return held;
}

/** What holdWebGpuContext did, for the bench's result files and the tests. */
export function webgpuContextState(): Readonly<Held> | null {
  return held;
}
