/**
 * The device sampler (device-sampler.ts) as a captured graph beside a captured decode (decode-capture.ts). Its
 * slot k reads the logits decode slot k left and writes its id over that slot's argmax, in the buffer decode slot
 * k+1 reads its input from: the GPU runs them in submission order, so a sampled chain needs the host only at its
 * start (the writes below) and its end (the ids). The sampler's own buffers: the rows' settings, a uniform per
 * slot, and the present-token marks in two buffers taken in turn (slot k reads one and writes the other: one
 * dispatch may not read and write one buffer).
 */
import { CapturedGraph } from '../runtime/captured-graph.js';
import type { DeviceInfo } from '../runtime/device.js';
import { GraphSession } from '../runtime/session.js';
import type { DeviceTensor, HostTensor } from '../runtime/tensors.js';
import { toDeviceAll } from '../runtime/transfer.js';
import { buildSamplerGraph, PARAMS, SAMPLED_IDS, type SamplerMode, SEEN_OUT } from './device-sampler.js';

/** What a sampled chain draws with: per slot, each row's uniform; each row's settings; each row's marks, or null to keep them. */
export interface ChainDraws {
  uniforms: Float32Array[];
  params: Float32Array;
  seen: Float32Array | null;
}

const f32 = (shape: number[], data?: Float32Array): HostTensor => ({ dtype: 'float32', shape, data: data ?? new Float32Array(shape.reduce((a, b) => a * b, 1)) });

export class SamplerCapture {
  private uniforms: DeviceTensor[] = [];

  private constructor(
    private readonly graph: CapturedGraph,
    private readonly device: DeviceInfo,
    private readonly rows: number,
    private readonly params: DeviceTensor,
    /** The marks: slot k reads seen[k % 2] and writes seen[(k + 1) % 2]; a chain's marks are written into seen[0]. */
    private readonly seen: [DeviceTensor, DeviceTensor],
  ) {}

  /** The captured sampler of a mode for rows × vocab (its small graph saved under a key: a later start only opens it). */
  static async open(device: DeviceInfo, rows: number, vocab: number, mode: SamplerMode): Promise<SamplerCapture> {
    const opened = await GraphSession.openSaved(
      `device-sampler|${mode}|${rows}|${vocab}`,
      () => buildSamplerGraph(rows, vocab, mode),
      async (ref, timing) => {
        const graph = CapturedGraph.open(ref, device, timing);
        try {
          const [params, a, b] = (await toDeviceAll([f32([rows, PARAMS]), f32([rows, vocab]), f32([rows, vocab])], device)) as DeviceTensor[];
          return new SamplerCapture(graph, device, rows, params, [a, b]);
        } catch (err) {
          graph.release();
          throw err;
        }
      },
    );
    return opened.value;
  }

  /**
   * Makes slots 0..n−1 ready: a uniform buffer each, and each bound to decode slot k's logits and ids buffers (at
   * the first chain that reaches it). Done before any step runs, so a failure here leaves the decode untouched.
   */
  async prepare(n: number, logits: DeviceTensor, ids: readonly DeviceTensor[]): Promise<void> {
    while (this.uniforms.length < n) this.uniforms.push(...((await toDeviceAll([f32([this.rows, 1])], this.device)) as DeviceTensor[]));
    for (let k = 0; k < n; k++) {
      if (this.graph.has(k + 1)) continue;
      const inputs = { logits, seen: this.seen[k % 2], uniform: this.uniforms[k], params: this.params };
      this.graph.bind(k + 1, inputs, { [SAMPLED_IDS]: ids[k], [SEEN_OUT]: this.seen[(k + 1) % 2] });
    }
  }

  /**
   * The writes that set up n prepared slots for a chain's steps from..from+n−1 (made with the decode's own, in one
   * transfer): each slot's uniform; at the chain's start (from 0) also the rows' settings and marks.
   */
  writes(n: number, draws: ChainDraws, from = 0): { targets: DeviceTensor[]; values: HostTensor[] } {
    const B = this.rows;
    const uniforms = draws.uniforms.slice(from, from + n).map((u) => f32([B, 1], u));
    if (from > 0) return { targets: this.uniforms.slice(0, n), values: uniforms };
    const targets = [this.params, ...this.uniforms.slice(0, n)];
    const values = [f32([B, PARAMS], draws.params), ...uniforms];
    if (draws.seen) {
      targets.push(this.seen[0]);
      values.push(f32([B, draws.seen.length / B], draws.seen));
    }
    return { targets, values };
  }

  /** Runs slot k (prepared), after decode slot k. */
  run(k: number): void {
    this.graph.run(k + 1);
  }

  release(): void {
    this.graph.release();
    for (const t of [this.params, ...this.seen, ...this.uniforms]) t.dispose();
  }
}
