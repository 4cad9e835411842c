/**
 * Mixed precision for GPU training and inference: the frozen projection weights are stored as fp16
 * (half the memory) and multiplied in fp16, the GPU's fast path; activations enter each projection
 * cast to fp16 and leave cast back to fp32, so norms, softmax, the loss, LoRA and AdamW stay fp32.
 * The backward follows through the same Casts (dX = dY·W in fp16). Embeddings and LM head stay fp32.
 * Weights are stored transposed, [in, out], for MatMul: the WebGPU EP's MatMul runs 2.2–2.7× the rate
 * of its Gemm with transB at these shapes (bench/gemm-ceiling.ts); the backward's W is a Transpose made
 * each step from a copy that waits for dY (ops/recompute.ts `withTranspose`), not a second resident copy.
 */
import type { DType, Graph, Value } from '../graph/ir.js';
import type { WeightSource } from '../io/model-source.js';
import { encodeF16 } from '../io/half.js';
import * as op from '../ops/index.js';
import { after } from '../ops/quant-linear.js';
import { withTranspose } from '../ops/recompute.js';
import { GraphWeights, readWeight, type WeightsFactory } from './weights.js';

const PROJECTION = /^model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/;

export class HalfWeights extends GraphWeights {
  private readonly half = new Map<string, Value>();

  constructor(g: Graph, source: WeightSource, dtype: DType, overrides?: ReadonlyMap<string, Float32Array>) {
    super(g, source, dtype, overrides);
  }

  override linear(x: Value, name: string, bias: Value | null): Value {
    if (!PROJECTION.test(name) || this.dtype !== 'float32') return super.linear(x, name, bias);
    let wt = this.half.get(name);
    if (!wt) {
      const g = this.g;
      const f32 = this.overrides.get(name) ?? readWeight(this.source, name);
      const [out, inp] = this.source.shape(name);
      const bytes = encodeF16(f32);
      const data = transposeHalves(new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2), out, inp);
      const stored = g.init(`${name}.f16t`, { dtype: 'float16', shape: [inp, out], data });
      wt = withTranspose(stored, (dep) => op.transpose(g, after(g, stored, dep), [1, 0]));
      this.half.set(name, wt);
    }
    const y = op.cast(this.g, op.matmul(this.g, op.cast(this.g, x, 'float16'), wt), 'float32');
    return bias ? op.add(this.g, y, bias) : y;
  }
}

/** [rows, cols] halves → [cols, rows]. */
export function transposeHalves(h: Uint16Array, rows: number, cols: number): Uint16Array {
  const t = new Uint16Array(h.length);
  for (let r = 0; r < rows; r++) for (let c = 0, o = r * cols; c < cols; c++) t[c * rows + r] = h[o + c];
  return t;
}

export const halfWeights: WeightsFactory = Object.assign((g: Graph, source: WeightSource, dtype: DType, overrides?: ReadonlyMap<string, Float32Array>) => new HalfWeights(g, source, dtype, overrides), { cacheName: 'fp16' });
