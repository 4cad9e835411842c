/**
 * Mixed precision for GPU training and inference: the frozen projection weights are stored as fp16
 * (half the memory) and multiplied in fp16, the GPU's fast path; activations enter each projection
 * cast to fp16 and leave cast back to fp32, so norms, softmax, the loss, LoRA and AdamW stay fp32.
 * The backward follows through the same Casts (dX = dY·W in fp16). Embeddings and LM head stay fp32.
 */
import type { DType, Graph, Value } from '../graph/ir.js';
import { withOrigin } from '../graph/weight-origin.js';
import type { WeightSource } from '../io/model-source.js';
import { encodeF16 } from '../io/half.js';
import { f16OnThreads } from '../io/weight-threads.js';
import * as op from '../ops/index.js';
import { GraphWeights, readTransient, weightOrigin, type WeightsFactory } from './weights.js';

const PROJECTION = /^model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/;

export class HalfWeights extends GraphWeights {
  private readonly half = new Map<string, Value>();

  constructor(g: Graph, source: WeightSource, dtype: DType, overrides?: ReadonlyMap<string, Float32Array>) {
    super(g, source, dtype, overrides);
  }

  override linear(x: Value, name: string, bias: Value | null): Value {
    if (!PROJECTION.test(name) || this.dtype !== 'float32') return super.linear(x, name, bias);
    let w = this.half.get(name);
    if (!w) {
      const data = withOrigin(this.encoded(name), weightOrigin(this.source, name, 'fp16', this.overrides), 'float16');
      w = this.g.init(`${name}.f16`, { dtype: 'float16', shape: this.source.shape(name), data });
      this.half.set(name, w);
    }
    const y = op.cast(this.g, op.gemm(this.g, op.cast(this.g, x, 'float16'), w, null, { transB: true }), 'float32');
    return bias ? op.add(this.g, y, bias) : y;
  }

  /** The projection as fp16: by the weight threads from the file where they can, else read into a reused buffer and encoded here. */
  private encoded(name: string): Uint16Array {
    const [rows, cols] = this.source.shape(name);
    const loc = this.overrides.has(name) || rows * cols < 1 << 18 ? null : (this.source.rawLocation?.(name) ?? null);
    const threaded = loc && f16OnThreads(loc, rows, cols);
    if (threaded) return threaded;
    // Only the fp16 copy is kept: the float32 is read into a reused buffer and encoded at once.
    const bytes = encodeF16(this.overrides.get(name) ?? readTransient(this.source, name));
    return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  }
}

export const halfWeights: WeightsFactory = Object.assign((g: Graph, source: WeightSource, dtype: DType, overrides?: ReadonlyMap<string, Float32Array>) => new HalfWeights(g, source, dtype, overrides), { cacheName: 'fp16' });
