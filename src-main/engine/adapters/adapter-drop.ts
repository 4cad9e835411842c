/**
 * AdapterDrop (Rücklé et al. 2021, AdapterHub's `skip_layers`): an adapter's hooks are skipped in the
 * lowest k layers, so those layers run as the base does. At inference that saves the adapter's work there
 * (bench/adapter-drop.ts measures the decode speed-up); in training the dropped layers' tensors get no
 * gradient and stay at their init (the identity for every method that has one), so the saved adapter is
 * the same with or without dropping at inference. Prefix tuning is refused: a dropped layer would attend
 * over P fewer positions than the others, and the mask is shared by all layers.
 */
import { GraftError } from '../errors.js';
import type { Graph, Value } from '../graph/ir.js';
import type { BlockHooks } from '../models/decoder.js';
import type { MethodAdapter } from './method.js';

export function dropLowestLayers(method: MethodAdapter, k: number): MethodAdapter {
  if (!Number.isInteger(k) || k < 0) throw new GraftError('BAD_INPUT', `must be a whole number >= 0, got ${k}`, { field: 'adapterDrop' });
  if (k === 0) return method;
  if (k > method.spec.layers) throw new GraftError('BAD_INPUT', `must be at most the model's ${method.spec.layers} layers, got ${k}`, { field: 'adapterDrop' });
  if (method.virtualTokens)
    throw new GraftError('UNSUPPORTED', `${method.kind}: AdapterDrop cannot skip a prefix in some layers (all layers share one attention mask)`, { field: 'adapterDrop' });
  return {
    ...method,
    hooks(g: Graph, values: ReadonlyMap<string, Value>, batch: number): BlockHooks {
      const h = method.hooks(g, values, batch);
      return {
        ...(h.linear ? { linear: (layer, target, x, frozen) => (layer < k ? null : h.linear!(layer, target, x, frozen)) } : {}),
        ...(h.output ? { output: (layer, where, out, residual) => (layer < k ? null : h.output!(layer, where, out, residual)) } : {}),
      };
    },
    merge: (source, tensors) => {
      // Exact for the mergeable methods: the dropped layers' tensors are put back at their init (identity).
      const init = method.init(source, 0);
      const kept = new Map(tensors);
      for (const p of method.params) if (layerOf(p.name) !== null && layerOf(p.name)! < k) kept.set(p.name, init.get(p.name)!);
      return method.merge(source, kept);
    },
    peftConfig: () => ({ ...method.peftConfig(), graft_adapter_drop: k }),
  };
}

/** The layer index in a tensor name (PEFT's `.layers.N.` and AdapterHub's), or null. */
function layerOf(name: string): number | null {
  const m = /\.layers\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : null;
}
