/** A PEFT adapter folder as AdapterWeights for the graphs. */
import { readPeftAdapter } from '../io/peft.js';
import type { AdapterWeights } from './adapter-weights.js';
import { targetsFromModules } from './adapter-weights.js';

export function loadAdapter(dir: string): AdapterWeights {
  const peft = readPeftAdapter(dir);
  const tensors = new Map<string, Float32Array>();
  for (const [name, t] of peft.tensors) tensors.set(name.replace('.default.weight', '.weight'), t.data);
  return {
    r: peft.config.r,
    alpha: peft.config.lora_alpha,
    rslora: peft.config.use_rslora,
    targets: targetsFromModules(peft.config.target_modules, dir),
    tensors,
  };
}
