/**
 * Which graphs a KvDecoder runs, and where their sessions come from: the model's pool (session-pool.ts) for
 * onnxruntime-node sessions, and for a captured decode (decode-capture.ts) the pool's captured session over
 * the same saved graph. Each graph is named by a pool key (everything it depends on) and, where its weights
 * are the model's own or a named quantized store's, a cache key under which a later start finds its files.
 */
import type { Graph } from '../graph/ir.js';
import { rowMethodsKey } from '../adapters/row-methods.js';
import { sourceStamp } from '../io/source-stamp.js';
import type { LoadedModel } from '../model.js';
import { releaseHostWeights, type PackedBase } from '../models/weights.js';
import { GraphSession } from '../runtime/session.js';
import { buildDecodeGraph } from './decode-graph.js';
import { leaseCapture } from './capture-lease.js';
import type { DecodeCapture } from './decode-capture.js';
import { buildFusedDecodeGraph, NEXT_IDS } from './fused-decode-graph.js';
import { fusedHalf, gpuForms } from './fused/gpu-forms.js';
import type { KvDecoderOpts } from './kv-decoder.js';
import { identityOf, leaseSession, type SessionLease } from './session-pool.js';

export type Mode = 'plain' | 'fused';
/** What the graph ends in: the ids (greedy), the logits (sampling), or both (the captured graph serves either). */
export type Ends = 'ids' | 'logits' | 'both';

export class DecodeSessions {
  private leases = new Map<string, SessionLease>();
  private packedBase: PackedBase | null | undefined;

  constructor(
    private readonly model: LoadedModel,
    private readonly opts: KvDecoderOpts,
    /** Whether fused steps bind their caches in place (the decoder decides; see KvDecoder.inPlace). */
    private readonly inPlace: () => boolean,
  ) {}

  /** A quantized base the fused graph takes as it is (int4 projections), or null. */
  packed(): PackedBase | null {
    if (this.packedBase === undefined) this.packedBase = this.opts.weights?.packed?.(this.model.source) ?? null;
    return this.packedBase;
  }

  /** Whether the fused graph runs in fp16 (gpu-forms.ts, fusedHalf: the precision option, the device, the base). */
  half(): boolean {
    const o = this.opts;
    return fusedHalf(o.precision ?? 'auto', o.device, this.packed() !== null);
  }

  /** The KV caches' type in a graph of this mode: fp16 where the fused graph runs in fp16. */
  cacheDtype(mode: Mode): 'float32' | 'float16' {
    return mode === 'fused' && this.half() ? 'float16' : 'float32';
  }

  /** The graph a step of `tokens` runs (its pool key, its cache key when it has one, how to build it). */
  spec(mode: Mode, tokens: number, ends: Ends, oneToken = false): { key: string; cacheKey: string | null; build: () => Graph } {
    const ids = ends !== 'logits';
    const { rows, capacity, lora, device, weights, overrides, methods } = this.opts;
    const layout = (lora ? `${lora.rank}:${lora.targets.join(',')}` : '-') + (methods?.length ? `+${rowMethodsKey(methods)}` : '');
    // The fused graph takes any number of tokens per step: one session serves prefill and decode.
    const fused = mode === 'fused';
    const weightsName = weights ? (weights.cacheName ?? `w${identityOf(weights)}`) : 'fp32';
    const forms = gpuForms(device);
    const half = fused && this.half();
    const key = [
      mode,
      fused ? (oneToken ? 'one' : 'any') : tokens,
      rows,
      capacity,
      layout,
      device.kind,
      weightsName,
      identityOf(overrides),
      { ids: 'argmax', logits: 'logits', both: 'argmax+logits' }[ends],
      fused && this.inPlace() ? 'bound' : 'kept',
      fused ? forms.key : '',
      half ? 'f16' : '',
    ].join('|');
    // Graphs of the model's own weights, or of a quantized store named by its cache file, are saved under
    // a key (a later start loads them as they are); merged overrides and unnamed stores are built each time.
    const cacheable = !overrides && !methods?.length && (!weights || weights.cacheName);
    const o = { spec: this.model.spec, source: this.model.source, batch: rows, tokens, capacity, lora, overrides };
    return {
      key,
      cacheKey: cacheable ? `decode|${sourceStamp(this.model.source)}|${JSON.stringify(this.model.spec)}|${key}` : null,
      build: () =>
        fused
          ? buildFusedDecodeGraph({
              ...o,
              argmax: ids,
              logitsToo: ends === 'both',
              anyLength: !oneToken,
              tokens: oneToken ? 1 : tokens,
              packed: this.packed(),
              splitK: forms.splitK,
              splitKAll: forms.splitKAll,
              loraSplitK: forms.loraSplitK,
              argmaxParts: forms.argmaxParts,
              padStream: forms.padStream,
              half,
              nbitsFusion: forms.nbitsFusion,
            })
          : buildDecodeGraph({ ...o, weights, methods }),
    };
  }

  /** An onnxruntime-node session for the graph, from the model's pool (built on a miss). */
  session(mode: Mode, tokens: number, ends: 'ids' | 'logits'): Promise<GraphSession> {
    const { key, cacheKey, build } = this.spec(mode, tokens, ends);
    let lease = this.leases.get(key);
    if (!lease) {
      lease = leaseSession(this.model, key, () => {
        const keep = (n: string) => n !== 'logits' && n !== NEXT_IDS;
        // The fused graph's outputs are bound by each run (its caches in place, its ids where the step says).
        const so =
          mode === 'fused' && this.inPlace()
            ? { device: this.opts.device, bindOutputs: true }
            : { device: this.opts.device, keepOnDevice: keep };
        const made = cacheKey ? GraphSession.createCached(cacheKey, build, so) : GraphSession.create(build(), so);
        return made.finally(() => releaseHostWeights(this.model.source));
      });
      this.leases.set(key, lease);
    }
    return lease.session;
  }

  /**
   * The captured session of the fused graph with ids and logits as outputs, held by `owner` until done(); null
   * when another decoder holds it or capture cannot be opened here (leaseCapture).
   */
  capture(tokens: number, owner: object): Promise<{ capture: DecodeCapture; done(): void } | null> {
    const { key, cacheKey, build } = this.spec('fused', tokens, 'both');
    const one = this.oneTokenSteps() ? this.spec('fused', 1, 'both', true) : null;
    return leaseCapture(
      this.model,
      { ...this.opts, cacheDtype: this.cacheDtype('fused') },
      `capture|${key}${one ? '|one' : ''}`,
      // opened over the staged files while they are made durable (as onnxruntime-node sessions are); the steps'
      // one-token graph, where there is one, inside (its weights are the any-length graph's own files)
      (open) =>
        GraphSession.openSaved(cacheKey, build, (ref, timing) =>
          one ? GraphSession.openSaved(one.cacheKey, one.build, (oneRef, oneTiming) => open(ref, timing, { ref: oneRef, timing: oneTiming })).then((s) => s.value) : open(ref, timing),
        )
          .then((s) => s.value)
          .finally(() => releaseHostWeights(this.model.source)),
      owner,
    );
  }

  /**
   * Whether the captured steps replay a one-token graph of static shapes beside the any-length one (one row, a float
   * base on the GPU): its split-K inputs need no transpose (fused-decode-graph.ts, oneRow), and both read one copy of
   * the weights (runtime/shared-weights.ts). Opt-in, GRAFT_ONE_TOKEN=1: on the H200 (session 24's call D) it decoded
   * one row 5-6% faster at 0.5B and 1.5B and 23% at 135M, but its 1.5B first start from an empty graph cache gave no
   * result within 60 s (no GPU memory taken meanwhile: stuck before the upload; likely the one-token graph's stage
   * writing the weights a second time while the any-length graph's stage was made durable, as its weights are not in
   * the cache until that commits) and its process held 1.3 GB more GPU memory than the any-length graph's (perhaps the
   * upload's staging, in parts of 512 MB). Neither was measured again.
   */
  private oneTokenSteps(): boolean {
    return this.opts.rows === 1 && this.opts.device.kind === 'webgpu' && this.packed() === null && process.env.GRAFT_ONE_TOKEN === '1';
  }

  /** Returns the sessions to the pool (they stay there for the next generation). */
  done(): void {
    for (const l of this.leases.values()) l.done();
    this.leases.clear();
  }
}

/**
 * The token count a prefill runs at: the prompt's length rounded up to a power of two, at least
 * `bucket`, at most `limit` (never below the prompt). Few distinct lengths mean few sessions on the
 * plain graph and, on the WebGPU EP, few distinct buffer sizes: its buffer cache (session.ts) keeps
 * one set of buffers per size while any session lives, so lengths rounded to multiples of 16
 * would leave a set behind for every 16 tokens of prompt a conversation ever had.
 */
export function prefillLength(longest: number, bucket: number, limit: number): number {
  const rounded = Math.max(bucket, 2 ** Math.ceil(Math.log2(Math.max(1, longest))));
  return Math.max(longest, Math.min(rounded, limit));
}
