/**
 * Base weights laid out for the fused decode graph, built once per model source: projections stored
 * [in, out] (so a MatMul applies them to [B, T, in] activations with no Reshape), and the q/k/v and
 * gate/up projections concatenated along the output so each pair/triple is one MatMul.
 */
import type { Graph, Value } from '../../graph/ir.js';
import { withOrigin } from '../../graph/weight-origin.js';
import type { WeightSource } from '../../io/model-source.js';
import { f16Bits, f16ToF32 } from '../../io/half.js';
import { type RawLocation, transposeHalfOnThreads, transposeOnThreads, transposeTiles, weightThreadsFor } from '../../io/weight-threads.js';
import type { ModelSpec } from '../../models/spec.js';
import { readTransient, readWeight, weightOrigin, type PackedBase, type PackedLinear } from '../../models/weights.js';

/** A layer's tensor by its HF name. */
export const layerName = (i: number, rest: string) => `model.layers.${i}.${rest}`;

/** An [inDim, outDim] copy of a row-major [rows, cols] matrix, zeros after its rows and columns. */
function padMatrix<T extends Float32Array | Uint16Array>(t: T, rows: number, cols: number, inDim: number, outDim: number): T {
  const out = (t instanceof Uint16Array ? new Uint16Array(inDim * outDim) : new Float32Array(inDim * outDim)) as T;
  if (outDim === cols) out.set(t);
  else for (let r = 0; r < rows; r++) out.set(t.subarray(r * cols, (r + 1) * cols), r * outDim);
  return out;
}

const hostCache = new WeakMap<WeightSource, Map<string, Float32Array | Uint16Array>>();

type Mats = readonly { data: Float32Array | (() => Float32Array); out: number; loc?: RawLocation | null }[];

/**
 * Wᵀ of the row-concatenation of [out_k, in] matrices: one [in, Σ out_k] matrix. A matrix given as a
 * function is read just before it is placed, so each may be read into the same reused buffer
 * (readTransient); one whose place in its file is given is transposed by the weight threads where there are some.
 */
export function transposeConcat(mats: Mats, inDim: number): Float32Array;
/** The same in fp16 (`half`): the weight threads encode as they transpose, the calling thread only what they cannot. */
export function transposeConcat(mats: Mats, inDim: number, half: true): Uint16Array;
export function transposeConcat(mats: Mats, inDim: number, half = false): Float32Array | Uint16Array {
  const total = mats.reduce((a, m) => a + m.out, 0);
  const threads = mats.some((m) => m.loc && weightThreadsFor(m.out));
  const bytes = inDim * total * (half ? 2 : 4);
  const buffer = threads ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const t = half ? new Uint16Array(buffer) : new Float32Array(buffer);
  let col = 0;
  for (const m of mats) {
    const onThreads = m.loc && (t instanceof Uint16Array ? transposeHalfOnThreads(m.loc, t, total, col, m.out, inDim) : transposeOnThreads(m.loc, t, total, col, m.out, inDim));
    if (!onThreads) {
      const data = typeof m.data === 'function' ? m.data() : m.data;
      if (data.length !== m.out * inDim) throw new Error(`transposeConcat: ${data.length} values, expected ${m.out}×${inDim}`);
      if (t instanceof Uint16Array) transposeTiles(t, total, col, f16Bits(data), 0, m.out, inDim);
      else transposeTiles(t, total, col, data, 0, m.out, inDim);
    }
    col += m.out;
  }
  return t;
}

/** MatMulNBits inputs of a fused projection: codes, scales (fp32, as the activations) and zero points. */
export interface PackedProjection {
  bits: 4 | 8;
  N: number;
  K: number;
  b: Value;
  scales: Value;
  zeroPoints: Value;
}

const symmetric = new WeakMap<PackedLinear, boolean>();

/** Whether every used zero point of a packed projection is the midpoint (padding nibbles aside); scanned once per tensor. */
function symmetricCodes(t: PackedLinear): boolean {
  let v = symmetric.get(t);
  if (v === undefined) symmetric.set(t, (v = scanSymmetric(t)));
  return v;
}

function scanSymmetric(t: PackedLinear): boolean {
  const [N, K] = t.shape;
  const nb = Math.ceil(K / 32);
  if (t.bits === 8) return t.zeroPoints.every((z) => z === 128);
  const row = Math.ceil(nb / 2);
  for (let n = 0; n < N; n++)
    for (let blk = 0; blk < nb; blk++) {
      const z = t.zeroPoints[n * row + (blk >> 1)];
      if ((blk & 1 ? z >> 4 : z & 15) !== 8) return false;
    }
  return true;
}

/** Arrays end to end in one new array. */
function concatArrays<T extends Uint8Array | Uint16Array | Float32Array>(arrays: readonly T[], make: (n: number) => T): T {
  const out = make(arrays.reduce((a, x) => a + x.length, 0));
  let off = 0;
  for (const x of arrays) {
    out.set(x, off);
    off += x.length;
  }
  return out;
}

export class FusedWeights {
  private readonly values = new Map<string, Value>();
  private readonly packedValues = new Map<string, PackedProjection>();
  readonly overrides: ReadonlyMap<string, Float32Array>;

  constructor(
    readonly g: Graph,
    readonly spec: ModelSpec,
    readonly source: WeightSource,
    overrides: ReadonlyMap<string, Float32Array> = new Map(),
    /** A quantized base: its projections stay packed (MatMulNBits), its fp16-rounded tables replace the source's. */
    readonly packed: PackedBase | null = null,
    /** The float weights' type in the graph: fp16 halves their bytes (the graph's activations are then fp16 too). */
    readonly dtype: 'float32' | 'float16' = 'float32',
  ) {
    this.overrides = packed ? new Map([...packed.tables, ...overrides]) : overrides;
    // ORT's constant folding would expand packed weights to fp32 at session creation.
    if (packed) g.keepConstantsPacked = true;
  }

  /**
   * The given modules' packed projections concatenated along N (MatMulNBits' rows are output features,
   * so concatenation is appending rows), or null when the base is not packed.
   */
  packedProjection(layer: number, modules: readonly string[]): PackedProjection | null {
    if (!this.packed) return null;
    const key = `fused.${layer}.${modules.map((m) => m.split('.').pop()).join('_')}`;
    let p = this.packedValues.get(key);
    if (p) return p;
    const parts = modules.map((m) => {
      const name = layerName(layer, `${m}.weight`);
      const t = this.packed!.linear.get(name);
      if (!t || this.overrides.has(name)) throw new Error(`fused graph: ${name} is not packed (a packed base must cover every projection)`);
      return t;
    });
    const { bits } = parts[0];
    const K = parts[0].shape[1];
    if (parts.some((t) => t.bits !== bits || t.shape[1] !== K)) throw new Error(`fused graph: ${key} mixes packed formats`);
    const N = parts.reduce((a, t) => a + t.shape[0], 0);
    const nb = Math.ceil(K / 32);
    const g = this.g;
    const scales16 = concatArrays(parts.map((t) => t.scalesF16), (n) => new Uint16Array(n));
    p = {
      bits,
      N,
      K,
      b: g.init(`${key}.q${bits}`, { dtype: 'uint8', shape: [N, nb, (32 * bits) / 8], data: concatArrays(parts.map((t) => t.b), (n) => new Uint8Array(n)) }),
      // fp32 scales: MatMulNBits takes them in the activations' type.
      scales: g.init(`${key}.scales`, { dtype: 'float32', shape: [N * nb], data: Float32Array.from(scales16, f16ToF32) }),
      zeroPoints: g.init(`${key}.zero_points`, { dtype: 'uint8', shape: [N * (bits === 4 ? Math.ceil(nb / 2) : nb)], data: concatArrays(parts.map((t) => t.zeroPoints), (n) => new Uint8Array(n)) }),
    };
    this.packedValues.set(key, p);
    return p;
  }

  /**
   * Whether these modules of a layer are packed 4-bit projections with symmetric codes (every zero point 8), as
   * the fused 4-bit decode ops take them with no zero-point input. Nothing is added to the graph.
   */
  packedSymmetric4(layer: number, modules: readonly string[]): boolean {
    return modules.every((m) => {
      const t = this.packed?.linear.get(layerName(layer, `${m}.weight`));
      return !!t && t.bits === 4 && !this.overrides.has(layerName(layer, `${m}.weight`)) && symmetricCodes(t);
    });
  }

  /** One module's packed projection for the fused 4-bit ops: refused unless packedSymmetric4 holds for it. */
  symmetricProjection(layer: number, module: string): PackedProjection {
    if (!this.packedSymmetric4(layer, [module])) throw new Error(`fused 4-bit ops: ${layerName(layer, module)} is not a symmetric 4-bit projection`);
    return this.packedProjection(layer, [module])!;
  }

  /** Where the weight threads can read tensor `name` from (none for a replaced one). */
  private located(name: string): RawLocation | null {
    return this.overrides.has(name) ? null : (this.source.rawLocation?.(name) ?? null);
  }

  private raw(name: string): Float32Array {
    return this.overrides.get(name) ?? readWeight(this.source, name);
  }

  private get half(): boolean {
    return this.dtype === 'float16';
  }

  /** A plain tensor by HF name (norm weights, embedding, lm head). */
  get(name: string): Value {
    return this.memo(name, () => ({ shape: this.source.shape(name), data: this.raw(name) }), name, 'float32');
  }

  has(name: string): boolean {
    return this.overrides.has(name) || this.source.has(name);
  }

  /**
   * The value named `key`, made once, in this graph's float type (made in fp16 already, or encoded here); `tensor`
   * and `transform` name its origin in the source's files (none when anything is overridden).
   */
  private memo(key: string, make: () => { shape: readonly number[]; data: Float32Array | Uint16Array }, tensor: string, transform: string): Value {
    let v = this.values.get(key);
    if (!v) {
      const { shape, data: made } = make();
      const data = this.half && made instanceof Float32Array ? f16Bits(made) : made;
      withOrigin(data, this.overrides.size > 0 ? null : weightOrigin(this.source, tensor, this.half ? `${transform}.f16` : transform), this.dtype);
      v = this.g.init(key, { dtype: this.dtype, shape, data });
      this.values.set(key, v);
    }
    return v;
  }

  /**
   * Wᵀ of `mats` laid out by transposeConcat in this graph's float type (fp16 made by the weight threads where there
   * are some), then `then` (padding), cached under `key` per type (derived).
   */
  private transposed(key: string, mats: Mats, inDim: number, then = (t: Float32Array | Uint16Array) => t): Float32Array | Uint16Array {
    return this.derived(this.half ? `${key}.f16` : key, () => then(this.half ? transposeConcat(mats, inDim, true) : transposeConcat(mats, inDim)));
  }

  /** Host arrays derived from the source are cached per source (prefill and decode graphs share them); overridden models build their own. */
  private derived<T extends Float32Array | Uint16Array>(key: string, make: () => T): T {
    if (this.overrides.size > 0) return make();
    let m = hostCache.get(this.source);
    if (!m) hostCache.set(this.source, (m = new Map()));
    let d = m.get(key) as T | undefined;
    if (!d) m.set(key, (d = make()));
    return d;
  }

  /**
   * [in, Σ out] for the given HF modules of one layer (e.g. q, k, v projections); with `slices` S > 1, the
   * same bytes as [S, in/S, Σ out], the layout of a split-K product (nodes.ts, splitKProjection). `inDim` or
   * `outDim` past the modules' own widths: zero rows or columns after theirs (a padded residual stream).
   */
  projection(layer: number, modules: readonly string[], inDim: number, slices = 1, outDim?: number): Value {
    const names = modules.map((m) => layerName(layer, `${m}.weight`));
    const out = names.reduce((a, n) => a + this.source.shape(n)[0], 0);
    const realIn = this.source.shape(names[0])[1];
    const cols = outDim ?? out;
    const pad = inDim !== realIn || cols !== out ? `.pad${inDim}x${cols}` : '';
    const key = `fused.${layer}.${modules.map((m) => m.split('.').pop()).join('_')}.wT${pad}`;
    return this.memo(slices > 1 ? `${key}.S${slices}` : key, () => {
      // Read past the shared host cache, into one reused buffer: only the fused copy stays in memory, not the HF layout too.
      const mats = names.map((n) => ({ data: () => this.overrides.get(n) ?? readTransient(this.source, n), out: this.source.shape(n)[0], loc: this.located(n) }));
      const data = this.transposed(key, mats, realIn, (t) => (pad ? padMatrix(t, realIn, out, inDim, cols) : t));
      return { shape: slices > 1 ? [slices, inDim / slices, cols] : [inDim, cols], data };
    }, key, 'fused');
  }

  /**
   * An RMSNorm weight for a residual stream `width` wide whose values past the hidden size D are zero: the
   * norm over `width` with epsilon·D/width equals the norm over D times sqrt(width/D), so the weight is
   * scaled by sqrt(D/width), and zero past D so the padding stays zero. `normEps` gives that epsilon.
   */
  normWeight(name: string, width: number): Value {
    const D = this.source.shape(name)[0];
    if (width === D) return this.get(name);
    return this.memo(`${name}.pad${width}`, () => {
      const g = this.raw(name);
      const data = new Float32Array(width);
      const scale = Math.sqrt(D / width);
      for (let i = 0; i < D; i++) data[i] = g[i] * scale;
      return { shape: [width], data };
    }, name, `pad${width}`);
  }

  /**
   * A [V, D] table (LM head, or a tied embedding) stored transposed and split along D, [S, D/S, V]:
   * the layout of the head's split-K MatMul (nodes.ts, splitKHead), from which a tied embedding is
   * also looked up, so the table is on the device once.
   */
  splitHead(name: string, S: number): Value {
    const key = `fused.${name}.T${S}`;
    return this.memo(key, () => {
      const [V, D] = this.source.shape(name);
      const data = this.transposed(key, [{ data: () => this.overrides.get(name) ?? readTransient(this.source, name), out: V, loc: this.located(name) }], D);
      return { shape: [S, D / S, V], data };
    }, name, 'T');
  }

  /** Concatenated biases of the given modules. */
  bias(layer: number, modules: readonly string[]): Value {
    const key = `fused.${layer}.${modules.map((m) => m.split('.').pop()).join('_')}.bias`;
    return this.memo(key, () => {
      const data = concatArrays(modules.map((m) => this.raw(layerName(layer, `${m}.bias`))), (n) => new Float32Array(n));
      return { shape: [data.length], data };
    }, key, 'fused');
  }
}
