/** LoRA weights in memory, keyed by PEFT tensor names, with what the graph needs of their config. */
import { GraftError } from '../errors.js';
import { MODULE_TARGETS, type LoraTarget, TARGET_MODULE } from './lora-config.js';

export interface AdapterWeights {
  r: number;
  alpha: number;
  rslora: boolean;
  targets: LoraTarget[];
  /** PEFT name → fp32 data (A [r, in], B [out, r]). */
  tensors: Map<string, Float32Array>;
  /** The file the weights were read from, named when they do not fit a model. */
  source?: string;
}

/** PEFT `target_modules` (q_proj, gate_proj, ...) to Graft's short names, in canonical order. */
export function targetsFromModules(modules: readonly string[] | string, file: string): LoraTarget[] {
  const list = typeof modules === 'string' ? [modules] : modules;
  const byModule = new Map(MODULE_TARGETS.map((t) => [TARGET_MODULE[t].split('.')[1], t]));
  const out = new Set<LoraTarget>();
  for (const m of list) {
    const t = byModule.get(m.split('.').pop()!);
    if (!t) throw new GraftError('UNSUPPORTED', `${file}: LoRA target module "${m}" is not supported (supported: ${[...byModule.keys()].join(', ')})`, { file, where: 'target_modules' });
    out.add(t);
  }
  return MODULE_TARGETS.filter((t) => out.has(t));
}
