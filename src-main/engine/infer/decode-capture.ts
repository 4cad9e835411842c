/**
 * Decoding through the WebGPU EP's graph capture (runtime/captured-graph.ts): a greedy chain of n steps is n
 * submissions of recorded commands instead of n runs that encode ~400-700 ops each on the host, and a sampled
 * step is one submission and a read of the logits. The graph has both the ids and the logits as outputs, and
 * the same captured session runs the conversation's prefill (an ordinary run, any length), so the weights are
 * on the device once.
 *
 * A capture is bound to fixed buffers, so this state owns every buffer a step reads or writes and keeps it
 * while the model's pool keeps it: the KV caches (the decoder holding the state uses them as its own), the
 * adapter rows (written in place by each generation), and per chain slot k of a ring (capture-ring.ts): the ids
 * fed in (slot k−1's output, or the chain's first tokens), the positions and GroupQueryAttention's seqlens_k, all
 * written before the chain runs. The attention's total length is bound as the capacity: the kernel bounds attention
 * by seqlens_k (checked against plain runs in test/engine/infer/decode-capture.test.ts).
 */
import type { LoadedModel } from '../model.js';
import { CapturedGraph } from '../runtime/captured-graph.js';
import { SharedWeights } from '../runtime/shared-weights.js';
import { FallbackOnce } from '../runtime/fallback-once.js';
import type { DeviceInfo } from '../runtime/device.js';
import type { GraphRef } from '../runtime/graph-cache.js';
import type { CreateTiming } from '../runtime/session.js';
import { hostTensor, zeroTensor, type DeviceTensor, type Feed, type HostTensor } from '../runtime/tensors.js';
import { toDeviceAll, toHostAll, writeInto } from '../runtime/transfer.js';
import { CaptureRing, captureStats, CHAIN_SLOTS } from './capture-ring.js';
import { cacheIn, cacheOut } from './decode-graph.js';
import { type TopLogits, topLogits } from './device-topk.js';
import { LAST_INDEX, NEXT_IDS, SEQLENS_K, TOTAL_LENGTH } from './fused-decode-graph.js';
import type { SamplerMode } from './device-sampler.js';
import { type ChainDraws, SamplerCapture } from './sampler-capture.js';

export { captureStats, CHAIN_SLOTS } from './capture-ring.js';

export class DecodeCapture {
  /** The decoder using the buffers now (one at a time; another decoder runs without capture meanwhile). */
  owner: object | null = null;
  private lora: Record<string, DeviceTensor> | null = null;
  private readonly ring: CaptureRing;
  /** The device samplers, each opened by the first sampled chain of its mode. */
  private samplers = new Map<SamplerMode, Promise<SamplerCapture>>();

  private constructor(
    private readonly graph: CapturedGraph,
    private readonly device: DeviceInfo,
    private readonly rows: number,
    private readonly capacity: number,
    readonly caches: Record<string, DeviceTensor>,
    private readonly inputNames: readonly string[],
    /** Every step's logits [rows, vocab] (a sampled step reads them; a greedy chain leaves them). */
    private readonly logits: DeviceTensor,
    /** The graph the steps replay: `graph` itself, or a one-token graph over the same weights (`weights`). */
    private readonly stepGraph: CapturedGraph,
    private readonly stepInputNames: readonly string[],
    private readonly weights: SharedWeights | null,
  ) {
    this.ring = new CaptureRing(rows, device);
  }

  /**
   * The captured session over the fused argmax graph's saved files, and its caches. It serves the prefill too
   * (run), so the weights are on the device once. Opened synchronously, on this thread: its EP shares the
   * WebGPU device and command encoder with onnxruntime-node's sessions, and a creation on a worker thread
   * beside a run corrupted that encoder on the H200 ("CommandEncoder already finished"). Throws where capture
   * is not possible; the decoder then takes the onnxruntime-node session.
   */
  static async open(
    ref: GraphRef,
    timing: CreateTiming,
    model: LoadedModel,
    device: DeviceInfo,
    rows: number,
    capacity: number,
    cacheDtype: 'float32' | 'float16',
    /** A one-token graph of the same weights for the steps (fused-decode-graph.ts, oneRow); the weights are then shared. */
    oneToken?: { ref: GraphRef; timing: CreateTiming },
  ): Promise<DecodeCapture> {
    for (const r of [ref, oneToken?.ref]) {
      if (!r) continue;
      if (!r.inputs) throw new Error(`the saved graph ${r.name} does not list its inputs`);
      if (!r.outputs.includes(NEXT_IDS) || !r.outputs.includes('logits')) throw new Error(`the saved graph ${r.name} has not both ids and logits as outputs`);
    }
    const weights = oneToken ? await SharedWeights.load(ref, device) : null;
    let graph: CapturedGraph | null = null;
    let step: CapturedGraph | null = null;
    try {
      graph = CapturedGraph.open(ref, device, timing, weights?.initializersOf(ref));
      step = oneToken ? CapturedGraph.open(oneToken.ref, device, oneToken.timing, weights!.initializersOf(oneToken.ref)) : graph;
      const { spec } = model;
      const shape = [rows, spec.kvHeads, capacity, spec.headDim];
      const zeros = zeroTensor(cacheDtype, shape);
      const names = Array.from({ length: spec.layers }, (_, i) => [cacheIn(i, 'k'), cacheIn(i, 'v')]).flat();
      const logits: HostTensor = { dtype: 'float32', shape: [rows, spec.vocab], data: new Float32Array(rows * spec.vocab) };
      const dev = (await toDeviceAll([...names.map(() => zeros), logits], device)) as DeviceTensor[];
      return new DecodeCapture(
        graph,
        device,
        rows,
        capacity,
        Object.fromEntries(names.map((n, i) => [n, dev[i]])),
        ref.inputs!,
        dev[names.length],
        step,
        (oneToken?.ref ?? ref).inputs!,
        weights,
      );
    } catch (err) {
      if (step && step !== graph) step.release();
      graph?.release();
      weights?.release();
      throw err;
    }
  }

  /** A graph's inputs from `feeds`, in its own names (a model without `positions` has none). */
  private inputsOf(feeds: Record<string, Feed>, names = this.inputNames): Record<string, Feed> {
    return Object.fromEntries(
      names.map((n) => {
        if (!feeds[n]) throw new Error(`captured decode: nothing to bind to input ${n}`);
        return [n, feeds[n]];
      }),
    );
  }

  /**
   * One run outside the captures, as GraphSession.run with bound outputs: the caches (and the ids when given)
   * into `into`; the ids (`wantIds`) or the logits come back to the host. A prefill of any length.
   */
  run(feeds: Record<string, Feed>, into: Record<string, Feed>, wantIds: boolean): Record<string, Feed> {
    const B = this.rows;
    const V = this.logits.shape[1];
    const toHost: Record<string, { dtype: 'int32' | 'float32'; shape: number[] }> = {};
    if (!wantIds) toHost.logits = { dtype: 'float32', shape: [B, V] };
    else if (!into[NEXT_IDS]) toHost[NEXT_IDS] = { dtype: 'int32', shape: [B, 1] };
    const host = this.graph.runOnce(this.inputsOf(feeds), into as Record<string, DeviceTensor>, toHost);
    const out: Record<string, Feed> = { ...into };
    if (host[NEXT_IDS]) out[NEXT_IDS] = hostTensor('int32', [B, 1], host[NEXT_IDS] as Int32Array);
    if (host.logits) out.logits = { dtype: 'float32', shape: [B, V], data: host.logits };
    return out;
  }

  /**
   * One decode step from `tokens` at slot `start`, replayed from the first capture: the ids (`wantIds`) or
   * the logits come back. A sampled step (the host picks the token from the logits) still saves the host's
   * per-op work.
   */
  async step(
    tokens: readonly number[],
    start: number,
    wantIds: boolean,
    layers: number,
    lora: Record<string, Feed>,
  ): Promise<Int32Array | Float32Array> {
    await this.replay(tokens, 1, start, layers, lora);
    captureStats.steps++;
    if (!wantIds) return this.logitsNow();
    const [h] = await toHostAll([this.ring.ids[0]], this.device);
    return Int32Array.from(h.data as Int32Array);
  }

  /**
   * One sampled step replayed: each row's `k` best logits and their ids come back (device-topk.ts), not the
   * vocabulary's; the whole logits stay on the device until the next step (logitsNow).
   */
  async stepTop(tokens: readonly number[], start: number, layers: number, lora: Record<string, Feed>, k: number): Promise<TopLogits> {
    await this.replay(tokens, 1, start, layers, lora);
    captureStats.steps++;
    if (!topK.failed)
      try {
        const top = await topLogits(this.logits, k, this.device);
        captureStats.topSteps++;
        return top;
      } catch (err) {
        topK.fail(err);
      }
    // no candidates: the sampler asks for the whole row (logitsNow)
    return { logits: new Float32Array(0), ids: new Int32Array(0), k: 0 };
  }

  /** The last step's logits [rows, vocab], read back. */
  async logitsNow(): Promise<Float32Array> {
    const [h] = await toHostAll([this.logits], this.device);
    return Float32Array.from(h.data as Float32Array);
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

  /**
   * n greedy steps from `tokens` at slots start..start+n−1 of the caches (the decoder's own); returns each
   * step's ids, read back once at the end.
   */
  async chain(tokens: readonly number[], n: number, start: number, layers: number, lora: Record<string, Feed>): Promise<Int32Array[]> {
    const ids = await this.rounds(tokens, n, start, layers, lora);
    captureStats.chains++;
    return ids;
  }

  /**
   * n steps from `tokens`: rounds of up to CHAIN_SLOTS steps over the same captures (a chain of at most that many is
   * one round). Before each later round one run on the device keeps the last round's ids aside and feeds its last
   * ids in as the round's first, with `writes(from, m)`'s writes for steps from..from+m−1; nothing is read between
   * rounds, so the GPU is never left waiting for the host (a read drains it: ~2 ms a read at 0.5B, session 23).
   * Each step is followed by `after(k)` (k its slot). Returns each step's ids, read back once at the end.
   */
  private async rounds(
    tokens: readonly number[],
    n: number,
    start: number,
    layers: number,
    lora: Record<string, Feed>,
    writes: (from: number, m: number) => { targets: Feed[]; values: Feed[] } = () => ({ targets: [], values: [] }),
    after?: (k: number) => void,
  ): Promise<Int32Array[]> {
    const S = CHAIN_SLOTS;
    await this.replay(tokens, Math.min(n, S), start, layers, lora, writes(0, Math.min(n, S)), after);
    const earlier: DeviceTensor[] = [];
    for (let done = S; done < n; done += S) {
      const m = Math.min(S, n - done);
      const aside = await this.ring.aside(earlier.length, S);
      const w = writes(done, m);
      await this.replay(this.ring.ids[S - 1], m, start + done, layers, lora, { targets: [...aside, ...w.targets], values: [...this.ring.ids.slice(0, S), ...w.values] }, after);
      earlier.push(...aside);
      captureStats.rounds++;
    }
    const last = n - earlier.length;
    return (await toHostAll([...earlier, ...this.ring.ids.slice(0, last)], this.device)).map((h) => Int32Array.from(h.data as Int32Array));
  }

  /**
   * n sampled steps from `tokens`, as chain() but each step's id drawn on the device (sampler-capture.ts) with
   * `draws()` (asked once the sampler is open); returns each step's ids, read back once at the end. Null, before
   * any step, where the sampler cannot be opened or bound here (the caller then samples on the host, step by step).
   */
  async sampledChain(tokens: readonly number[], n: number, start: number, layers: number, lora: Record<string, Feed>, mode: SamplerMode, draws: () => ChainDraws): Promise<Int32Array[] | null> {
    if (deviceSampler.failed) return null;
    const [B, V] = this.logits.shape;
    if (!this.samplers.has(mode)) this.samplers.set(mode, SamplerCapture.open(this.device, B, V, mode));
    let sampler: SamplerCapture;
    const slots = Math.min(n, CHAIN_SLOTS);
    try {
      sampler = await this.samplers.get(mode)!;
      await this.ring.grow(slots);
      await sampler.prepare(slots, this.logits, this.ring.ids);
    } catch (err) {
      return deviceSampler.fail(err);
    }
    // the first round sets the rows' settings and marks; each round its steps' uniforms (the marks carry on in the
    // sampler's two buffers: CHAIN_SLOTS is even, so a round ends where the next begins)
    const d = draws();
    const ids = await this.rounds(tokens, n, start, layers, lora, (from, m) => sampler.writes(m, d, from), (k) => sampler.run(k));
    captureStats.sampledChains++;
    return ids;
  }

  /**
   * Writes the first tokens (from the host, or a copy on the device) and slots 0..n−1's positions and seqlens_k
   * (and `extra`), then replays captures 1..n (each bound at its first use), each followed by `after` when given.
   */
  private async replay(
    tokens: readonly number[] | DeviceTensor,
    n: number,
    start: number,
    layers: number,
    lora: Record<string, Feed>,
    extra: { targets: Feed[]; values: Feed[] } = { targets: [], values: [] },
    after?: (k: number) => void,
  ): Promise<void> {
    await this.ring.grow(n);
    const B = this.rows;
    const targets: Feed[] = [this.ring.first, ...extra.targets];
    const values: Feed[] = [Array.isArray(tokens) ? hostTensor('int32', [B, 1], Int32Array.from(tokens)) : (tokens as DeviceTensor), ...extra.values];
    for (let k = 0; k < n; k++) {
      targets.push(this.ring.positions[k], this.ring.seqlens[k]);
      values.push(hostTensor('int32', [B, 1], new Int32Array(B).fill(start + k)), hostTensor('int32', [B], new Int32Array(B).fill(start + k)));
    }
    await writeInto(targets, values, this.device);
    for (let k = 0; k < n; k++) {
      if (!this.stepGraph.has(k + 1)) this.bindSlot(k, layers, lora);
      this.stepGraph.run(k + 1);
      after?.(k);
    }
  }

  private bindSlot(k: number, layers: number, lora: Record<string, Feed>): void {
    captureStats.slots = Math.max(captureStats.slots, k + 1);
    const outputs: Record<string, DeviceTensor> = { [NEXT_IDS]: this.ring.ids[k], logits: this.logits };
    for (let i = 0; i < layers; i++) {
      outputs[cacheOut(i, 'k')] = this.caches[cacheIn(i, 'k')];
      outputs[cacheOut(i, 'v')] = this.caches[cacheIn(i, 'v')];
    }
    const inputs: Record<string, Feed> = {
      ...this.caches,
      ...lora,
      input_ids: k === 0 ? this.ring.first : this.ring.ids[k - 1],
      positions: this.ring.positions[k],
      [SEQLENS_K]: this.ring.seqlens[k],
      [TOTAL_LENGTH]: hostTensor('int32', [], Int32Array.of(this.capacity)),
      [LAST_INDEX]: hostTensor('int32', [], Int32Array.of(0)),
    };
    this.stepGraph.bind(k + 1, this.inputsOf(inputs, this.stepInputNames), outputs);
  }

  release(): void {
    if (this.stepGraph !== this.graph) this.stepGraph.release();
    this.graph.release();
    this.weights?.release();
    for (const s of this.samplers.values()) void s.then((x) => x.release()).catch(() => {});
    for (const t of [
      this.logits,
      ...Object.values(this.caches),
      ...Object.values(this.lora ?? {}),
    ])
      t.dispose();
    this.ring.dispose();
  }
}

/** The device top-k, once it failed in this process: sampled steps read whole rows. */
const topK = new FallbackOnce("the device's top-k did not run, sampling over whole rows");

/** The device sampler, once it could not be opened or bound: sampled steps are drawn on the host. */
const deviceSampler = new FallbackOnce('the device sampler did not open, sampling on the host');
