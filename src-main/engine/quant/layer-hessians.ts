/**
 * One decoder layer as a session whose weights are inputs, so one graph serves every layer: GPTQ runs
 * the calibration rows through the model layer by layer, collecting each projection's input Hessian
 * XᵀX [K, K] with the layer's original weights, then running the layer again with its quantized
 * weights to get the residual stream the next layer sees (quantization error compounds as in use).
 */
import { Graph, type Value } from '../graph/ir.js';
import type { LoadedModel } from '../model.js';
import { decoderForward } from '../models/decoder.js';
import type { ModelSpec } from '../models/spec.js';
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

/** What sets a layer's graph apart from another's: a sliding window (Gemma 3), no RoPE (SmolLM3). */
const kindOf = (spec: ModelSpec, layer: number) => `${spec.sliding?.layers.includes(layer) ? 'local' : 'global'}|${spec.noRopeLayers.includes(layer) ? 'nope' : 'rope'}`;

/** The spec whose layer 0 is built like `layer` of the model (the graph runs layer 0's tensors, fed per layer). */
function specAsLayer0(spec: ModelSpec, layer: number): ModelSpec {
  const sliding = spec.sliding && { ...spec.sliding, layers: spec.sliding.layers.includes(layer) ? [0] : [] };
  return { ...spec, noRopeLayers: spec.noRopeLayers.includes(layer) ? [0] : [], sliding };
}

interface LayerGraph {
  session: GraphSession;
  w: LayerInputWeights;
}

async function buildLayerGraph(model: LoadedModel, layer: number, batch: number, length: number, device: DeviceInfo): Promise<LayerGraph> {
  const g = new Graph('gptq-layer');
  const N = batch * length;
  const residual = g.input('residual', 'float32', [N, model.spec.hidden]);
  const positions = g.input('positions', 'int32', [batch, length]);
  const mask = g.input('attn_mask', 'float32', [batch, 1, 1, length, length]);
  const w = new LayerInputWeights(g, model.source, 'float32');
  // `ids` only gives [B, T] here: the residual input replaces the embedding lookup.
  const fwd = decoderForward(w, specAsLayer0(model.spec, layer), { ids: positions, positions, mask, residual }, { ropeLength: length, layers: { from: 0, to: 1 } });
  g.output(fwd.residual, 'residual_out');
  return { session: await GraphSession.create(g, { device }), w };
}

export class LayerHessians {
  /** One session per kind of layer; most models have one kind. */
  private readonly graphs = new Map<string, Promise<LayerGraph>>();

  private constructor(
    private readonly model: LoadedModel,
    first: LayerGraph,
    private readonly device: DeviceInfo,
    readonly batch: number,
    readonly length: number,
  ) {
    this.graphs.set(kindOf(model.spec, 0), Promise.resolve(first));
    this.w = first.w;
  }

  /** Layer 0's graph weights: every kind reads the same projections, so names and Hessian keys are the same. */
  private readonly w: LayerInputWeights;

  static async create(model: LoadedModel, batch: number, length: number, device: DeviceInfo): Promise<LayerHessians> {
    return new LayerHessians(model, await buildLayerGraph(model, 0, batch, length, device), device, batch, length);
  }

  private graphFor(layer: number): Promise<LayerGraph> {
    const kind = kindOf(this.model.spec, layer);
    let gr = this.graphs.get(kind);
    if (!gr) this.graphs.set(kind, (gr = buildLayerGraph(this.model, layer, this.batch, this.length, this.device)));
    return gr;
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
    const out = await (await this.graphFor(layer)).session.run(feeds);
    const hessians = new Map<string, Float32Array>();
    for (const key of new Set(this.w.hessianOf.values())) hessians.set(key, (out[key] as HostTensor).data as Float32Array);
    return { residual: (out.residual_out as HostTensor).data as Float32Array, hessians };
  }

  async release(): Promise<void> {
    for (const gr of this.graphs.values()) await (await gr).session.release();
  }
}
