/**
 * QLoRA's frozen base: a GraphWeights whose attention and MLP projections are 4-bit (NF4 or int4).
 * Embeddings and the LM head keep fp16 precision: their values are rounded to fp16 but stay fp32
 * initializers, because the engine computes in fp32 and an fp16 table + Cast would hold a transient
 * fp32 copy of the whole table from the LM head's forward to its backward (more peak memory than
 * fp32 storage, and a full-table Cast per decoded token). With an 8-bit table in the store (the
 * `embeddings: 'int8'` option) the lookup gathers and dequantizes only the rows it needs and the LM
 * head is a bits = 8 MatMulNBits, so neither ever holds the table in fp32.
 * With `half` (an fp16 step, the GPU's fast path) each projection's weight is dequantized to fp16 and
 * multiplied in fp16 by MatMul, as the fp16 LoRA step's weights are (models/half-weights.ts); the fp16
 * weight is made again in the backward (ops/recompute.ts), so one layer's fp16 weight exists at a time.
 */
import { GraftError } from '../errors.js';
import type { DType, Graph, Value } from '../graph/ir.js';
import { encodeF16, f16ToF32, f32ToF16 } from '../io/half.js';
import type { WeightSource } from '../io/model-source.js';
import { laidOutHead } from '../models/half-weights.js';
import { GraphWeights, tableChunking, type PackedBase, type PackedLinear, type WeightsFactory } from '../models/weights.js';
import * as op from '../ops/index.js';
import { int4DequantGraph, linearOfRecomputed, matMulNBits, recomputable, type Int4Values } from '../ops/quant-linear.js';
import { withTranspose } from '../ops/recompute.js';
import { nf4AbsmaxHalf, nf4DequantGraph, nf4HalfDequantGraph } from './graph-ops.js';
import type { Int4Tensor } from './int4.js';
import { INT8_BLOCK, type Int8Tensor } from './int8.js';
import { NF4_ABSMAX_BLOCK, NF4_BLOCK, type Nf4Tensor } from './nf4.js';

export type { EmbeddingPrecision, QuantMethod, QuantScheme } from './kinds.js';
export type QuantTensor = Nf4Tensor | Int4Tensor | Int8Tensor;
/** Quantized projection weights by HF name. */
export type QuantStore = ReadonlyMap<string, QuantTensor>;

/** The base weights QLoRA quantizes: every attention and MLP projection. */
export const QUANTIZED_LINEAR = /^model\.layers\.\d+\.(self_attn\.(?:[qkvo]|qkv)_proj|mlp\.(gate|up|down|gate_up)_proj)\.weight$/;
export const EMBEDDING_TABLES = ['model.embed_tokens.weight', 'lm_head.weight'];

const halfCache = new WeakMap<WeightSource, Map<string, Float32Array>>();

/** The tensor's values rounded to the nearest fp16 (what an fp16 copy of it would hold). */
export function roundedToF16(source: WeightSource, name: string): Float32Array {
  let m = halfCache.get(source);
  if (!m) halfCache.set(source, (m = new Map()));
  let r = m.get(name);
  // Read uncached: the engine's host cache would otherwise keep the fp32 original beside the rounded copy.
  if (!r) {
    r = source.readF32(name);
    // In place, in a loop: TypedArray.from(x, fn) would first collect a JS array as long as the vocabulary table.
    for (let i = 0; i < r.length; i++) r[i] = f16ToF32(f32ToF16(r[i]));
    m.set(name, r);
  }
  return r;
}

const HALF_FORWARD = process.env.GRAFT_QLORA_FORWARD === 'gemm' ? 'gemm' : 'matmul';

export class QuantWeights extends GraphWeights {
  private readonly quantValues = new Map<string, (x: Value) => Value>();
  /** The fp16 step's LM head table laid out [D, V] (laidOutHead), as the fp16 LoRA step's is. */
  private readonly laidOutTables = new Map<string, Value>();

  constructor(
    g: Graph,
    source: WeightSource,
    dtype: DType,
    overrides: ReadonlyMap<string, Float32Array>,
    readonly store: QuantStore,
    readonly half = false,
  ) {
    if (dtype !== 'float32') throw new GraftError('UNSUPPORTED', `quantized base weights compute in float32, not ${dtype}`);
    const withHalf = new Map(overrides);
    for (const n of EMBEDDING_TABLES) if (!withHalf.has(n) && !store.has(n) && source.has(n)) withHalf.set(n, roundedToF16(source, n));
    super(g, source, dtype, withHalf);
    // ORT's constant folding would expand every packed weight to fp32 at session creation.
    g.keepConstantsPacked = true;
  }

  override linear(x: Value, name: string, bias: Value | null): Value {
    const t = this.store.get(name);
    if (!t || t.scheme === 'int8' || this.overrides.has(name)) return super.linear(x, name, bias);
    let mm = this.quantValues.get(name);
    if (!mm) this.quantValues.set(name, (mm = this.half ? this.halfLinear(name, t) : t.scheme === 'int4' ? this.int4(name, t) : this.nf4(name, t)));
    const y = mm(x);
    return bias ? op.add(this.g, y, bias) : y;
  }

  override embed(ids: Value): Value {
    const name = 'model.embed_tokens.weight';
    const half = this.halfTable(name);
    // the same fp16-rounded values as the fp32 table's, looked up in half the bytes
    if (half) return op.cast(this.g, op.gather(this.g, half, ids), 'float32');
    const t = this.store.get(name);
    if (t?.scheme !== 'int8' || this.overrides.has(name)) return super.embed(ids);
    // Rows of the 8-bit table: gather codes, zero points and scales of the ids, dequantize only those.
    const g = this.g;
    const q = this.int8Values(name, t);
    const [V, H] = t.shape;
    const nb = q.b.shape[1];
    const rows = (v: Value, dt: 'float32') => op.cast(g, op.gather(g, v, ids), dt);
    const codes = rows(q.b, 'float32'); // [B, T, nb, 32]
    const zp = rows(op.reshape(g, q.zeroPoints, [V, nb, 1]), 'float32');
    const scale = rows(op.reshape(g, q.scales16, [V, nb, 1]), 'float32');
    const w = op.reshape(g, op.mul(g, op.sub(g, codes, zp), scale), [...ids.shape, nb * INT8_BLOCK]);
    return H === nb * INT8_BLOCK ? w : op.slice(g, w, -1, 0, H);
  }

  override head(hidden: Value, name: string): Value {
    const half = this.halfTable(name);
    // Rows of hidden times the [V, D] fp16 table as it is stored; the backward's dX = dY·E is a MatMul over it.
    if (half) return op.cast(this.g, op.gemm(this.g, op.cast(this.g, hidden, 'float16'), half, null, { transB: true }), 'float32');
    const t = this.store.get(name);
    // With `half` the fp16-rounded table is laid out [D, V] for a MatMul: the EP's Gemm with transB took 2× as long over the 0.5B head.
    if (t?.scheme !== 'int8' || this.overrides.has(name)) return (this.half ? laidOutHead(this, this.laidOutTables, hidden, name) : null) ?? super.head(hidden, name);
    const q = this.int8Values(name, t);
    return matMulNBits(this.g, hidden, q, t.shape[0], t.shape[1], 8);
  }

  private readonly halfTables = new Map<string, Value | null>();
  /**
   * With `half`, a table too big for one fp32 buffer (over tableChunking.bytes: Llama-3.1-8B's 128,256 × 4,096
   * are 2.1 GB each) is held in fp16, one buffer, instead of fp32 row chunks: its values are fp16-rounded
   * already, so the lookup is exact, and the head multiplies in fp16 as the projections do. An 8B model's
   * two tables drop from 4.2 GB to 2.1 GB. Smaller tables stay fp32 (laidOutHead's [D, V] MatMul is faster).
   */
  private halfTable(name: string): Value | null {
    if (!this.half || this.store.has(name) || !this.overrides.has(name)) return null;
    if (this.halfTables.has(name)) return this.halfTables.get(name)!;
    const [V, D] = this.source.shape(name);
    let v: Value | null = null;
    if (V * D * 4 > tableChunking.bytes && V * D * 2 <= tableChunking.bytes) {
      const bytes = encodeF16(this.overrides.get(name)!);
      v = this.g.init(`${name}.f16`, { dtype: 'float16', shape: [V, D], data: new Uint16Array(bytes.buffer, bytes.byteOffset, V * D) });
    }
    this.halfTables.set(name, v);
    return v;
  }

  private readonly int8Cache = new Map<string, Int4Values & { scales16: Value }>();
  private int8Values(name: string, t: Int8Tensor): Int4Values & { scales16: Value } {
    let q = this.int8Cache.get(name);
    if (!q) {
      const g = this.g;
      const [N] = t.shape;
      const nb = t.scalesF16.length / N;
      const scales16 = g.init(`${name}.scales_f16`, { dtype: 'float16', shape: [N * nb], data: t.scalesF16 });
      const castScales = () => op.cast(g, scales16, 'float32');
      q = {
        b: g.init(`${name}.q8`, { dtype: 'uint8', shape: [N, nb, INT8_BLOCK], data: t.b }),
        scales16,
        scales: recomputable(castScales(), castScales),
        zeroPoints: g.init(`${name}.zero_points`, { dtype: 'uint8', shape: [N * nb], data: t.zeroPoints }),
      };
      this.int8Cache.set(name, q);
    }
    return q;
  }

  private readonly int4Cache = new Map<string, Omit<Int4Values, 'scales'> & { scales16: Value }>();
  private int4Values(name: string, t: Int4Tensor): Omit<Int4Values, 'scales'> & { scales16: Value } {
    let q = this.int4Cache.get(name);
    if (!q) {
      const g = this.g;
      const nb = t.scalesF16.length / t.shape[0];
      q = {
        b: g.init(`${name}.q4`, { dtype: 'uint8', shape: [t.shape[0], nb, 16], data: t.b }),
        scales16: g.init(`${name}.scales_f16`, { dtype: 'float16', shape: [t.scalesF16.length], data: t.scalesF16 }),
        zeroPoints: g.init(`${name}.zero_points`, { dtype: 'uint8', shape: [t.zeroPoints.length], data: t.zeroPoints }),
      };
      this.int4Cache.set(name, q);
    }
    return q;
  }

  private int4(name: string, t: Int4Tensor): (x: Value) => Value {
    const { b, scales16, zeroPoints } = this.int4Values(name, t);
    const castScales = () => op.cast(this.g, scales16, 'float32');
    const q: Int4Values = { b, scales: recomputable(castScales(), castScales), zeroPoints };
    return (x) => matMulNBits(this.g, x, q, t.shape[0], t.shape[1]);
  }

  /**
   * x·Wᵀ in fp16 over W dequantized to fp16 once x exists (and again for the backward's dX = dY·W, a
   * MatMul). The forward is a MatMul over a Transpose of W (the EP's MatMul runs 2.2–2.7× the rate of its
   * Gemm with transB, the transpose is one pass over the weight), or with GRAFT_QLORA_FORWARD=gemm a Gemm
   * with transB: 184.4 against 205.0 ms for the 0.5B 1×512 step in one H200 call (docs/gpu-speed.md, fifth pass).
   */
  private halfLinear(name: string, t: Nf4Tensor | Int4Tensor): (x: Value) => Value {
    const g = this.g;
    const dequant = (dep: Value): Value => {
      if (t.scheme === 'nf4') {
        const { codes, absmax16 } = this.nf4HalfValues(name, t);
        return nf4HalfDequantGraph(g, codes, absmax16, t.shape, dep);
      }
      const { b, scales16, zeroPoints } = this.int4Values(name, t);
      return int4DequantGraph(g, { b, scales: scales16, zeroPoints }, t.shape[0], t.shape[1], dep);
    };
    return (x) => {
      const x16 = op.cast(g, x, 'float16');
      const w = dequant(x16);
      if (HALF_FORWARD === 'gemm') return op.cast(g, op.gemm(g, x16, recomputable(w, dequant), null, { transB: true }), 'float32');
      // MatMul over the transposed dequantized weight; the backward's dX = dY·W dequantizes [out, in] again.
      const wt = withTranspose(op.transpose(g, w, [1, 0]), dequant);
      return op.cast(g, op.matmul(g, x16, wt), 'float32');
    };
  }

  private readonly nf4CodeValues = new Map<string, Value>();
  /** The packed NF4 codes of `name` as an initializer, one per graph whichever form reads them. */
  private nf4Codes(name: string, t: Nf4Tensor): Value {
    let v = this.nf4CodeValues.get(name);
    if (!v) this.nf4CodeValues.set(name, (v = this.g.init(`${name}.nf4`, { dtype: 'uint8', shape: [t.codes.length], data: t.codes })));
    return v;
  }

  private readonly nf4HalfCache = new Map<string, { codes: Value; absmax16: Value }>();
  /** The fp16 step's NF4 initializers: the codes and the block scales already in fp16 (nf4AbsmaxHalf). */
  private nf4HalfValues(name: string, t: Nf4Tensor): { codes: Value; absmax16: Value } {
    let q = this.nf4HalfCache.get(name);
    if (!q) {
      const blocks = t.codes.length / (NF4_BLOCK / 2);
      q = {
        codes: this.nf4Codes(name, t),
        absmax16: this.g.init(`${name}.absmax_f16`, { dtype: 'float16', shape: [blocks, 1], data: nf4AbsmaxHalf(t, blocks) }),
      };
      this.nf4HalfCache.set(name, q);
    }
    return q;
  }

  private readonly nf4Cache = new Map<string, Parameters<typeof nf4DequantGraph>[1]>();
  private nf4Values(name: string, t: Nf4Tensor): Parameters<typeof nf4DequantGraph>[1] {
    const cached = this.nf4Cache.get(name);
    if (cached) return cached;
    const g = this.g;
    const groups = t.absmaxScale.length;
    const padded = new Uint8Array(groups * NF4_ABSMAX_BLOCK);
    padded.set(t.absmaxCodes);
    const q = {
      codes: this.nf4Codes(name, t),
      absmaxCodes: g.init(`${name}.absmax_e4m3`, { dtype: 'uint8', shape: [padded.length], data: padded }),
      absmaxScale: g.init(`${name}.absmax_scale`, { dtype: 'float32', shape: [groups], data: t.absmaxScale }),
      absmaxOffset: g.init(`${name}.absmax_offset`, { dtype: 'float32', shape: [], data: Float32Array.of(t.absmaxOffset) }),
    };
    this.nf4Cache.set(name, q);
    return q;
  }

  private nf4(name: string, t: Nf4Tensor): (x: Value) => Value {
    const q = this.nf4Values(name, t);
    const dequant = (dep: Value) => nf4DequantGraph(this.g, q, t.shape, dep);
    return (x) => linearOfRecomputed(this.g, x, recomputable(dequant(x), dequant));
  }
}

/**
 * The factory the graph builders take (`weights` option) for a quantized store. `storeId` names the store's
 * content (LoadedQuantBase.storeId: its cache file, as written): given, the graphs are saved under a key and found again
 * by the next start (a training step's graph, train/step-runner.ts); without it they are built each time.
 */
export function quantWeightsFactory(store: QuantStore, o: { half?: boolean; storeId?: string | null } = {}): WeightsFactory {
  const factory: WeightsFactory = (g, source, dtype, overrides) => new QuantWeights(g, source, dtype, overrides ?? new Map(), store, o.half);
  factory.packed = (source) => packedBase(store, source);
  if (o.storeId) factory.cacheName = `q:${o.storeId}${o.half ? ':fp16' : ''}`;
  return factory;
}

/**
 * The store as the fused decode graph takes it: int4 projections as they are (MatMulNBits), embeddings
 * and head rounded to fp16 as QuantWeights has them. NF4 (no MatMulNBits form) and 8-bit tables (the
 * fused graph reads the head as fp32) leave the base to the plain graph.
 */
function packedBase(store: QuantStore, source: WeightSource): PackedBase | null {
  const linear = new Map<string, PackedLinear>();
  for (const [name, t] of store) {
    if (t.scheme === 'nf4') return null;
    if (!QUANTIZED_LINEAR.test(name)) return null;
    linear.set(name, { bits: t.scheme === 'int4' ? 4 : 8, shape: t.shape, b: t.b, scalesF16: t.scalesF16, zeroPoints: t.zeroPoints });
  }
  const tables = new Map<string, Float32Array>();
  for (const n of EMBEDDING_TABLES) if (source.has(n)) tables.set(n, roundedToF16(source, n));
  return { linear, tables };
}

/** Bytes the quantized projections occupy as graph initializers, and how many parameters they hold. */
export function storeFootprint(store: QuantStore): { bytes: number; params: number } {
  let bytes = 0,
    params = 0;
  for (const [name, t] of store) {
    if (!QUANTIZED_LINEAR.test(name)) continue;
    params += t.shape[0] * t.shape[1];
    bytes +=
      t.scheme !== 'nf4'
        ? t.b.byteLength + t.scalesF16.byteLength + t.zeroPoints.byteLength
        : t.codes.byteLength + Math.ceil(t.absmaxCodes.length / NF4_ABSMAX_BLOCK) * NF4_ABSMAX_BLOCK + t.absmaxScale.byteLength + 4;
  }
  return { bytes, params };
}
