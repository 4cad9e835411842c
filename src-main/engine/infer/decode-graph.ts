/**
 * Prefill and decode graphs over a fixed-capacity KV cache: T new tokens per row (T = prompt bucket
 * for prefill, 1 for decode) are written into caches of C slots; attention covers all C slots with
 * a mask, so shapes are static and one session per (rows, T, C, adapter layout) serves a whole chat.
 * Only the last position's logits leave the graph.
 */
import { rowLoraDelta, type RowLoraLayout } from '../adapters/row-lora.js';
import { rowMethodHooks, rowPrefixTokens, type RowMethod } from '../adapters/row-methods.js';
import { GraftError } from '../errors.js';
import { Graph } from '../graph/ir.js';
import type { WeightSource } from '../io/model-source.js';
import { decoderForward, lmHead } from '../models/decoder.js';
import type { ModelSpec } from '../models/spec.js';
import { plainWeights, type WeightsFactory } from '../models/weights.js';
import * as op from '../ops/index.js';

export interface DecodeGraphOpts {
  spec: ModelSpec;
  source: WeightSource;
  batch: number;
  tokens: number;
  capacity: number;
  lora: RowLoraLayout | null;
  overrides?: ReadonlyMap<string, Float32Array>;
  weights?: WeightsFactory;
  /** Non-LoRA methods, one per row at most (adapters/row-methods.ts). */
  methods?: readonly RowMethod[];
}

export const LOCAL_MASK = 'attn_mask_local';
export const cacheIn = (layer: number, kv: 'k' | 'v') => `cache.${layer}.${kv}`;
export const cacheOut = (layer: number, kv: 'k' | 'v') => `present.${layer}.${kv}`;

export function buildDecodeGraph(o: DecodeGraphOpts): Graph {
  const { spec, batch: B, tokens: T, capacity: C } = o;
  const g = new Graph(`decode_b${B}_t${T}_c${C}`);
  const ids = g.input('input_ids', 'int32', [B, T]);
  const positions = g.input('positions', 'int32', [B, T]);
  // A prefix adapter's P virtual tokens take the mask's first P columns (adapters/row-methods.ts).
  const P = rowPrefixTokens(o.methods ?? []);
  const mask = g.input('attn_mask', 'float32', [B, 1, 1, T, P + C]);
  // Sliding-window layers (Gemma 3, Phi-3) mask keys more than `window` slots behind each query too.
  if (P && spec.sliding) throw new GraftError('UNSUPPORTED', 'a prefix adapter on a sliding-window model cannot decode yet', { where: 'adapter' });
  const localMask = spec.sliding ? g.input(LOCAL_MASK, 'float32', [B, 1, 1, T, C]) : undefined;
  const writeIndex = g.input('write_index', 'int32', [B, spec.kvHeads, T, spec.headDim]);
  const cache = Array.from({ length: spec.layers }, (_, i) => ({
    k: g.input(cacheIn(i, 'k'), 'float32', [B, spec.kvHeads, C, spec.headDim]),
    v: g.input(cacheIn(i, 'v'), 'float32', [B, spec.kvHeads, C, spec.headDim]),
  }));
  const w = (o.weights ?? plainWeights)(g, o.source, 'float32', o.overrides);
  const delta = o.lora ? rowLoraDelta(g, spec, o.lora, B, T) : undefined;
  const hooks = o.methods?.length ? rowMethodHooks(g, o.methods, B, T) : undefined;
  const fwd = decoderForward(w, spec, { ids, positions, mask, localMask, cache, writeIndex }, { ropeLength: P + C, delta, hooks });
  const last = T === 1 ? fwd.hidden : op.reshape(g, op.slice(g, op.reshape(g, fwd.hidden, [B, T, spec.hidden]), 1, T - 1, T), [B, spec.hidden]);
  g.output(lmHead(w, spec, last), 'logits');
  fwd.present.forEach((p, i) => {
    g.output(p.k, cacheOut(i, 'k'));
    g.output(p.v, cacheOut(i, 'v'));
  });
  return g;
}
