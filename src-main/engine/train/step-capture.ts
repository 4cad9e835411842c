/**
 * Training steps through the WebGPU EP's graph capture (runtime/captured-graph.ts). A step of the 1.5B model is
 * ~10,400 ops that onnxruntime-node encodes one by one on the host every step (~15 µs each on the H200); a
 * captured step submits the recorded commands again, so the host's part is a few small runs around it.
 *
 * A capture is bound to fixed buffers, so this owns one buffer per input the host writes each step (the batch,
 * the optimizer's scalars, dropout masks) and the step's outputs. The LoRA factors and both moments stay in the
 * runner's buffers, bound as inputs; the step writes their next values into buffers of its own, copied back
 * after each replay. Writing them in place would make the update's last op (p − lr·step) read and write one
 * buffer in one dispatch, which WebGPU does not allow; a second capture bound the other way round would hold a
 * second copy of every activation.
 */
import type { Graph } from '../graph/ir.js';
import { CapturedGraph } from '../runtime/captured-graph.js';
import type { DeviceInfo } from '../runtime/device.js';
import { FallbackOnce } from '../runtime/fallback-once.js';
import type { GraphRef } from '../runtime/graph-cache.js';
import { type CreateTiming, GraphSession } from '../runtime/session.js';
import { DeviceTensor, type Feed, type HostTensor } from '../runtime/tensors.js';
import { toDeviceAll, toHostAll, writeInto } from '../runtime/transfer.js';
import { FLAT } from './step-graph.js';

/** Steps replayed from a capture in this process (tests check that capture was used, not fallen back from). */
export const stepCaptureStats = { steps: 0 };

/** Inputs that depend only on the session's shapes: written once, when the capture is bound. */
const FIXED_INPUTS = new Set(['positions', 'attn_mask']);
/** The step graph's outputs (step-graph.ts). */
const OUTPUTS = ['new_lora', 'new_m', 'new_v', 'loss_sum', 'grad_norm'];

export interface StepState {
  params: DeviceTensor;
  m: DeviceTensor;
  v: DeviceTensor;
}

export class StepCapture {
  private constructor(
    private readonly graph: CapturedGraph,
    private readonly device: DeviceInfo,
    /** The buffers of the inputs written before each step, by input name. */
    private readonly written: Map<string, DeviceTensor>,
    private readonly state: StepState,
    private readonly next: StepState,
    private readonly scalars: DeviceTensor[],
    /** Every buffer made here (the fixed inputs' too), freed on release. */
    private readonly owned: DeviceTensor[],
  ) {}

  /**
   * Binds the one capture of the saved step graph `ref`, opened with capture on (`graph`, released here when
   * binding fails): `feeds` is a step's whole feed (its device tensors are bound as they are and must live as
   * long as this), `state` the runner's buffers, which keep their place from now on. Throws where capture is not
   * possible; the runner then runs the plain session.
   */
  static async open(graph: CapturedGraph, ref: GraphRef, device: DeviceInfo, feeds: Record<string, Feed>, state: StepState): Promise<StepCapture> {
    if (!ref.inputs) throw new Error(`the saved graph ${ref.name} does not list its inputs`);
    if (ref.outputs.length !== OUTPUTS.length || OUTPUTS.some((o) => !ref.outputs.includes(o)))
      throw new Error(`the saved graph ${ref.name} has outputs ${ref.outputs.join(', ')}, not a step's`);
    const hostNames = ref.inputs.filter((n) => {
      const f = feeds[n];
      if (!f) throw new Error(`captured step: nothing to bind to input ${n}`);
      return !(f instanceof DeviceTensor);
    });
    if (state.params.dtype !== 'float32') throw new Error(`captured step: a ${state.params.dtype} state is not supported`);
    // made by uploads, so the host inputs' buffers start with this step's values
    const like = (t: DeviceTensor): HostTensor => ({ dtype: 'float32', shape: t.shape, data: new Float32Array(t.shape.reduce((a, b) => a * b, 1)) });
    const scalar: HostTensor = { dtype: 'float32', shape: [], data: new Float32Array(1) };
    const made = (await toDeviceAll(
      [...hostNames.map((n) => feeds[n] as HostTensor), like(state.params), like(state.m), like(state.v), scalar, scalar],
      device,
    )) as DeviceTensor[];
    const written = new Map(hostNames.map((n, i) => [n, made[i]]));
    const [p, m, v, loss, norm] = made.slice(hostNames.length);
    const next: StepState = { params: p, m, v };
    try {
      const inputs: Record<string, Feed> = Object.fromEntries(ref.inputs.map((n) => [n, written.get(n) ?? feeds[n]]));
      Object.assign(inputs, { [FLAT]: state.params, [`m.${FLAT}`]: state.m, [`v.${FLAT}`]: state.v });
      graph.bind(1, inputs, { new_lora: next.params, new_m: next.m, new_v: next.v, loss_sum: loss, grad_norm: norm });
    } catch (err) {
      graph.release();
      for (const t of made) t.dispose();
      throw err;
    }
    for (const n of FIXED_INPUTS) written.delete(n);
    return new StepCapture(graph, device, written, state, next, [loss, norm], made);
  }

  /**
   * One step: the host inputs of `feeds` written into their buffers, the capture replayed (recorded at the first
   * step), the next state copied into the runner's buffers, and the loss and gradient norm read back.
   */
  async step(feeds: Record<string, Feed>): Promise<{ lossSum: number; gradNorm: number }> {
    const names = [...this.written.keys()];
    await writeInto(
      names.map((n) => this.written.get(n)!),
      names.map((n) => {
        const f = feeds[n];
        if (!f || f instanceof DeviceTensor) throw new Error(`captured step: input ${n} must come from the host each step`);
        return f;
      }),
      this.device,
    );
    this.graph.run(1);
    await writeInto([this.state.params, this.state.m, this.state.v], [this.next.params, this.next.m, this.next.v], this.device);
    const [loss, norm] = await toHostAll(this.scalars, this.device);
    stepCaptureStats.steps++;
    return { lossSum: loss.data[0] as number, gradNorm: norm.data[0] as number };
  }

  release(): void {
    this.graph.release();
    for (const t of this.owned) t.dispose();
  }
}

/** A captured step that could not open in this process: no runner tries again. */
const capturing = new FallbackOnce('graph capture unavailable, training without it');

/**
 * The step graph (`graph`: its cache key, or null to save it by content, and its builder) opened as a StepCapture
 * over its saved files, on WebGPU unless GRAFT_GRAPH_CAPTURE=0: `feeds` is the first step's feed, completed with
 * the resident weights the graph takes; `state` the runner's buffers. Null where capture cannot open here.
 */
export async function openStepCapture(o: {
  device: DeviceInfo;
  graph: { key: string | null; build: () => Graph };
  feeds: Record<string, Feed>;
  state: () => StepState;
  resident: (inputNames: readonly string[]) => Promise<Record<string, Feed>>;
  /** Starts reading what `resident` will need without waiting (the weight threads), where it has that to do. */
  prefetch?: (inputNames: readonly string[]) => void;
  /** Called once the graph is saved (the host's weights may go). */
  built: () => void;
}): Promise<StepCapture | null> {
  if (o.device.kind !== 'webgpu' || process.env.GRAFT_GRAPH_CAPTURE === '0' || capturing.failed) return null;
  const open = async (ref: GraphRef, timing: CreateTiming) => {
    o.built();
    // the resident weights are made for the names the graph takes: none made for a ref that lists none
    if (!ref.inputs) throw new Error(`the saved graph ${ref.name} does not list its inputs`);
    // ORT's creation of the captured session (~3 s at 1.5B) on this thread while the weight threads read the
    // resident weights (~2.5 s): on a first start one waited for the other. ORT's own calls stay on this thread
    // (ort-capi.ts says why).
    o.prefetch?.(ref.inputs);
    const graph = CapturedGraph.open(ref, o.device, timing);
    const feeds = await o.resident(ref.inputs).catch((err: unknown) => {
      graph.release();
      throw err;
    });
    Object.assign(o.feeds, feeds);
    return StepCapture.open(graph, ref, o.device, o.feeds, o.state());
  };
  try {
    CapturedGraph.check(o.device);
    // opened over the staged files while they are made durable
    return (await GraphSession.openSaved(o.graph.key, o.graph.build, open)).value;
  } catch (err) {
    return capturing.fail(err);
  }
}
