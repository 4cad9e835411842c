/**
 * What every adapter method other than plain LoRA gives the engine: its trainable tensors (named and
 * shaped as PEFT saves them), their initial values, and the decoder hooks (models/decoder.ts) by which
 * it rewrites a block. Training, verification and inference build their graphs from this alone, so a
 * method is one file (ia3.ts, dora.ts, prefix.ts) and nothing else in the engine knows its arithmetic.
 */
import type { Graph, Value } from '../graph/ir.js';
import type { WeightSource } from '../io/model-source.js';
import type { BlockHooks } from '../models/decoder.js';
import type { ModelSpec } from '../models/spec.js';

export interface MethodParam {
  /** Tensor name in PEFT's adapter_model.safetensors. */
  name: string;
  shape: number[];
}

export interface MethodAdapter {
  kind: string;
  spec: ModelSpec;
  params: MethodParam[];
  /** Positions taken before the tokens (prefix tuning's virtual tokens), 0 for the others. */
  virtualTokens: number;
  /** The decoder hooks over graph values of the params (by name); `batch` is the graph's row count. */
  hooks(g: Graph, values: ReadonlyMap<string, Value>, batch: number): BlockHooks;
  /** The method's own initial values (identity where the method has one). */
  init(source: WeightSource, seed: number): Map<string, Float32Array>;
  /** Base tensors replaced by the exactly merged adapter (HF names), or a reason it cannot merge. */
  merge(source: WeightSource, tensors: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> | { refused: string };
  /** adapter_config.json as PEFT writes it for this method. */
  peftConfig(): Record<string, unknown>;
  /**
   * Adapters this method reads but never trains (AdapterFusion's), held in its graphs as constants; a
   * method folder keeps them in adapters/K so that it is whole on its own.
   */
  frozen?: { adapter: MethodAdapter; tensors: ReadonlyMap<string, Float32Array> }[];
}

/** PEFT's module prefix of a layer's projection, e.g. base_model.model.model.layers.3.self_attn.k_proj */
export const peftModule = (layer: number, module: string) => `base_model.model.model.layers.${layer}.${module}`;

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Trainable values in total: what the method picker shows. */
export function methodParamCount(m: Pick<MethodAdapter, 'params'>): number {
  return m.params.reduce((s, p) => s + size(p.shape), 0);
}

/** Causal mask [B, 1, 1, T, P+T] whose first P columns (a prefix) every token sees. */
export function prefixCausalMask(batch: number, seq: number, prefix: number, neg = -1e9): Float32Array {
  const S = prefix + seq;
  const m = new Float32Array(batch * seq * S);
  for (let b = 0; b < batch; b++) for (let t = 0; t < seq; t++) for (let s = prefix + t + 1; s < S; s++) m[(b * seq + t) * S + s] = neg;
  return m;
}
