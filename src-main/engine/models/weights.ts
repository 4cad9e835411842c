/**
 * Base weights as graph initializers. Arrays read from the model file are cached per source, so
 * several graphs of one model (train step, prefill, decode) read each tensor from disk once.
 */
import type { DType, Graph, Value } from '../graph/ir.js';
import { withOrigin } from '../graph/weight-origin.js';
import type { WeightSource } from '../io/model-source.js';
import { sourceStamp } from '../io/source-stamp.js';
import { f32OnThreads, type RawLocation } from '../io/weight-threads.js';
import { constant } from '../ops/consts.js';
import { greater, max, min, sub, where } from '../ops/elementwise.js';
import { gather } from '../ops/gather.js';
import { gemm } from '../ops/matmul.js';
import { concat, reshape } from '../ops/shape.js';

/**
 * fp32 tables (embeddings, LM head) larger than this are held as row chunks. ORT's WebGPU EP binds a
 * tensor larger than the device's storage-binding range as several segments, and a shader takes at most
 * 16 storage buffers: Llama-3.1-8B's 2.1 GB table is 17 segments at lavapipe's 128 MiB ranges and its
 * Gather is refused ("Too many storage buffers in shader"). 1 GiB chunks stay at 8 segments at most.
 * Mutable for tests, which check the chunked graphs against whole tables at a small size.
 */
export const tableChunking = { bytes: 2 ** 30 };

const hostCache = new WeakMap<WeightSource, Map<string, Float32Array>>();

/**
 * Lets go of the arrays read for graphs of this source once their sessions hold the weights: ORT has
 * its own copy, and a later graph re-reads from the file (and finds its weight files in the cache).
 */
export function releaseHostWeights(source: WeightSource): void {
  hostCache.delete(source);
  scratch = null;
}

/** Tensors up to this size are read through one reused buffer by readTransient (an 8B model's largest projection is 235 MB). */
const SCRATCH_MAX_BYTES = 256 * 2 ** 20;
let scratch: Float32Array | null = null;

/**
 * Tensor `name` as float32 for immediate use only (encoding it, laying it out): read into one buffer reused
 * tensor after tensor where the source can, so building a graph of a multi-GB model neither keeps the
 * float32 copies nor pages in fresh memory for each (the first-start time of issues 12 and 13). The array
 * is overwritten by the next call; one already read for graphs (readWeight) is returned as it is.
 */
export function readTransient(source: WeightSource, name: string): Float32Array {
  const cached = hostCache.get(source)?.get(name);
  if (cached) return cached;
  const n = source.shape(name).reduce((a, b) => a * b, 1);
  if (!source.readF32Into || n * 4 > SCRATCH_MAX_BYTES) return source.readF32(name);
  if (!scratch || scratch.length < n) scratch = new Float32Array(n);
  return source.readF32Into(name, scratch) ?? source.readF32(name);
}

export function readWeight(source: WeightSource, name: string): Float32Array {
  let m = hostCache.get(source);
  if (!m) hostCache.set(source, (m = new Map()));
  let w = m.get(name);
  if (!w) m.set(name, (w = readOnThreads(source, name) ?? source.readF32(name)));
  return w;
}

/** Values from which a table is read by the weight threads (readOnThreads). */
export const THREADED_TABLE_MIN = 1 << 22;

/**
 * Where the weight threads read the matrix `name` from: its place in the model file when it has at least `min`
 * values and no override replaces it, else null (the calling thread reads it). The builds and the first start's
 * read-ahead (resident-weights.ts) ask the same question, so whatever is read ahead is what a build asks for.
 */
export function threadedLocation(source: WeightSource, name: string, min: number, overrides?: ReadonlyMap<string, Float32Array>): RawLocation | null {
  const shape = source.shape(name);
  if (shape.length !== 2 || shape[0] * shape[1] < min || overrides?.has(name)) return null;
  return source.rawLocation?.(name) ?? null;
}

/** A big table (an embedding, an LM head: 0.5–2 GB) read by the weight threads, each its rows; null where they cannot. */
function readOnThreads(source: WeightSource, name: string): Float32Array | null {
  const loc = threadedLocation(source, name, THREADED_TABLE_MIN);
  if (!loc) return null;
  const [rows, inDim] = source.shape(name);
  return f32OnThreads(loc, rows, inDim);
}

/**
 * The origin (graph/weight-origin.ts) of tensor `name` of the source's own files with `transform`
 * applied, or null for a replaced tensor or a source with no files to stamp. The stamp is taken afresh
 * (a few stats), as the graph cache's keys take it: a model file changed meanwhile names new files.
 */
export function weightOrigin(source: WeightSource, name: string, transform: string, overrides?: ReadonlyMap<string, unknown>): string | null {
  if (overrides?.has(name)) return null;
  try {
    return `${sourceStamp(source)}|${name}|${transform}`;
  } catch {
    return null;
  }
}

/** Makes the weights object of a graph: plain fp32 initializers, or a quantized subclass (QLoRA). */
/**
 * How base weights enter a graph. `cacheName` names a factory whose graphs depend on nothing but the
 * model's files (so a saved graph can be found again by key); factories holding computed data (a
 * quantized base) have none.
 */
export type WeightsFactory = ((g: Graph, source: WeightSource, dtype: DType, overrides?: ReadonlyMap<string, Float32Array>) => GraphWeights) & {
  cacheName?: string;
  /** A quantized base the fused decode graph can take as it is (infer/fused), or null when it cannot. */
  packed?: (source: WeightSource) => PackedBase | null;
};

/** One projection in MatMulNBits' layout (blocks of 32 along K): 4-bit codes [N, blocks, 16] or 8-bit [N, blocks, 32]. */
export interface PackedLinear {
  bits: 4 | 8;
  shape: [number, number];
  b: Uint8Array;
  scalesF16: Uint16Array;
  zeroPoints: Uint8Array;
}

/** A quantized base as the fused decode graph reads it: packed projections by HF name, and the tables it replaces (fp16-rounded embeddings). */
export interface PackedBase {
  linear: ReadonlyMap<string, PackedLinear>;
  tables: ReadonlyMap<string, Float32Array>;
}

export const plainWeights: WeightsFactory = Object.assign((g: Graph, source: WeightSource, dtype: DType, overrides?: ReadonlyMap<string, Float32Array>) => new GraphWeights(g, source, dtype, overrides), { cacheName: 'fp32' });

export class GraphWeights {
  private readonly values = new Map<string, Value>();

  constructor(
    readonly g: Graph,
    readonly source: WeightSource,
    readonly dtype: DType = 'float32',
    /** Replacements for some tensors (e.g. merged weights), by HF name. */
    readonly overrides: ReadonlyMap<string, Float32Array> = new Map(),
  ) {}

  has(name: string): boolean {
    return this.overrides.has(name) || this.source.has(name);
  }

  get(name: string): Value {
    let v = this.values.get(name);
    if (!v) {
      const f32 = this.overrides.get(name) ?? readWeight(this.source, name);
      const data = this.dtype === 'float64' ? Float64Array.from(f32) : f32;
      withOrigin(data, weightOrigin(this.source, name, this.dtype, this.overrides), this.dtype);
      v = this.g.init(name, { dtype: this.dtype, shape: this.source.shape(name), data });
      this.values.set(name, v);
    }
    return v;
  }

  /**
   * x·Wᵀ (+ bias) for a base projection weight stored [out, in]. Subclasses holding quantized
   * weights override this (MatMulNBits, or dequantize-then-Gemm) and keep the same contract.
   */
  linear(x: Value, name: string, bias: Value | null): Value {
    return gemm(this.g, x, this.get(name), bias, { transB: true });
  }

  /** Embedding rows of ids [B, T] → [B, T, D]; a subclass holding an 8-bit table overrides it. */
  embed(ids: Value): Value {
    const name = 'model.embed_tokens.weight';
    const chunks = this.tableChunks(name);
    if (!chunks) return gather(this.g, this.get(name), ids);
    // Each chunk gathers the ids clamped into its rows; a later chunk's rows replace earlier ones where id ≥ its first row.
    const g = this.g;
    const int = (x: number) => constant(g, ids.dtype, [], [x]);
    let out: Value | null = null;
    for (const c of chunks) {
      const local = min(g, max(g, sub(g, ids, int(c.first)), int(0)), int(c.rows - 1));
      const rows = gather(g, c.value, local);
      out = out ? where(g, reshape(g, greater(g, ids, int(c.first - 1)), [...ids.shape, 1]), rows, out) : rows;
    }
    return out!;
  }

  /** Logits [N, V] of hidden [N, D] through `name` (the LM head, or the tied embedding). */
  head(hidden: Value, name: string): Value {
    const chunks = this.tableChunks(name);
    if (!chunks) return gemm(this.g, hidden, this.get(name), null, { transB: true });
    return concat(this.g, chunks.map((c) => gemm(this.g, hidden, c.value, null, { transB: true })), -1);
  }

  private readonly chunks = new Map<string, { value: Value; first: number; rows: number }[] | null>();
  /** The table as row chunks (views of one host array, each its own initializer) when it is over `tableChunking.bytes`. */
  private tableChunks(name: string): { value: Value; first: number; rows: number }[] | null {
    if (this.chunks.has(name)) return this.chunks.get(name)!;
    const [V, D] = this.source.shape(name);
    let r: { value: Value; first: number; rows: number }[] | null = null;
    if (this.dtype === 'float32' && V * D * 4 > tableChunking.bytes) {
      const f32 = this.overrides.get(name) ?? readWeight(this.source, name);
      const per = Math.ceil(V / Math.ceil((V * D * 4) / tableChunking.bytes));
      r = [];
      for (let first = 0; first < V; first += per) {
        const rows = Math.min(per, V - first);
        const data = withOrigin(f32.subarray(first * D, (first + rows) * D), weightOrigin(this.source, name, `float32.rows${first}+${rows}`, this.overrides), 'float32');
        r.push({ value: this.g.init(`${name}.rows${first}`, { dtype: 'float32', shape: [rows, D], data }), first, rows });
      }
    }
    this.chunks.set(name, r);
    return r;
  }
}
