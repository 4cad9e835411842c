/**
 * A graph run by replaying its recorded GPU commands (the WebGPU EP's graph capture). Each capture is one
 * binding of fixed buffers: its first run records the dispatches, later runs submit the record again with no
 * per-op work on the host. Whatever changes between runs must therefore change inside those buffers (written
 * by other sessions on the same device); host scalars are read once, at capture.
 *
 * The session is opened through ORT's C API (ort-capi.ts) over a graph a GraphSession already saved; the
 * buffers are onnxruntime-node's own DeviceTensors, bound by address, so both runtimes share them.
 */
import type { DeviceInfo } from './device.js';
import type { CreateTiming, GraphRef } from './graph-cache.js';
import { type HostValue, OrtCApi, type Ptr } from './ort-capi.js';
import { recordTiming } from './session.js';
import { DeviceTensor, type Feed } from './tensors.js';
import { holdWebGpuContext } from './webgpu-context.js';

interface Capture {
  binding: Ptr;
  runOptions: Ptr;
  /** CPU values bound as inputs, kept alive with the binding. */
  held: HostValue[];
}

/**
 * Host time inside the runs of captured graphs, summed over the process: a replay returns once its recorded
 * dispatches are encoded and submitted, so this beside the wall time per step says whether the host (the EP and
 * Dawn encoding the replay) or the GPU bounds a chain of replays. Zero it to measure a stretch.
 */
export const replayHostTime = { runs: 0, ms: 0 };

export class CapturedGraph {
  private captures = new Map<number, Capture>();
  private released = false;

  private constructor(
    private readonly api: OrtCApi,
    private readonly session: Ptr,
  ) {}

  /**
   * Throws where no captured graph can open in this process (ORT's C API out of reach: no koffi, an unknown
   * platform): asked before a graph is built for one, so a fallback does not build it twice.
   */
  static check(device: DeviceInfo): void {
    if (device.kind !== 'webgpu') throw new Error('graph capture needs the WebGPU EP');
    OrtCApi.get();
  }

  /**
   * Opens the saved graph with capture on; throws (the caller falls back to plain runs) where that is not
   * possible. Its creation is recorded as '<graph>:captured' with the graph's build and save times (`timing`).
   */
  static open(ref: GraphRef, device: DeviceInfo, timing: CreateTiming, initializers?: Record<string, Ptr>): CapturedGraph {
    CapturedGraph.check(device);
    const api = OrtCApi.get();
    holdWebGpuContext();
    const t0 = performance.now();
    // As session.ts opens the same files: packed constants stay packed (basic level, no constant folding).
    const optimization = ref.keepConstantsPacked ? 'basic' : optimizationLevel();
    const session = api.webgpuSession(
      ref.model,
      { enableGraphCapture: '1' },
      // initializers given (shared-weights.ts): device buffers the caller holds, read in place of the graph's own
      { optimization, keepConstants: ref.keepConstantsPacked, initializers },
    );
    recordTiming({ ...timing, graph: `${timing.graph}:captured`, ortCreateMs: performance.now() - t0 });
    return new CapturedGraph(api, session);
  }

  /** Whether capture `id` is bound. */
  has(id: number): boolean {
    return this.captures.has(id);
  }

  /**
   * Binds capture `id` (≥ 1): device inputs and outputs by buffer, int32 host inputs by value (frozen at
   * capture). An output may be an input of the same capture (a cache updated in place).
   */
  bind(id: number, inputs: Record<string, Feed>, outputs: Record<string, DeviceTensor>): void {
    if (id < 1) throw new Error(`capture ids start at 1 (got ${id})`);
    if (this.captures.has(id)) throw new Error(`capture ${id} is already bound`);
    const api = this.api;
    const binding = api.binding(this.session);
    const held: HostValue[] = [];
    try {
      this.bindAll(binding, inputs, outputs, held);
    } catch (err) {
      api.release('ReleaseIoBinding', binding);
      for (const v of held) api.freeHost(v);
      throw err;
    }
    this.captures.set(id, { binding, runOptions: api.runOptions({ gpu_graph_id: String(id) }), held });
  }

  /**
   * One run outside every capture (any shapes: a prefill): host int32 inputs are copied in, outputs go into
   * the device tensors given or, for `hostOut` (name → shape), into int32 arrays returned.
   */
  runOnce(
    inputs: Record<string, Feed>,
    outputs: Record<string, DeviceTensor>,
    hostOut: Record<string, { dtype: 'int32' | 'float32'; shape: readonly number[] }>,
  ): Record<string, Int32Array | Float32Array> {
    if (this.released) throw new Error('captured graph released');
    const api = this.api;
    const binding = api.binding(this.session);
    const values: HostValue[] = [];
    try {
      this.bindAll(binding, inputs, outputs, values);
      const out: Record<string, Int32Array | Float32Array> = {};
      const reads: [string, () => Int32Array | Float32Array][] = [];
      for (const [name, { dtype, shape }] of Object.entries(hostOut)) {
        const v = api.cpuTensor(dtype, shape);
        values.push(v);
        reads.push([name, v.read]);
        api.call('BindOutput', binding, name, v.value);
      }
      if (!this.noCapture) this.noCapture = api.runOptions({ gpu_graph_id: '-1' });
      api.call('RunWithBinding', this.session, this.noCapture, binding);
      for (const [name, read] of reads) out[name] = read();
      return out;
    } finally {
      api.release('ReleaseIoBinding', binding);
      for (const v of values) api.freeHost(v);
    }
  }

  /** Device tensors by buffer, int32 host tensors by value (their host values added to `held`). */
  private bindAll(binding: Ptr, inputs: Record<string, Feed>, outputs: Record<string, DeviceTensor>, held: HostValue[]): void {
    for (const [name, f] of Object.entries(inputs)) {
      if (f instanceof DeviceTensor) this.api.call('BindInput', binding, name, this.valueOf(f));
      else {
        if (f.dtype !== 'int32') throw new Error(`host input ${name}: only int32 is bound by value (got ${f.dtype})`);
        const v = this.api.cpuTensor('int32', f.shape, f.data as Int32Array);
        held.push(v);
        this.api.call('BindInput', binding, name, v.value);
      }
    }
    for (const [name, t] of Object.entries(outputs)) this.api.call('BindOutput', binding, name, this.valueOf(t));
  }

  private noCapture: Ptr | null = null;

  /** Runs capture `id`: records it the first time, replays the record after. Nothing is read back. */
  run(id: number): void {
    const c = this.captures.get(id);
    if (!c) throw new Error(`capture ${id} is not bound`);
    if (this.released) throw new Error('captured graph released');
    const t0 = performance.now();
    this.api.call('RunWithBinding', this.session, c.runOptions, c.binding);
    replayHostTime.runs++;
    replayHostTime.ms += performance.now() - t0;
  }

  /** Each buffer's OrtValue, found once (a prefill binds every cache again). */
  private values = new WeakMap<DeviceTensor, Ptr>();
  private valueOf(t: DeviceTensor): Ptr {
    if (!t.onGpu) throw new Error('a captured graph binds GPU buffers only');
    let v = this.values.get(t);
    if (v === undefined) {
      v = this.api.ortValueOf(
        (t.ort as unknown as { gpuBuffer: unknown }).gpuBuffer,
        t.dtype,
        t.shape.reduce((a, b) => a * b, 1),
      );
      this.values.set(t, v);
    }
    return v;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    for (const c of this.captures.values()) {
      this.api.release('ReleaseIoBinding', c.binding);
      this.api.release('ReleaseRunOptions', c.runOptions);
      for (const v of c.held) this.api.freeHost(v);
    }
    this.captures.clear();
    this.api.release('ReleaseRunOptions', this.noCapture);
    this.api.release('ReleaseSession', this.session);
  }
}

function optimizationLevel(): 'basic' | 'all' {
  return process.env.GRAFT_ORT_OPT_LEVEL === 'basic' ? 'basic' : 'all';
}
