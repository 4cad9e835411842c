/**
 * Bottleneck adapters (Houlsby, Pfeiffer, parallel) placed as AdapterHub's `adapters` library places them in
 * Llama-family blocks (models/llama/modeling_llama.py + methods/modeling.py, read for this file):
 * AdapterHub calls its bottleneck layer on each sub-block's output `a` (o_proj or down_proj) with the
 * residual stream `r` that entered the sub-block and NO layer norm (the block is pre-norm), so with
 * f(x) = up(σ(down(x)))·scaling:
 *   Houlsby  (DoubleSeqBnConfig: after attention and after the MLP, σ = swish):  h = r + (a + f(a))
 *   Pfeiffer (SeqBnConfig: after the MLP only, original_ln_before, σ = relu):    h = r + (a + f(r + a))
 *   parallel (ParBnConfig: beside the MLP, scaling 4, reduction 2, σ = relu):    h = r + (a + f(r))
 * (the bracket is the sub-block output the `output` hook returns; AdapterHub adds r in post_forward).
 * docs/adapter-methods.md says why Graft keeps exactly these. Tensors are named as AdapterHub names them
 * (model.layers.i.{attention,output}_adapters.adapters.NAME.adapter_{down.0,up}.{weight,bias}). Init: down
 * as LoRA's A (U(±1/√in)), up and both biases zero, so every block is the identity until trained (AdapterHub's
 * "mam_adapter" init; its default "bert" init starts away from the identity). Not mergeable (σ is non-linear).
 */
import { deriveSeed, SeededRng } from '../data/rng.js';
import type { Graph, Value } from '../graph/ir.js';
import type { ModelSpec } from '../models/spec.js';
import * as op from '../ops/index.js';
import { type MethodAdapter, size } from './method.js';
import type { BottleneckKind, NonLinearity } from './method-kinds.js';

export { BOTTLENECK_KINDS, type BottleneckKind, NON_LINEARITIES } from './method-kinds.js';

export interface BottleneckConfig {
  kind: BottleneckKind;
  /** hidden / reduction factor = the bottleneck width (AdapterHub's reduction_factor), unless `size` is given. */
  reductionFactor: number;
  size?: number;
  nonLinearity: NonLinearity;
  scaling: number;
  /** AdapterHub's adapter name inside tensor names. */
  name: string;
}

/** AdapterHub's defaults for each configuration. */
export const BOTTLENECK_DEFAULTS: Record<BottleneckKind, Omit<BottleneckConfig, 'kind' | 'name'>> = {
  houlsby: { reductionFactor: 16, nonLinearity: 'silu', scaling: 1 },
  pfeiffer: { reductionFactor: 16, nonLinearity: 'relu', scaling: 1 },
  parallel: { reductionFactor: 2, nonLinearity: 'relu', scaling: 4 },
};

export type Where = 'attention' | 'mlp';
const LOCATION: Record<Where, string> = { attention: 'attention_adapters', mlp: 'output_adapters' };

export function bottleneckWidth(spec: ModelSpec, cfg: Pick<BottleneckConfig, 'reductionFactor' | 'size'>): number {
  return Math.max(1, cfg.size ?? Math.floor(spec.hidden / cfg.reductionFactor));
}

/** One bottleneck adapter's branch: where it sits, its tensor names and f(x) = up(σ(down(x)))·scaling. */
export function bottleneckBranch(spec: ModelSpec, cfg: BottleneckConfig) {
  const places: Where[] = cfg.kind === 'houlsby' ? ['attention', 'mlp'] : ['mlp'];
  const names = (layer: number, where: Where) => {
    const p = `model.layers.${layer}.${LOCATION[where]}.adapters.${cfg.name}`;
    return { dw: `${p}.adapter_down.0.weight`, db: `${p}.adapter_down.0.bias`, uw: `${p}.adapter_up.weight`, ub: `${p}.adapter_up.bias` };
  };
  return {
    places,
    names,
    width: bottleneckWidth(spec, cfg),
    /** What the branch reads: the sub-block output a (Houlsby), the stream r + a (Pfeiffer) or r (parallel). */
    input: (g: Graph, a: Value, r: Value) => (cfg.kind === 'houlsby' ? a : cfg.kind === 'pfeiffer' ? op.add(g, r, a) : r),
    up(g: Graph, values: ReadonlyMap<string, Value>, layer: number, where: Where, x: Value): Value {
      const n = names(layer, where);
      const down = op.gemm(g, x, values.get(n.dw)!, values.get(n.db)!, { transB: true });
      const act = cfg.nonLinearity === 'relu' ? op.relu(g, down) : op.silu(g, down);
      const up = op.gemm(g, act, values.get(n.uw)!, values.get(n.ub)!, { transB: true });
      return cfg.scaling === 1 ? up : op.mul(g, up, op.scalar(g, cfg.scaling, up.dtype));
    },
  };
}

export function bottleneckMethod(spec: ModelSpec, cfg: BottleneckConfig): MethodAdapter {
  const D = spec.hidden;
  const branch = bottleneckBranch(spec, cfg);
  const { places, names, width: R } = branch;
  const params: { name: string; shape: number[] }[] = [];
  for (let layer = 0; layer < spec.layers; layer++)
    for (const where of places) {
      const n = names(layer, where);
      params.push({ name: n.dw, shape: [R, D] }, { name: n.db, shape: [R] }, { name: n.uw, shape: [D, R] }, { name: n.ub, shape: [D] });
    }
  return {
    kind: cfg.kind,
    spec,
    params,
    virtualTokens: 0,
    hooks(g: Graph, values: ReadonlyMap<string, Value>) {
      return {
        // The sub-block's new output a' = a + f(input) (the decoder adds r): AdapterHub's adapter output before post_forward.
        output: (layer, where, a, r) => (places.includes(where) ? op.add(g, a, branch.up(g, values, layer, where, branch.input(g, a, r))) : null),
      };
    },
    init(_source, seed) {
      const rng = new SeededRng(deriveSeed(seed, 0xb07));
      const bound = 1 / Math.sqrt(D);
      return new Map(params.map((p) => [p.name, p.name.endsWith('adapter_down.0.weight') ? Float32Array.from({ length: size(p.shape) }, () => (rng.next() * 2 - 1) * bound) : new Float32Array(size(p.shape))]));
    },
    merge: () => ({ refused: `a ${cfg.kind} bottleneck adapter adds a non-linear block; it has no exact merge into the base weights` }),
    // Graft's own layout (docs/adapter-methods.md), with AdapterHub's field names where they mean the same.
    peftConfig: () => ({
      graft_method: 'bottleneck',
      architecture: 'bottleneck',
      config_name: { houlsby: 'double_seq_bn', pfeiffer: 'seq_bn', parallel: 'par_bn' }[cfg.kind],
      adapter_name: cfg.name,
      mh_adapter: cfg.kind === 'houlsby',
      output_adapter: true,
      is_parallel: cfg.kind === 'parallel',
      original_ln_before: cfg.kind === 'pfeiffer',
      original_ln_after: true,
      residual_before_ln: cfg.kind !== 'parallel',
      reduction_factor: cfg.reductionFactor,
      bottleneck_size: R,
      non_linearity: cfg.nonLinearity === 'silu' ? 'swish' : 'relu',
      scaling: cfg.scaling,
      init_weights: 'mam_adapter',
    }),
  };
}
