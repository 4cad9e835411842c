/**
 * Runs prefill and decode over one set of device-resident KV caches. Rows are left-padded to a
 * common prompt length (padding is masked out and position ids start after it), so every row's
 * newest token sits in the same slot and one decode step serves all rows.
 * Rows of equal length (always the case for side-by-side variants) run on the fused graph instead
 * (fused-decode-graph.ts: ~5x fewer ops per step), which keeps no padding in the cache.
 */
import type { RowLoraLayout } from '../adapters/row-lora.js';
import { rowMethodFeeds, type RowMethod } from '../adapters/row-methods.js';
import { GraftError } from '../errors.js';
import type { LoadedModel } from '../model.js';
import { plainWeights, type PackedBase, type WeightsFactory } from '../models/weights.js';
import type { DeviceInfo } from '../runtime/device.js';
import type { GraphSession } from '../runtime/session.js';
import { DeviceTensor, type Feed, type HostTensor } from '../runtime/tensors.js';
import { plainStepFeeds } from './plain-step-feeds.js';
import { fusedUnsupported, LAST_INDEX, NEXT_IDS, SEQLENS_K, TOTAL_LENGTH } from './fused-decode-graph.js';
import { rowArgmax } from './sampling.js';
import { DecoderCaches } from './decoder-caches.js';
import { DecoderLora } from './decoder-lora.js';
import { IdRing } from './id-ring.js';
import type { DecodePrecision } from './decode-precision.js';
import type { DecodeCapture } from './decode-capture.js';
import type { TopLogits } from './device-topk.js';
import type { SamplerMode } from './device-sampler.js';
import type { ChainDraws } from './sampler-capture.js';
import { DecodeSessions, prefillLength, type Mode } from './decode-sessions.js';

export interface KvDecoderOpts {
  device: DeviceInfo;
  rows: number;
  capacity: number;
  lora: RowLoraLayout | null;
  overrides?: ReadonlyMap<string, Float32Array>;
  weights?: WeightsFactory;
  /**
   * Use the fused graph (fused-decode-graph.ts) where it applies: fp32 weights or an int4 base,
   * head_dim a multiple of 8, and prompts of equal length (Graft's side-by-side rows always are). Default true; the
   * plain graph serves everything else.
   */
  fused?: boolean;
  /** Non-LoRA methods per row (DoRA, IA³, bottlenecks, BitFit): served by the plain graph only. */
  methods?: readonly RowMethod[];
  /** The fused graph's float precision on the GPU (gpu-forms.ts, fusedHalf); default 'auto'. */
  precision?: DecodePrecision;
}

export class KvDecoder {
  private readonly sessions: DecodeSessions;
  private readonly caches: DecoderCaches;
  private readonly lora: DecoderLora;
  /** The uncaptured greedy chain's ids, step to step on the device. */
  private readonly ids: IdRing;
  /**
   * The fused graph's caches are updated in place (and greedy steps chained) on WebGPU. On the CPU EP,
   * GroupQueryAttention given one buffer as past and present computed other logits than the plain graph
   * from the first (prefill) step on, while the same caches bound as fresh copies gave the right ones (its
   * shared-buffer path, not the binding), so there each step returns new caches, as before.
   * GRAFT_KV_IN_PLACE=0 turns it off on WebGPU too, to measure what it brings.
   */
  private get inPlace(): boolean {
    return this.opts.device.kind === 'webgpu' && process.env.GRAFT_KV_IN_PLACE !== '0';
  }
  /**
   * Decoding through a captured session (decode-capture.ts): the fused graph's prefill and every one-token
   * step, greedy or sampled, with caches in place, on WebGPU unless GRAFT_GRAPH_CAPTURE=0. Held from the
   * prefill that took it to dispose().
   */
  private held: { capture: DecodeCapture; done(): void } | null = null;
  private get capture(): DecodeCapture | null {
    return this.held?.capture ?? null;
  }
  private get captureWanted(): boolean {
    return this.inPlace && process.env.GRAFT_GRAPH_CAPTURE !== '0';
  }

  /** Which graph serves the current conversation (chosen at prefill). */
  mode: Mode = 'plain';
  /** Slots used so far (the same for every row). */
  length = 0;
  /** Leading padding slots of each row. */
  private pad: number[] = [];

  constructor(
    readonly model: LoadedModel,
    readonly opts: KvDecoderOpts,
  ) {
    this.sessions = new DecodeSessions(model, opts, () => this.inPlace);
    this.lora = new DecoderLora(model.spec, opts.lora, opts.device, () => this.capture, () => this.packed() !== null, () => this.sessions.half());
    this.caches = new DecoderCaches(model.spec, opts.rows, opts.capacity, opts.device, () => this.capture);
    this.ids = new IdRing(opts.rows, opts.device);
  }

  get capacity(): number {
    return this.opts.capacity;
  }

  /** Whether prompts of these lengths can run on the fused graph. */
  private fusedFits(prompts: readonly (readonly number[])[]): boolean {
    const o = this.opts;
    const plainFactory = !o.weights || o.weights === plainWeights;
    return o.fused !== false && !o.methods?.length && (plainFactory || this.packed() !== null) && fusedUnsupported(this.model.spec) === null && prompts.every((p) => p.length === prompts[0].length);
  }

  /** A quantized base the fused graph takes as it is (int4 projections), or null. */
  private packed(): PackedBase | null {
    return this.sessions.packed();
  }

  private session(tokens: number, ids = false): Promise<GraphSession> {
    return this.sessions.session(this.mode, tokens, ids ? 'ids' : 'logits');
  }

  /** Per-row adapter inputs (from rowLoraFeeds); uploaded once per graph kind, reused by every step. */
  setLora(feeds: Record<string, HostTensor>): Promise<void> {
    return this.lora.set(feeds);
  }

  /**
   * Starts over with one prompt per row; returns the last position's logits [rows, vocab]. The
   * prompt length is rounded up (prefillLength), but never into the `reserve` slots kept free for
   * the tokens still to be decoded.
   */
  prefill(prompts: readonly (readonly number[])[], reserve = 0, bucket = 16): Promise<Float32Array> {
    return this.prefillAs(prompts, reserve, bucket, false) as Promise<Float32Array>;
  }

  /**
   * Greedy decoding's prefill: each row's most likely next id. On the fused graph the argmax runs on
   * the device and only the ids come back (the logits' read-back is most of a small model's step);
   * the plain graph's logits are reduced here. Same ids as argmax over prefill()'s logits.
   */
  async prefillGreedy(prompts: readonly (readonly number[])[], reserve = 0, bucket = 16): Promise<Int32Array> {
    return this.idsOf(await this.prefillAs(prompts, reserve, bucket, true));
  }

  /** Greedy decoding's step: appends one token per row, returns each row's most likely next id. */
  async decodeGreedy(tokens: readonly number[]): Promise<Int32Array> {
    if (this.mode === 'fused') return this.idsOf(await this.runFused(tokens.map((t) => [t]), 1, true));
    return this.idsOf(await this.run(tokens.map((t) => [t])));
  }

  private idsOf(r: Float32Array | Int32Array): Int32Array {
    return r instanceof Int32Array ? r : rowArgmax(r, this.opts.rows, this.model.spec.vocab);
  }

  private async prefillAs(prompts: readonly (readonly number[])[], reserve: number, bucket: number, ids: boolean): Promise<Float32Array | Int32Array> {
    if (prompts.length !== this.opts.rows) throw new Error(`expected ${this.opts.rows} prompts, got ${prompts.length}`);
    const longest = Math.max(...prompts.map((p) => p.length));
    if (longest === 0) throw new GraftError('BAD_INPUT', 'empty prompt: nothing to condition on (a BOS token at least is needed)');
    const T = prefillLength(longest, bucket, this.opts.capacity - reserve);
    if (longest > T) throw new GraftError('BAD_INPUT', `prompt of ${longest} tokens exceeds the context of ${this.opts.capacity}`);
    this.length = 0;
    this.mode = this.fusedFits(prompts) ? 'fused' : 'plain';
    if (this.mode === 'fused' && this.captureWanted && !this.capture) await this.takeCapture(T);
    await this.caches.reset(this.sessions.cacheDtype(this.mode));
    if (this.mode === 'fused') {
      // No padding in the cache: tokens at slots 0..L-1, the bucket's tail is filler that the next decode overwrites.
      this.pad = prompts.map(() => 0);
      return this.runFused(prompts.map((p) => [...p, ...new Array(T - longest).fill(0)]), longest, ids);
    }
    this.pad = prompts.map((p) => T - p.length);
    const padded = prompts.map((p, b) => [...new Array(this.pad[b]).fill(0), ...p]);
    return this.run(padded);
  }

  /** Whether this conversation's graph runs in fp16 (the fused graph, gpu-forms.ts fusedHalf). */
  half(): boolean {
    return this.mode === 'fused' && this.sessions.half();
  }

  /** Whether this conversation decodes through a captured session (tests, benches). */
  captureReady(): boolean {
    return this.capture !== null;
  }

  /**
   * Takes the captured session of the fused graph with ids and logits as outputs (from the model's pool, opened
   * over the graph's saved files): it runs this conversation's prefill and steps, so no onnxruntime-node session
   * of a fused graph is made; its caches and adapter buffers become this decoder's. Left alone (the decoder runs as
   * before) when another decoder holds it or capture cannot be opened here.
   */
  private async takeCapture(T: number): Promise<void> {
    const lease = await this.sessions.capture(T, this);
    if (!lease) return;
    this.caches.dispose();
    await this.lora.dispose();
    this.held = lease;
    this.lora.intoCapture();
  }

  /** Appends one token per row; returns the new logits [rows, vocab]. */
  async decode(tokens: readonly number[]): Promise<Float32Array> {
    if (this.mode === 'fused') return this.runFused(tokens.map((t) => [t]), 1, false) as Promise<Float32Array>;
    return this.run(tokens.map((t) => [t]));
  }

  /**
   * decode()'s short form for sampling among each row's best: appends one token per row and returns each row's
   * `k` best logits with their ids, and all() for the same step's whole logits [rows, vocab]. Null where the step
   * is not replayed from a capture: decode() then.
   */
  async decodeTop(tokens: readonly number[], k: number): Promise<(TopLogits & { all(): Promise<Float32Array> }) | null> {
    const c = this.capture;
    if (!c || this.mode !== 'fused') return null;
    this.checkRoom(1);
    const top = await c.stepTop(tokens, this.length, this.model.spec.layers, await this.lora.for('fused'), k);
    this.length += 1;
    return { ...top, all: () => c.logitsNow() };
  }

  /** Rows of T tokens of which the first `real` are real; writes slots length..length+real-1 of every row. */
  private async runFused(rows: number[][], real: number, wantIds: boolean): Promise<Float32Array | Int32Array> {
    const T = rows[0].length;
    const ids = Int32Array.from(rows.flat());
    const out = await this.stepFused({ dtype: 'int32', shape: [this.opts.rows, T], data: ids }, T, real, wantIds);
    return wantIds ? ((out[NEXT_IDS] as HostTensor).data as Int32Array) : ((out.logits as HostTensor).data as Float32Array);
  }

  /**
   * One run of the fused graph over `input` ([rows, T] ids, on the host or the device). GroupQueryAttention
   * writes the new keys and values into the caches themselves (present bound to past: no copy of the
   * caches per step, no new buffers); the ids go to `idsInto` when given, else to the host.
   */
  private async stepFused(input: Feed, T: number, real: number, wantIds: boolean, idsInto?: Feed): Promise<Record<string, Feed>> {
    const B = this.opts.rows;
    const start = this.length;
    this.checkRoom(T);
    const positions = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) positions[b * T + t] = start + t;
    const feeds: Record<string, Feed> = {
      ...this.caches.tensors,
      ...(await this.lora.for('fused')),
      input_ids: input,
      positions: { dtype: 'int32', shape: [B, T], data: positions },
      // GQA sees the filler as real tokens (a plain first prompt of T, no padding for any kernel to
      // get right): attention is causal, so no real token attends to it, and decoding overwrites it.
      [SEQLENS_K]: { dtype: 'int32', shape: [B], data: new Int32Array(B).fill(start + T - 1) },
      [TOTAL_LENGTH]: { dtype: 'int32', shape: [], data: Int32Array.of(start + T) },
      [LAST_INDEX]: { dtype: 'int32', shape: [], data: Int32Array.of(real - 1) },
    };
    let out: Record<string, Feed>;
    if (this.capture && T === 1 && !idsInto && !(input instanceof DeviceTensor)) {
      // one step: replayed from the capture
      const r = await this.capture.step(Array.from(input.data as Int32Array), start, wantIds, this.model.spec.layers, await this.lora.for('fused'));
      out = wantIds ? { [NEXT_IDS]: { dtype: 'int32', shape: [B, 1], data: r } } : { logits: { dtype: 'float32', shape: [B, this.model.spec.vocab], data: r } };
    } else if (this.capture) out = this.capture.run(feeds, this.caches.boundOutputs(idsInto, NEXT_IDS), wantIds);
    else {
      const session = await this.session(T, wantIds);
      out = this.inPlace ? await session.run(feeds, this.caches.boundOutputs(idsInto, NEXT_IDS)) : await session.run(feeds);
    }
    if (!this.inPlace) this.caches.keep(out);
    this.length = start + real;
    return out;
  }

  /**
   * `n` greedy steps from `tokens`, each step's ids fed to the next where they were computed: on the
   * fused graph nothing is read back until all n ran, then one read brings every step's ids (a GPU
   * runs the steps back to back instead of waiting for the host after each). Same ids as n calls of
   * decodeGreedy; the plain graph makes those calls.
   */
  async decodeGreedyChain(tokens: readonly number[], n: number): Promise<Int32Array[]> {
    const steps: Int32Array[] = [];
    if (this.capture && this.mode === 'fused') {
      this.checkRoom(n);
      const out = await this.capture.chain(tokens, n, this.length, this.model.spec.layers, await this.lora.for('fused'));
      this.length += n;
      return out;
    }
    if (this.mode !== 'fused' || !this.inPlace || n === 1) {
      for (let i = 0, t = tokens; i < n; i++, t = Array.from(steps[i - 1])) steps.push(await this.decodeGreedy(t));
      return steps;
    }
    const B = this.opts.rows;
    const ring = await this.ids.take(n);
    let input: Feed = { dtype: 'int32', shape: [B, 1], data: Int32Array.from(tokens) };
    for (let i = 0; i < n; i++) {
      await this.stepFused(input, 1, 1, true, ring[i]);
      input = ring[i];
    }
    return this.ids.read(n);
  }

  /**
   * n sampled steps chained on the device (DecodeCapture.sampledChain, drawn by `mode` with `draws`): each step's ids. Null
   * where this decoder replays no capture or the sampler cannot run: the caller samples step by step.
   */
  async decodeSampledChain(tokens: readonly number[], n: number, mode: SamplerMode, draws: () => ChainDraws): Promise<Int32Array[] | null> {
    if (!this.capture || this.mode !== 'fused') return null;
    this.checkRoom(n);
    const out = await this.capture.sampledChain(tokens, n, this.length, this.model.spec.layers, await this.lora.for('fused'), mode, draws);
    if (out) this.length += n;
    return out;
  }

  /** Throws when T more tokens do not fit in the cache. */
  private checkRoom(T: number): void {
    const C = this.opts.capacity;
    if (this.length + T > C) throw new GraftError('BAD_INPUT', `the context is full (${C} tokens)`, { where: 'context' });
  }

  private async run(rows: number[][]): Promise<Float32Array> {
    const T = rows[0].length;
    const start = this.length;
    this.checkRoom(T);
    const s = await this.session(T);
    const out = await s.run({
      ...this.caches.tensors,
      ...(await this.lora.for('plain')),
      ...(this.opts.methods?.length ? rowMethodFeeds(this.opts.methods) : {}),
      ...plainStepFeeds({ spec: this.model.spec, capacity: this.opts.capacity, start, rows, pad: this.pad, methods: this.opts.methods ?? [] }),
    });
    this.caches.keep(out);
    this.length = start + T;
    return (out.logits as HostTensor).data as Float32Array;
  }

  async dispose(): Promise<void> {
    this.caches.dispose();
    this.ids.dispose();
    await this.lora.dispose();
    this.held?.done();
    this.held = null;
    // Sessions stay in the model's pool for the next generation.
    this.sessions.done();
  }
}

