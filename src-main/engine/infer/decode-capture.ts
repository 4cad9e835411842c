/**
 * Greedy decode steps replayed from the WebGPU EP's graph capture (runtime/captured-graph.ts): a chain of n
 * steps is n submissions of recorded commands instead of n runs that encode ~400-700 ops each on the host.
 *
 * A capture is bound to fixed buffers, so this state owns every buffer a step reads or writes and keeps it
 * for the life of the fused graph's session: the KV caches (a decoder that holds the state uses them as its
 * own), the adapter rows (written in place by each generation), and per chain slot k of a ring: the ids fed
 * in (slot k−1's output, or the chain's first tokens), the positions and GroupQueryAttention's seqlens_k, all
 * written before the chain runs. The attention's total length is bound as the capacity: the kernel bounds
 * attention by seqlens_k (checked against the plain runs in test/engine/infer/decode-capture.test.ts).
 */
import type { LoadedModel } from '../model.js';
import { CapturedGraph } from '../runtime/captured-graph.js';
import type { DeviceInfo } from '../runtime/device.js';
import type { GraphSession } from '../runtime/session.js';
import type { DeviceTensor, Feed, HostTensor } from '../runtime/tensors.js';
import { toDeviceAll, toHostAll, writeInto } from '../runtime/transfer.js';
import { cacheIn, cacheOut } from './decode-graph.js';
import { LAST_INDEX, NEXT_IDS, SEQLENS_K, TOTAL_LENGTH } from './fused-decode-graph.js';

/** Chains run from captures in this process (tests check that capture was used, not fallen back from). */
export const captureStats = { chains: 0 };

let warned = false;
const int32 = (shape: number[], data: Int32Array): HostTensor => ({ dtype: 'int32', shape, data });

export class DecodeCapture {
  /** The decoder using the buffers now (one at a time; another decoder runs without capture meanwhile). */
  owner: object | null = null;
  private lora: Record<string, DeviceTensor> | null = null;
  private first!: DeviceTensor;
  private ids: DeviceTensor[] = [];
  private positions: DeviceTensor[] = [];
  private seqlens: DeviceTensor[] = [];
  /** The captured session, opened by the first chain (chains before the graph's file is saved run op by op). */
  private graph: CapturedGraph | null = null;
  private file: string | null = null;
  private failed = false;
  /** Settles when the saved graph's file is known (true) or will not be (false). */
  readonly ready: Promise<boolean>;

  private constructor(
    modelFile: Promise<string>,
    private readonly device: DeviceInfo,
    private readonly rows: number,
    private readonly capacity: number,
    readonly caches: Record<string, DeviceTensor>,
    private readonly inputNames: readonly string[],
  ) {
    this.ready = modelFile.then(
      (file) => {
        this.file = file;
        return true;
      },
      () => false,
    );
  }

  /** Whether chains replay captures now (else the decoder runs them op by op, on the same buffers). */
  get live(): boolean {
    return this.file !== null && !this.failed;
  }

  /**
   * The captured session, opened now if not yet. Synchronously, on this thread, between runs: its EP shares
   * the WebGPU device and command encoder with onnxruntime-node's sessions. Null (logged once) when it fails.
   */
  private open(): CapturedGraph | null {
    if (this.graph || this.failed || !this.file) return this.graph;
    try {
      this.graph = CapturedGraph.open(this.file, this.device);
    } catch (err) {
      this.failed = true;
      if (!warned) console.error(`[graft] graph capture unavailable, decoding op by op: ${(err as Error).message}`);
      warned = true;
    }
    return this.graph;
  }

  /** The buffers at once; the captured session opens from the saved graph in the background. */
  static async open(session: GraphSession, model: LoadedModel, device: DeviceInfo, rows: number, capacity: number): Promise<DecodeCapture> {
    const { spec } = model;
    const shape = [rows, spec.kvHeads, capacity, spec.headDim];
    const zeros: HostTensor = { dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
    const names = Array.from({ length: spec.layers }, (_, i) => [cacheIn(i, 'k'), cacheIn(i, 'v')]).flat();
    const dev = (await toDeviceAll(
      names.map(() => zeros),
      device,
    )) as DeviceTensor[];
    return new DecodeCapture(
      session.modelFile(),
      device,
      rows,
      capacity,
      Object.fromEntries(names.map((n, i) => [n, dev[i]])),
      session.inputNames,
    );
  }

  /** The adapter rows' buffers: made from the first generation's values, written in place by later ones. */
  async loraFeeds(host: Record<string, HostTensor>): Promise<Record<string, Feed>> {
    const names = Object.keys(host);
    if (!this.lora) {
      const dev = (await toDeviceAll(
        names.map((n) => host[n]),
        this.device,
      )) as DeviceTensor[];
      this.lora = Object.fromEntries(names.map((n, i) => [n, dev[i]]));
    } else {
      const have = this.lora;
      if (names.length !== Object.keys(have).length || names.some((n) => !have[n]))
        throw new Error('adapter rows of another layout than the captured one');
      await writeInto(
        names.map((n) => have[n]),
        names.map((n) => host[n]),
        this.device,
      );
    }
    return this.lora;
  }

  /** Makes ring slots up to n (device buffers, each bound by the capture of its slot). */
  private async grow(n: number): Promise<void> {
    const B = this.rows;
    if (!this.first) this.first = ((await toDeviceAll([int32([B, 1], new Int32Array(B))], this.device)) as DeviceTensor[])[0];
    while (this.ids.length < n) {
      const [ids, pos, seq] = (await toDeviceAll(
        [int32([B, 1], new Int32Array(B)), int32([B, 1], new Int32Array(B)), int32([B], new Int32Array(B))],
        this.device,
      )) as DeviceTensor[];
      this.ids.push(ids);
      this.positions.push(pos);
      this.seqlens.push(seq);
    }
  }

  /**
   * n greedy steps from `tokens` at slots start..start+n−1 of the caches (the decoder's own); returns each
   * step's ids, read back once at the end.
   */
  async chain(tokens: readonly number[], n: number, start: number, layers: number, lora: Record<string, Feed>): Promise<Int32Array[] | null> {
    const graph = this.open();
    if (!graph) return null;
    await this.grow(n);
    const B = this.rows;
    const targets: Feed[] = [this.first];
    const values: HostTensor[] = [int32([B, 1], Int32Array.from(tokens))];
    for (let k = 0; k < n; k++) {
      targets.push(this.positions[k], this.seqlens[k]);
      values.push(int32([B, 1], new Int32Array(B).fill(start + k)), int32([B], new Int32Array(B).fill(start + k)));
    }
    await writeInto(targets, values, this.device);
    captureStats.chains++;
    for (let k = 0; k < n; k++) {
      const id = k + 1;
      if (!graph.has(id)) this.bindSlot(graph, k, layers, lora);
      graph.run(id);
    }
    return (await toHostAll(this.ids.slice(0, n), this.device)).map((h) => Int32Array.from(h.data as Int32Array));
  }

  private bindSlot(graph: CapturedGraph, k: number, layers: number, lora: Record<string, Feed>): void {
    const outputs: Record<string, DeviceTensor> = { [NEXT_IDS]: this.ids[k] };
    for (let i = 0; i < layers; i++) {
      outputs[cacheOut(i, 'k')] = this.caches[cacheIn(i, 'k')];
      outputs[cacheOut(i, 'v')] = this.caches[cacheIn(i, 'v')];
    }
    const inputs: Record<string, Feed> = {
      ...this.caches,
      ...lora,
      input_ids: k === 0 ? this.first : this.ids[k - 1],
      positions: this.positions[k],
      [SEQLENS_K]: this.seqlens[k],
      [TOTAL_LENGTH]: int32([], Int32Array.of(this.capacity)),
      [LAST_INDEX]: int32([], Int32Array.of(0)),
    };
    // Only the graph's own inputs (a model whose positions come from elsewhere has no `positions`).
    graph.bind(
      k + 1,
      Object.fromEntries(
        this.inputNames.map((n) => {
          if (!inputs[n]) throw new Error(`captured decode: nothing to bind to input ${n}`);
          return [n, inputs[n]];
        }),
      ),
      outputs,
    );
  }

  release(): void {
    this.failed = true;
    this.graph?.release();
    this.graph = null;
    for (const t of [
      ...Object.values(this.caches),
      ...Object.values(this.lora ?? {}),
      ...this.ids,
      ...this.positions,
      ...this.seqlens,
      ...(this.first ? [this.first] : []),
    ])
      t.dispose();
  }
}
