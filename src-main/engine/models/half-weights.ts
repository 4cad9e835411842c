/**
 * Mixed precision for GPU training and inference: the frozen projection weights are stored as fp16
 * (half the memory) and multiplied in fp16, the GPU's fast path; activations enter each projection
 * cast to fp16 and leave cast back to fp32, so norms, softmax, the loss, LoRA and AdamW stay fp32.
 * The backward follows through the same Casts (dX = dY·W in fp16).
 *
 * Every large product is a MatMul over a weight laid out [in, out]: the WebGPU EP's MatMul runs 2.2–2.7×
 * the rate of its Gemm with transB at the steps' shapes (bench/gemm-ceiling.ts on the H200). The backward's
 * dX = dY·W reads a second resident copy in the file's [out, in] layout. It was a Transpose of a copy waiting
 * for dY, but ORT's constant folding evaluates the Shape of a static value, so it folded every such Transpose
 * into that same second copy, single-threaded, at each session creation: 4.7 s of the 1.5B first step on the
 * H200 (docs/gpu-speed.md). Here the copy is encoded by the weight threads while the graph is built; a Transpose
 * per step instead would cost ~3 GB of passes at 1.5B. The LM head stays fp32 and is laid out [D, V] the same
 * way, with the [V, D] table (the tied embedding, or the head as read) for its backward.
 */
import type { DType, Graph, Value } from '../graph/ir.js';
import { withOrigin } from '../graph/weight-origin.js';
import type { WeightSource } from '../io/model-source.js';
import { encodeF16 } from '../io/half.js';
import { f16BothOnThreads, f16OnThreads, transposeOnThreads, transposeTiles, weightThreadsFor } from '../io/weight-threads.js';
import * as op from '../ops/index.js';
import { joinedColumns, withTranspose } from '../ops/recompute.js';
import { GraphWeights, readTransient, tableChunking, threadedLocation, weightOrigin, type WeightsFactory } from './weights.js';

/** The base projections held as fp16 (the norms, tables and biases stay fp32). */
export const PROJECTION = /^model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/;

/** A layer's q, k or v projection weight. */
const QKV = /^(model\.layers\.\d+\.self_attn\.)[qkv]_proj\.weight$/;

/**
 * Whether fp16 graphs multiply q, k and v as one product (HalfWeights.qkvPiece); GRAFT_QKV_GROUP=0 for one each
 * (measurements). Step graphs name it in their cache key (train/step-runner.ts).
 */
export const qkvGrouped = (): boolean => process.env.GRAFT_QKV_GROUP !== '0';

export class HalfWeights extends GraphWeights {
  private readonly laidOut = new Map<string, Value>();

  constructor(g: Graph, source: WeightSource, dtype: DType, overrides?: ReadonlyMap<string, Float32Array>) {
    super(g, source, dtype, overrides);
  }

  override linear(x: Value, name: string, bias: Value | null): Value {
    if (!PROJECTION.test(name) || this.dtype !== 'float32') return super.linear(x, name, bias);
    const y = this.qkvPiece(x, name) ?? op.cast(this.g, op.matmul(this.g, op.cast(this.g, x, 'float16'), this.projectionT(name)), 'float32');
    return bias ? op.add(this.g, y, bias) : y;
  }

  /** Each of q, k and v's outputs, by `${weight}|${input}`, once their product is made. */
  private readonly qkvPieces = new Map<string, Value>();
  /**
   * q, k or v of input x as its part of one product over the three weights side by side, [in, q + k + v]: the H200
   * profile of the 1.5B step had k and v's [512, 1,536]·[1,536, 256] at 101 µs each (4 TFLOP/s) beside q's at 121,
   * each with its own casts of x and of its output. The weights are joined by a Concat in the graph (the backward's
   * [out, in] forms too, when dX asks for them), so each keeps its own resident or cached form. Null where the
   * weight is not q, k or v (qkvGrouped off: each its own product).
   */
  private qkvPiece(x: Value, name: string): Value | null {
    const m = QKV.exec(name);
    if (!m || !qkvGrouped()) return null;
    const done = this.qkvPieces.get(`${name}|${x.name}`);
    if (done) return done;
    const names = ['q', 'k', 'v'].map((t) => `${m[1]}${t}_proj.weight`);
    if (!names.every((n) => this.source.has(n))) return null;
    const g = this.g;
    const wts = names.map((n) => this.projectionT(n));
    const y = op.cast(g, op.matmul(g, op.cast(g, x, 'float16'), joinedColumns(g, wts)), 'float32');
    const pieces = op.split(g, y, wts.map((w) => w.shape[1]), -1);
    names.forEach((n, k) => this.qkvPieces.set(`${n}|${x.name}`, pieces[k]));
    return pieces[names.indexOf(name)];
  }

  /** The projection `name` as fp16 laid out [in, out], with its [out, in] form registered for the backward. */
  protected projectionT(name: string): Value {
    let wt = this.laidOut.get(name);
    if (!wt) {
      const [out, inp] = this.source.shape(name);
      const data = withOrigin(this.laidOutF16(name, out, inp), weightOrigin(this.source, name, 'fp16.T', this.overrides), 'float16');
      const stored = this.g.init(`${name}.f16t`, { dtype: 'float16', shape: [inp, out], data });
      wt = withTranspose(stored, () => this.asRead(name, out, inp));
      this.laidOut.set(name, wt);
    }
    return wt;
  }

  override head(hidden: Value, name: string): Value {
    return laidOutHead(this, this.laidOut, hidden, name) ?? super.head(hidden, name);
  }

  private readonly read16 = new Map<string, Value>();
  /**
   * fp16 [out, in] forms made beside the laid-out ones (one read of the file for both), until the backward takes
   * them: a graph without one (evaluation) holds them only while it is built.
   */
  private readonly pending16 = new Map<string, Uint16Array>();
  /** The [out, in] projection as fp16 in the file's layout (the backward's dX = dY·W), once per graph. */
  private asRead(name: string, out: number, inp: number): Value {
    let v = this.read16.get(name);
    if (!v) {
      const bits = this.pending16.get(name) ?? f16AsRead(this.source, name, this.overrides);
      this.pending16.delete(name);
      const data = withOrigin(bits, weightOrigin(this.source, name, 'fp16', this.overrides), 'float16');
      this.read16.set(name, (v = this.g.init(`${name}.f16`, { dtype: 'float16', shape: [out, inp], data })));
    }
    return v;
  }

  /**
   * The [out, in] projection as fp16 laid out [in, out]: by the weight threads from the model file where they
   * can, else read into a reused buffer (no float32 copy is kept), encoded and transposed here.
   */
  private laidOutF16(name: string, out: number, inp: number): Uint16Array {
    const loc = threadedLocation(this.source, name, THREADED_F16_MIN, this.overrides);
    const both = loc && f16BothOnThreads(loc, out, inp);
    if (both) {
      this.pending16.set(name, both.asStored);
      return both.transposed;
    }
    const asStored = halfBits(encodeF16(this.overrides.get(name) ?? readTransient(this.source, name)));
    // kept for the backward's copy as the threads' is: one read and one encoding per weight here too
    this.pending16.set(name, asStored);
    const t = new Uint16Array(out * inp);
    transposeTiles(t, out, 0, asStored, 0, out, inp);
    return t;
  }
}

/** Values from which a projection is converted to fp16 by the weight threads (below, the calling thread is as quick). */
export const THREADED_F16_MIN = 1 << 18;

const halfBits = (b: Buffer) => new Uint16Array(b.buffer, b.byteOffset, b.length / 2);

/**
 * A projection [out, in] as fp16 in the file's layout: by the weight threads from the model file where they can,
 * else read into a reused buffer and encoded here (HalfWeights' backward form; models/resident-weights.ts).
 */
export function f16AsRead(source: WeightSource, name: string, overrides: ReadonlyMap<string, Float32Array>): Uint16Array {
  const [out, inp] = source.shape(name);
  const loc = threadedLocation(source, name, THREADED_F16_MIN, overrides);
  return (loc && f16OnThreads(loc, out, inp, false)) || halfBits(encodeF16(overrides.get(name) ?? readTransient(source, name)));
}

/**
 * hidden·Eᵀ over the table laid out [D, V] once, into the graph cache (`laidOut` keeps it per graph), for
 * HalfWeights and QuantWeights' fp16 step alike; null where the table stays as it is (an fp64 graph, a table
 * over tableChunking.bytes). Left to ORT as a Transpose of the table, its constant folding redid the
 * transpose at every session creation (+20 s on a 2-core machine at 0.5B).
 */
export function laidOutHead(w: GraphWeights, laidOut: Map<string, Value>, hidden: Value, name: string): Value | null {
  const [V, D] = w.source.shape(name);
  if (w.dtype !== 'float32' || V * D * 4 > tableChunking.bytes) return null;
  let et = laidOut.get(name);
  if (!et) {
    const data = withOrigin(laidOutTable(w, name, V, D), weightOrigin(w.source, name, 'T', w.overrides), 'float32');
    const stored = w.g.init(`${name}.t`, { dtype: 'float32', shape: [D, V], data });
    // The backward reads the [V, D] table: a tied embedding's is on the device for the lookup already; an
    // untied head's is the one ORT's constant folding would make of a Transpose anyway (see above).
    et = withTranspose(stored, () => w.get(name));
    laidOut.set(name, et);
  }
  return op.matmul(w.g, hidden, et);
}

/** The [V, D] table transposed to [D, V], by the weight threads from the model file where they can. */
function laidOutTable(w: GraphWeights, name: string, V: number, D: number): Float32Array {
  const loc = w.overrides.has(name) || !weightThreadsFor(V) ? null : (w.source.rawLocation?.(name) ?? null);
  // shared so the threads can write it; the calling thread fills the same array when they cannot
  const t = loc ? new Float32Array(new SharedArrayBuffer(V * D * 4)) : new Float32Array(V * D);
  if (!loc || !transposeOnThreads(loc, t, V, 0, V, D)) transposeTiles(t, V, 0, w.overrides.get(name) ?? readTransient(w.source, name), 0, V, D);
  return t;
}

export const halfWeights: WeightsFactory = Object.assign((g: Graph, source: WeightSource, dtype: DType, overrides?: ReadonlyMap<string, Float32Array>) => new HalfWeights(g, source, dtype, overrides), { cacheName: 'fp16' });
