/**
 * fp16 projection weights resident on the device, shared by a run's step graphs as inputs, instead of held
 * by each graph as initializers (models/half-weights.ts).
 *
 * Why: a step graph that holds both layouts of every projection ([in, out] for the forward, the file's
 * [out, in] for dX = dY·W) makes the first start encode and transpose them on the host, write both into the
 * graph cache and upload both at ORT's session creation; at 1.5B that is 6.2 GB each way. Here one small
 * graph holds the [out, in] copy only and makes both device tensors on the GPU (an Identity and a Transpose),
 * once; each step graph takes them as inputs, and a loss graph beside the step graph shares them.
 * On by default for fp16 training on WebGPU (train/step-runner.ts; GRAFT_RESIDENT_WEIGHTS=0 turns it off); the step graph is
 * the same arithmetic, checked against HalfWeights' in test/engine/train/resident-weights.test.ts.
 */
import type { DType, Graph, Value } from '../graph/ir.js';
import { Graph as GraphClass } from '../graph/ir.js';
import { withOrigin } from '../graph/weight-origin.js';
import type { WeightSource } from '../io/model-source.js';
import * as op from '../ops/index.js';
import { withTranspose } from '../ops/recompute.js';
import { f16AsRead, HalfWeights, PROJECTION, THREADED_F16_MIN } from './half-weights.js';
import { prefetchOnThreads } from '../io/weight-threads.js';
import { readWeight, tableChunking, THREADED_TABLE_MIN, threadedLocation, weightOrigin, type WeightsFactory } from './weights.js';

/** The embedding and the LM head: fp32 tables, resident as read ([V, D]) and laid out [D, V] for the head's MatMul. */
const TABLE = /^(model\.embed_tokens|lm_head)\.weight$/;

/** Input names of a projection's two device forms: [in, out] for the forward, [out, in] for the backward. */
const residentNames = (name: string) => ({ laidOut: `${name}.f16t`, asRead: `${name}.f16` });
/** The weight a resident input belongs to (a projection or a table), or null for any other input. */
export function residentOf(input: string): string | null {
  const m = /^(.*)\.f16t?$/.exec(input);
  if (m && PROJECTION.test(m[1])) return m[1];
  const t = /^(.*?)(\.t)?$/.exec(input)!;
  return TABLE.test(t[1]) ? t[1] : null;
}

class ResidentHalfWeights extends HalfWeights {
  private readonly inputs = new Map<string, Value>();
  private readonly tables = new Map<string, Value>();

  /** The [in, out] form as an input, its [out, in] form another (made when the backward asks for it). */
  protected override projectionT(name: string): Value {
    if (this.overrides.has(name)) return super.projectionT(name);
    let wt = this.inputs.get(name);
    if (!wt) {
      const [out, inp] = this.source.shape(name);
      const n = residentNames(name);
      let read: Value | undefined;
      wt = withTranspose(this.g.input(n.laidOut, 'float16', [inp, out]), () => (read ??= this.g.input(n.asRead, 'float16', [out, inp])));
      this.inputs.set(name, wt);
    }
    return wt;
  }

  /** A table small enough for one buffer (no row chunks), in an fp32 graph, not replaced by an override. */
  private residentTable(name: string): boolean {
    if (!TABLE.test(name) || this.dtype !== 'float32' || this.overrides.has(name)) return false;
    const [V, D] = this.source.shape(name);
    return V * D * 4 <= tableChunking.bytes;
  }

  override get(name: string): Value {
    if (!this.residentTable(name)) return super.get(name);
    let v = this.tables.get(name);
    if (!v) this.tables.set(name, (v = this.g.input(name, 'float32', this.source.shape(name))));
    return v;
  }

  override head(hidden: Value, name: string): Value {
    if (!this.residentTable(name)) return super.head(hidden, name);
    const laidOut = `${name}.t`;
    let et = this.tables.get(laidOut);
    if (!et) {
      const [V, D] = this.source.shape(name);
      // the backward's [V, D] form is the resident table (the tied embedding's lookup reads it too)
      et = withTranspose(this.g.input(laidOut, 'float32', [D, V]), () => this.get(name));
      this.tables.set(laidOut, et);
    }
    return op.matmul(this.g, hidden, et);
  }
}

export const residentHalfWeights: WeightsFactory = Object.assign(
  (g: Graph, source: WeightSource, dtype: DType, overrides?: ReadonlyMap<string, Float32Array>) => new ResidentHalfWeights(g, source, dtype, overrides),
  { cacheName: 'fp16-resident' },
);

/**
 * The graph that makes the resident forms of `names`: each [out, in] fp16 projection, read and encoded by the
 * weight threads, and each fp32 table is one initializer; its outputs are the copy as read and its transpose.
 */
export function buildResidentWeightsGraph(source: WeightSource, names: readonly string[]): Graph {
  const g = new GraphClass('resident_weights');
  const none = new Map<string, Float32Array>(); // the model's own weights: this graph takes no overrides
  for (const name of names) {
    if (TABLE.test(name)) {
      const data = withOrigin(readWeight(source, name), weightOrigin(source, name, 'float32', none), 'float32');
      const stored = g.init(`${name}.stored`, { dtype: 'float32', shape: source.shape(name), data });
      g.output(stored, name);
      g.output(op.transpose(g, stored, [1, 0]), `${name}.t`);
      continue;
    }
    const data = withOrigin(f16AsRead(source, name, none), weightOrigin(source, name, 'fp16', none), 'float16');
    const stored = g.init(`${name}.stored`, { dtype: 'float16', shape: source.shape(name), data });
    const n = residentNames(name);
    g.output(stored, n.asRead); // an Identity: a device copy that outlives this graph's session
    g.output(op.transpose(g, stored, [1, 0]), n.laidOut);
  }
  return g;
}

/**
 * Starts reading what buildResidentWeightsGraph(source, names) will read, on the weight threads, without waiting:
 * the first training step has ORT create the captured step's session meanwhile (train/step-capture.ts), and the
 * build then takes the converted tensors (weight-threads.ts, prefetchOnThreads). The same conditions as the
 * build's own reads (f16AsRead, readWeight), so each prefetched tensor is one the build asks the threads for.
 * Returns how many tensors were handed out (none where there are no weight threads).
 */
export function prefetchResidentWeights(source: WeightSource, names: readonly string[]): number {
  let handed = 0;
  for (const name of names) {
    const table = TABLE.test(name);
    const loc = threadedLocation(source, name, table ? THREADED_TABLE_MIN : THREADED_F16_MIN);
    const [rows, inDim] = source.shape(name);
    if (loc && prefetchOnThreads(table ? 'f32' : 'f16', loc, rows, inDim)) handed++;
  }
  return handed;
}
