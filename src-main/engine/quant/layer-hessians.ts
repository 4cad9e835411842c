/**
 * One decoder layer as a session whose weights are inputs, so one graph serves every layer: GPTQ runs
 * the calibration rows through the model layer by layer, collecting each projection's input Hessian
 * XᵀX [K, K] with the layer's original weights, then running the layer again with its quantized
 * weights to get the residual stream the next layer sees (quantization error compounds as in use).
 */
import { Graph, type Value } from '../graph/ir.js';
import type { LoadedModel } from '../model.js';
import { decoderForward } from '../models/decoder.js';
import { GraphWeights } from '../models/weights.js';
import { gemm } from '../ops/matmul.js';
import type { DeviceInfo } from '../runtime/device.js';
import { GraphSession } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensors.js';
import { causalMask, positionRange } from '../models/decoder-inputs.js';

const LAYER0 = 'model.layers.0.';

/** Layer 0's tensors become graph inputs; every projection input gets a XᵀX output (shared inputs once). */
class LayerInputWeights extends GraphWeights {
  readonly inputs = new Map<string, Value>();
  /** Projection suffix (e.g. "self_attn.q_proj.weight") → the Hessian output it reads. */
  readonly hessianOf = new Map<string, string>();
  private readonly seen = new Map<Value, string>();

  override get(name: string): Value {
    if (!name.startsWith(LAYER0)) return super.get(name);
    let v = this.inputs.get(name);
    if (!v) this.inputs.set(name, (v = this.g.input(name, 'float32', this.source.shape(name))));
    return v;
  }

  override linear(x: Value, name: string, bias: Value | null): Value {
    const suffix = name.slice(LAYER0.length);
    let out = this.seen.get(x);
    if (!out) {
      out = `hessian.${suffix}`;
      this.seen.set(x, out);
      this.g.output(gemm(this.g, x, x, null, { transA: true }), out);
    }
    this.hessianOf.set(suffix, out);
    return super.linear(x, name, bias);
  }
}

export class LayerHessians {
  private constructor(
    private readonly model: LoadedModel,
    private readonly session: GraphSession,
    private readonly w: LayerInputWeights,
    readonly batch: number,
    readonly length: number,
  ) {}

  static async create(model: LoadedModel, batch: number, length: number, device: DeviceInfo): Promise<LayerHessians> {
    const g = new Graph('gptq-layer');
    const N = batch * length;
    const residual = g.input('residual', 'float32', [N, model.spec.hidden]);
    const positions = g.input('positions', 'int32', [batch, length]);
    const mask = g.input('attn_mask', 'float32', [batch, 1, 1, length, length]);
    const w = new LayerInputWeights(g, model.source, 'float32');
    // `ids` only gives [B, T] here: the residual input replaces the embedding lookup.
    const fwd = decoderForward(
      w,
      model.spec,
      { ids: positions, positions, mask, residual },
      { ropeLength: length, layers: { from: 0, to: 1 } },
    );
    g.output(fwd.residual, 'residual_out');
    const session = await GraphSession.create(g, { device });
    return new LayerHessians(model, session, w, batch, length);
  }

  /** Projection weight names of a layer (HF names), in graph order. */
  projections(layer: number): string[] {
    return [...this.w.hessianOf.keys()].map((s) => `model.layers.${layer}.${s}`);
  }

  /** The Hessian output a projection of the layer reads. */
  hessianKey(name: string): string {
    const key = this.w.hessianOf.get(name.replace(/^model\.layers\.\d+\./, ''));
    if (!key) throw new Error(`no Hessian for ${name}`);
    return key;
  }

  /** HF names of the tensors a run of `layer` reads (projections, norms, biases). */
  tensorNames(layer: number): string[] {
    return [...this.w.inputs.keys()].map((n) => `model.layers.${layer}.${n.slice(LAYER0.length)}`);
  }

  /** Runs `layer` on one batch of residual rows with its tensors (see tensorNames). */
  async run(
    layer: number,
    residual: Float32Array,
    tensors: ReadonlyMap<string, Float32Array>,
  ): Promise<{ residual: Float32Array; hessians: Map<string, Float32Array> }> {
    const { batch: B, length: T } = this;
    const feeds: Record<string, HostTensor> = {
      residual: { dtype: 'float32', shape: [B * T, this.model.spec.hidden], data: residual },
      positions: { dtype: 'int32', shape: [B, T], data: positionRange(B, T) },
      attn_mask: { dtype: 'float32', shape: [B, 1, 1, T, T], data: causalMask(B, T) },
    };
    for (const [name0, v] of this.w.inputs) {
      const name = `model.layers.${layer}.${name0.slice(LAYER0.length)}`;
      const data = tensors.get(name);
      if (!data) throw new Error(`layer ${layer}: tensor ${name} not given`);
      feeds[name0] = { dtype: 'float32', shape: v.shape, data };
    }
    const out = await this.session.run(feeds);
    const hessians = new Map<string, Float32Array>();
    for (const key of new Set(this.w.hessianOf.values())) hessians.set(key, (out[key] as HostTensor).data as Float32Array);
    return { residual: (out.residual_out as HostTensor).data as Float32Array, hessians };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
