/**
 * Generation for one or several variants (base and/or adapters, each with its scale) of one prompt,
 * in one batched decode: row b of every step is variant b. Streams text deltas per variant, stops on
 * EOS, stop strings or max tokens, and checks for cancellation before every step.
 */
import { layoutFor, rowLoraFeeds, type RowAdapter } from '../adapters/row-lora.js';
import type { RowMethod } from '../adapters/row-methods.js';
import { GraftError } from '../errors.js';
import type { LoadedModel } from '../model.js';
import type { WeightsFactory } from '../models/weights.js';
import type { DecodePrecision } from './decode-precision.js';
import type { DeviceInfo } from '../runtime/device.js';
import type { TextTokenizer } from '../tokenize/types.js';
import { KvDecoder } from './kv-decoder.js';
import { Sampler, type SamplingOpts, TOP_CANDIDATES } from './sampling.js';
import { penalized, samplerMode, samplerParams } from './device-sampler.js';
import type { ChainDraws } from './sampler-capture.js';
import { TextStream } from './text-stream.js';

/**
 * Steps run back to back on the device before their ids are read (KvDecoder.decodeGreedyChain, decodeSampledChain):
 * the k-th chain of a generation is 8 steps, doubled each chain up to `longest` (32; GRAFT_GREEDY_CHAIN sets it for
 * measurements, 1: a read after every step). A read drains the GPU, which then waits for the host to encode the next
 * step: at 0.5B a read after every step cost ~2 ms a step, and on an H200 chains of 32 decoded 8% faster than of 8
 * (session 23, docs/gpu-speed.md). Short chains first keep what longer ones cost where it shows: a reply's first
 * tokens reach the screen after 8 steps, and a short reply computes fewer steps past its end (a chain is cut
 * short only by maxTokens). A chain is also kept to what the last one decoded in CHAIN_BURST_MS (`stepMs`: its time a step),
 * never below 8 steps: tokens then reach the screen in bursts of at most ~0.15 s (32 steps at 0.5B's 4 ms a step; 15
 * at an 8B's 10 ms, where the read costs a smaller share of a chain). A captured chain, greedy or drawn on the device,
 * runs its steps in rounds over 8 captures (decode-capture.ts, CHAIN_SLOTS).
 */
export function chainLength(k: number, longest = greedyChainLongest(), stepMs = 0, burstMs = chainBurstMs()): number {
  const grown = Math.max(1, Math.min(longest, 8 * 2 ** Math.min(k, 8)));
  return stepMs > 0 && burstMs > 0 ? Math.min(grown, Math.max(Math.min(8, longest), Math.floor(burstMs / stepMs))) : grown;
}
const CHAIN_BURST_MS = 150;
/** CHAIN_BURST_MS, or GRAFT_CHAIN_BURST_MS (0: no cap; the tests' fixed chain lengths on a slow software GPU). */
const chainBurstMs = () => Math.max(0, Number(process.env.GRAFT_CHAIN_BURST_MS ?? CHAIN_BURST_MS) || 0);
const greedyChainLongest = () => Math.max(1, Math.floor(Number(process.env.GRAFT_GREEDY_CHAIN ?? 32)) || 32);

export type FinishReason = 'eos' | 'stop' | 'length' | 'cancelled';

export interface Variant {
  /** Adapters applied together on this row (empty = the base model). */
  adapters: RowAdapter[];
  /** A non-LoRA method on this row (DoRA, IA³, bottleneck, BitFit), applied with its LoRA adapters on top. */
  method?: Omit<RowMethod, 'rows'>;
}

export interface GenerateOpts {
  model: LoadedModel;
  device: DeviceInfo;
  tokenizer: TextTokenizer | null;
  prompt: number[];
  variants: Variant[];
  maxTokens: number;
  sampling?: SamplingOpts;
  stop?: string[];
  /**
   * Stop at the model's EOS tokens, at BOS, and at `endOfTurn` (default true). BOS counts as an end: a new
   * document never belongs inside a reply, and models that separate documents with BOS (llama2.c's) end
   * their text with it, as llama2.c's own sampler assumes.
   */
  stopAtEos?: boolean;
  /** The chat template's end-of-turn marker (see chatStops): ids and texts that end a reply with finish 'eos'. */
  endOfTurn?: { ids: number[]; texts: string[] };
  /** When prompt + maxTokens exceed the context: an error, or drop the oldest prompt tokens. */
  overflow?: 'error' | 'truncate';
  signal?: AbortSignal;
  onToken?: (variant: number, token: { id: number; text: string }) => void;
  /** Quantized base weights (the quant option); default fp32. */
  weights?: WeightsFactory;
  /** Replacement base tensors by HF name (a merged adapter). */
  overrides?: ReadonlyMap<string, Float32Array>;
  /** The fused decode graph where it applies (default true); false forces the plain graph. */
  fused?: boolean;
  /** The fused graph's float precision on the GPU (the generation option; default 'auto'). */
  precision?: DecodePrecision;
}

export interface VariantResult {
  ids: number[];
  text: string;
  finish: FinishReason;
  /** Time to first token and decode speed, for the UI and benchmarks. */
  ttftMs: number;
  tokensPerSecond: number;
}

/** Models whose fp16 decode overflowed here: 'auto' runs them in fp32 from then on. */
const halfOverflowed = new WeakSet<LoadedModel>();

/** Whether an fp16 decode of this model overflowed in this process ('auto' then decodes it in fp32). */
export function halfOverflowedOn(model: LoadedModel): boolean {
  return halfOverflowed.has(model);
}

/**
 * A step's logits were not finite: an fp16 decode overflowed (fp16 ends at 65,504), or the model itself is broken.
 * Greedy ids show it as an id past the vocabulary (the device argmax finds no maximum), and so do ids drawn by the
 * device sampler (device-sampler.ts draws V from a row that is not finite); the host's sampling, as NaN logits.
 */
class NonFiniteLogits extends Error {
  constructor(
    readonly step: number,
    readonly half: boolean,
  ) {
    super(`the logits were not finite at step ${step + 1}`);
  }
}

export async function generate(o: GenerateOpts): Promise<VariantResult[]> {
  const auto = (o.precision ?? 'auto') === 'auto';
  try {
    return await generateOnce(auto && halfOverflowed.has(o.model) ? { ...o, precision: 'fp32' } : o);
  } catch (err) {
    if (!(err instanceof NonFiniteLogits)) throw err;
    if (err.half && auto) {
      halfOverflowed.add(o.model);
      // nothing was handed out yet: the same generation in fp32
      if (err.step === 0) return generateOnce({ ...o, precision: 'fp32' });
    }
    // past the first step, text was handed out already: the caller hears why (and 'auto' decodes in fp32 next time)
    const why = !err.half ? '' : auto ? ': fp16 overflowed on this model, which decodes in fp32 from now on' : ': fp16 overflowed on this model; run it with {precision} fp32';
    throw new GraftError('UNSUPPORTED', `${err.message}${why}`, { where: `step ${err.step + 1}`, ...(err.half && !auto ? { field: 'precision' } : {}) });
  }
}

async function generateOnce(o: GenerateOpts): Promise<VariantResult[]> {
  const { spec } = o.model;
  const limit = spec.maxPositions;
  let prompt = o.prompt;
  if (prompt.length + o.maxTokens > limit) {
    if (o.overflow !== 'truncate') {
      throw new GraftError('BAD_INPUT', `prompt (${prompt.length} tokens) + max tokens (${o.maxTokens}) exceed the model's context of ${limit}`, { where: 'context' });
    }
    const keep = Math.max(1, limit - o.maxTokens);
    prompt = prompt.slice(prompt.length - keep);
  }
  const rows = o.variants.map((v) => v.adapters);
  const layout = layoutFor(rows);
  // Prefill pads the prompt to a multiple of 16; the first token comes from prefill, so maxTokens - 1 decode slots.
  // Capacities are powers of two (≥ 128) so that later generations find their sessions in the pool.
  const need = Math.ceil(prompt.length / 16) * 16 + o.maxTokens;
  const capacity = Math.min(limit, Math.max(128, 2 ** Math.ceil(Math.log2(need))));
  const methods: RowMethod[] = o.variants.flatMap((v, b) => (v.method ? [{ ...v.method, rows: o.variants.map((_, k) => k === b) }] : []));
  const dec = new KvDecoder(o.model, { device: o.device, rows: rows.length, capacity, lora: layout, weights: o.weights, overrides: o.overrides, fused: o.fused, methods, precision: o.precision });
  if (layout) await dec.setLora(rowLoraFeeds(spec, layout, rows));
  // Tokens present in each variant's text so far, grown as it generates (for the penalties).
  const seen = o.variants.map(() => new Set(prompt));
  const samplers = o.variants.map(() => new Sampler({ ...o.sampling }));
  const turnTexts = o.stopAtEos === false ? [] : (o.endOfTurn?.texts ?? []);
  const streams = o.variants.map(() => (o.tokenizer ? new TextStream(o.tokenizer, [...(o.stop ?? []), ...turnTexts]) : null));
  const bos = o.tokenizer ? o.tokenizer.bosId : spec.bosId;
  const eos = new Set(
    o.stopAtEos === false ? [] : [...spec.eosIds, ...(o.tokenizer?.eosIds ?? []), ...(bos === null ? [] : [bos]), ...(o.endOfTurn?.ids ?? [])],
  );
  const results: VariantResult[] = o.variants.map(() => ({ ids: [], text: '', finish: 'length', ttftMs: 0, tokensPerSecond: 0 }));
  const done = o.variants.map(() => false);
  const V = spec.vocab;
  // Plain greedy decoding needs only each row's argmax: the decoder then computes it on the device and
  // reads back ids instead of logits. Penalties change the argmax, so they take the logits path.
  const s = o.sampling ?? {};
  const greedy = (s.temperature ?? 1) <= 0 && (s.repetitionPenalty ?? 1) === 1 && (s.presencePenalty ?? 0) === 0;
  let logits: Float32Array = new Float32Array(0);
  let ids: Int32Array = new Int32Array(0);
  // Top-k sampling on a captured decode reads each row's best logits only (device-topk.ts), and the whole row
  // where those do not decide the draw (Sampler.sampleAmong); `top` is the step's, `logits` then read on demand.
  const candidates = !greedy && Sampler.decidedByBest(s) ? TOP_CANDIDATES : 0;
  let top: Awaited<ReturnType<KvDecoder['decodeTop']>> = null;
  // Sampling on a captured decode (top-k, plain temperature, greedy with penalties): steps chained as greedy ones,
  // each drawn on the device with the uniform its row's sampler would have drawn with (device-sampler.ts);
  // `chained`: this step's ids came from there.
  const drawMode = samplerMode(s, V);
  let onDevice = !greedy && drawMode !== null && process.env.GRAFT_DEVICE_SAMPLING !== '0';
  let chained = false;
  const draws = (n: number): ChainDraws => {
    const uniforms = Array.from({ length: n }, () => Float32Array.from(samplers, (x) => x.uniform()));
    const params = Float32Array.from(o.variants.flatMap(() => samplerParams(s)));
    let marks: Float32Array | null = null;
    if (penalized(s)) {
      marks = new Float32Array(o.variants.length * V);
      seen.forEach((set, b) => set.forEach((t) => t >= 0 && t < V && (marks![b * V + t] = 1)));
    }
    return { uniforms, params, seen: marks };
  };
  // Greedy ids of later steps, computed ahead of the loop. A live row's next input is its own greedy id,
  // which is what the chain fed; a finished row's ids are never read again.
  const ahead: Int32Array[] = [];
  const [longest, burstMs] = [greedyChainLongest(), chainBurstMs()];
  let chains = 0;
  let stepMs = 0;
  const chain = () => chainLength(chains++, longest, stepMs, burstMs);
  /** A chain's ids, and its time a step for the next chain's length. */
  const timed = async <T extends unknown[] | null>(run: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const got = await run();
    if (got?.length) stepMs = (performance.now() - t) / got.length;
    return got;
  };
  const pick = async (b: number): Promise<number> => {
    if (greedy || chained) return ids[b];
    if (top) {
      const best = top.logits.subarray(b * top.k, (b + 1) * top.k);
      if (best.some(Number.isNaN)) return -1;
      const id = samplers[b].sampleAmong(top.ids.subarray(b * top.k, (b + 1) * top.k), best, seen[b]);
      if (id !== null) return id;
      if (logits.length === 0) logits = await top.all();
    }
    const row = logits.subarray(b * V, (b + 1) * V);
    return row.some(Number.isNaN) ? -1 : samplers[b].sample(row, seen[b]);
  };
  const t0 = performance.now();
  let tFirst = t0;
  try {
    const prompts = rows.map(() => prompt);
    if (greedy) ids = await dec.prefillGreedy(prompts, o.maxTokens - 1);
    else logits = await dec.prefill(prompts, o.maxTokens - 1);
    for (let step = 0; step < o.maxTokens; step++) {
      if (o.signal?.aborted) {
        done.forEach((d, b) => !d && (results[b].finish = 'cancelled'));
        break;
      }
      const picked: number[] = [];
      for (let b = 0; b < o.variants.length; b++) picked.push(done[b] ? -1 : await pick(b));
      if (picked.some((id, b) => !done[b] && !(id >= 0 && id < V))) throw new NonFiniteLogits(step, dec.half());
      const next = o.variants.map((_, b) => {
        if (done[b]) return results[b].ids.at(-1) ?? 0;
        const id = picked[b];
        if (eos.has(id)) {
          done[b] = true;
          results[b].finish = 'eos';
          return id;
        }
        results[b].ids.push(id);
        seen[b].add(id);
        const text = streams[b]?.push(id) ?? '';
        const stopped = streams[b]?.stopped;
        if (stopped != null) {
          done[b] = true;
          results[b].finish = turnTexts.includes(stopped) && !(o.stop ?? []).includes(stopped) ? 'eos' : 'stop';
        }
        o.onToken?.(b, { id, text });
        return id;
      });
      if (step === 0) tFirst = performance.now();
      if (done.every(Boolean) || step + 1 === o.maxTokens) break;
      if (greedy) {
        // Steps computed ahead (decodeGreedyChain): never past maxTokens, so never past the reserved slots.
        if (!ahead.length) ahead.push(...(await timed(() => dec.decodeGreedyChain(next, Math.min(chain(), o.maxTokens - 1 - step)))));
        ids = ahead.shift()!;
      } else {
        if (onDevice && !ahead.length) {
          const n = Math.min(chain(), o.maxTokens - 1 - step);
          // the uniforms are taken only once the sampler runs: a fallback draws on the host with the same ones
          const got = await timed(() => dec.decodeSampledChain(next, n, drawMode!, () => draws(n)));
          if (got) ahead.push(...got);
          else onDevice = false;
        }
        chained = ahead.length > 0;
        if (chained) ids = ahead.shift()!;
        else {
          top = candidates ? await dec.decodeTop(next, candidates) : null;
          logits = top ? new Float32Array(0) : await dec.decode(next);
        }
      }
    }
  } finally {
    await dec.dispose();
  }
  const t1 = performance.now();
  results.forEach((r, b) => {
    const s = streams[b];
    if (s) {
      const rest = s.flush();
      if (rest) o.onToken?.(b, { id: -1, text: rest });
      r.text = s.text;
    }
    r.ttftMs = tFirst - t0;
    r.tokensPerSecond = r.ids.length > 1 ? (r.ids.length - 1) / ((t1 - tFirst) / 1000) : 0;
  });
  return results;
}
