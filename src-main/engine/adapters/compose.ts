/**
 * One row's non-LoRA adapters composed as the composition options say (engine/options/compose.ts): one
 * adapter as it is, several stacked (stack.ts) or merged by weight (blend-methods.ts), then AdapterDrop
 * (adapter-drop.ts). What generation, comparison and (later) the Chat columns call with loaded adapters.
 */
import { GraftError } from '../errors.js';
import type { WeightSource } from '../io/model-source.js';
import type { ModelSpec } from '../models/spec.js';
import { dropLowestLayers } from './adapter-drop.js';
import { blendMethods } from './blend-methods.js';
import type { MethodAdapter } from './method.js';
import { stackOf } from './stack.js';

export interface LoadedMethod {
  adapter: MethodAdapter;
  tensors: ReadonlyMap<string, Float32Array>;
  /** The weight given with it (ADAPTER:WEIGHT), 1 when none. */
  weight: number;
  label: string;
}

export interface ComposedRow {
  adapter: MethodAdapter;
  tensors: ReadonlyMap<string, Float32Array>;
  /** What the user should know (a merge's reconstruction error). */
  notes: string[];
}

/** How a row's adapters combine: the compose options (declared for the CLI and the GUI in options/compose.ts). */
export interface ComposeSettings {
  compose: 'stack' | 'merge';
  mergeRank: number | null;
  adapterDrop: number;
}

export function composeRow(source: WeightSource, spec: ModelSpec, methods: readonly LoadedMethod[], o: ComposeSettings): ComposedRow | null {
  if (methods.length === 0) return null;
  const notes: string[] = [];
  let row: { adapter: MethodAdapter; tensors: ReadonlyMap<string, Float32Array> };
  if (o.compose === 'merge') {
    if (methods.length < 2) throw new GraftError('BAD_INPUT', 'needs two adapters or more to merge', { field: 'compose' });
    const r = blendMethods(source, methods, { rank: o.mergeRank });
    if (r.mode === 'svd')
      notes.push(`merged by an SVD fit of rank ${o.mergeRank}: reconstruction error ${(100 * r.relativeError).toFixed(2)}% (worst ${r.worst?.tensor}: ${(100 * (r.worst?.relativeError ?? 0)).toFixed(2)}%)`);
    row = r;
  } else {
    const weighted = methods.find((m) => m.weight !== 1);
    if (weighted) throw new GraftError('BAD_INPUT', `${weighted.label}: a weight applies to merged adapters; stacked ones run as trained (use {compose} merge)`, { field: 'compose' });
    row = methods.length === 1 ? methods[0] : stackOf(spec, methods);
  }
  return { adapter: dropLowestLayers(row.adapter, o.adapterDrop), tensors: row.tensors, notes };
}
