/**
 * Graft's training methods as runtime lists (the train options schema, CLI choices, the GUI's select) with
 * their types derived, each method's label and one-line trade-off, and the bottleneck choices. No imports
 * beyond the targets list: the renderer bundles this file through the options schemas. The methods' own
 * settings are fields of engine/options/train.ts with `when: { method }`; adapters/method-options.ts builds
 * the engine's adapter from them.
 */
import type { LoraTarget } from './lora-config.js';

export const TRAIN_METHODS = ['lora', 'qlora', 'dora', 'ia3', 'prefix', 'houlsby', 'pfeiffer', 'parallel', 'bitfit', 'fusion'] as const;
export type TrainMethod = (typeof TRAIN_METHODS)[number];
/**
 * The methods whose adapters the library holds, which the app's Train screen therefore offers and `graft train`
 * saves to the library: all but AdapterFusion (its frozen adapters live in subfolders; it stays in its run folder).
 */
export const LIBRARY_METHODS = ['lora', 'qlora', 'dora', 'ia3', 'prefix', 'houlsby', 'pfeiffer', 'parallel', 'bitfit'] as const satisfies readonly TrainMethod[];

export const BOTTLENECK_KINDS = ['houlsby', 'pfeiffer', 'parallel'] as const;
export type BottleneckKind = (typeof BOTTLENECK_KINDS)[number];
/** The methods whose adapters AdapterDrop can skip in the lowest layers (all but LoRA's own path and prefixes). */
export const DROPPABLE_METHODS = ['dora', 'ia3', 'houlsby', 'pfeiffer', 'parallel', 'bitfit', 'fusion'] as const satisfies readonly TrainMethod[];
export const NON_LINEARITIES = ['relu', 'silu'] as const;
export type NonLinearity = (typeof NON_LINEARITIES)[number];
/** IA³'s targets by default (PEFT's for Llama): the key and value outputs and the MLP's down input. */
export const IA3_DEFAULT_TARGETS: readonly LoraTarget[] = ['k', 'v', 'down'];

export interface MethodInfo {
  label: string;
  /** Shown where the user picks the method (GUI picker, `graft train --help`). */
  tradeOff: string;
}

export const METHODS: Record<TrainMethod, MethodInfo> = {
  lora: { label: 'LoRA', tradeOff: 'low-rank updates of the projections: the default, mergeable, runs everywhere' },
  qlora: { label: 'QLoRA', tradeOff: 'LoRA over a 4-bit base: a quarter of the base memory, slightly noisier' },
  dora: { label: 'DoRA', tradeOff: 'LoRA plus a learned magnitude per output row: closer to full fine-tuning at low rank; each step also recomputes a weight norm per target (more time and memory)' },
  ia3: { label: 'IA³', tradeOff: 'learned scales of k, v and the MLP input: one vector per target, far fewer parameters than LoRA, learns less' },
  prefix: { label: 'Prefix tuning', tradeOff: 'trained key/value prefixes per layer: no weight changes, costs attention positions, not mergeable' },
  houlsby: { label: 'Houlsby adapter', tradeOff: 'bottleneck MLPs after attention and after the MLP: most capacity of the bottlenecks, two extra blocks per layer, not mergeable' },
  pfeiffer: { label: 'Pfeiffer adapter', tradeOff: "one bottleneck MLP after the MLP: half Houlsby's parameters and extra work, nearly its quality, not mergeable" },
  parallel: { label: 'Parallel adapter', tradeOff: 'a scaled bottleneck beside the MLP: wider (reduction 2) and learns fast, not mergeable' },
  fusion: {
    label: 'AdapterFusion',
    tradeOff: 'a second stage over trained Houlsby/Pfeiffer adapters: learns per token how much of each to use; they stay frozen; three hidden×hidden matrices per place',
  },
  bitfit: { label: 'BitFit', tradeOff: 'trains bias vectors only (zero-initialized biases are added where the base has none): the fewest parameters, learns least' },
};

/** Whether a library entry holds another method than LoRA (its folder is read by readMethodFolder, not as LoRA). */
export const isMethodEntry = (meta: { method: string }): boolean => meta.method !== 'lora' && meta.method !== 'qlora';
