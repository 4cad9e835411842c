/**
 * What the Train form shows while the user picks: the memory estimate of the chosen method and, for every method
 * the library holds, its trainable parameter count on this model with the settings the form holds (each method
 * reads only its own). The same builders as a run (plan-method.ts, memory-estimate.ts), so the numbers are the
 * ones the run prints at its start.
 */
import { LIBRARY_METHODS } from '../adapters/method-kinds.js';
import { methodParamCount } from '../adapters/method.js';
import { loraParamCount } from '../adapters/method-options.js';
import type { WeightSource } from '../io/model-source.js';
import { specFromConfig } from '../models/index.js';
import { defaultsOf } from '../options/schema.js';
import { TRAIN_OPTIONS, type EstimateOptions, type TrainMethod, type TrainOptions } from '../options/train.js';
import { estimateForPlan, type MemoryEstimate } from './memory-estimate.js';
import { planMethod } from './plan-method.js';

export interface MethodCount {
  method: TrainMethod;
  /** Trainable values; null where the method cannot be built for this model (`problem` says why). */
  params: number | null;
  problem?: string;
}

export function methodPreview(
  source: WeightSource,
  o: EstimateOptions,
  onGpu = false,
): { estimate: MemoryEstimate; methods: MethodCount[] } {
  const spec = specFromConfig(source.config, source.path);
  const withMethod = (method: TrainMethod): TrainOptions => ({ ...defaultsOf(TRAIN_OPTIONS), ...o, method });
  const plan = planMethod(withMethod(o.method), spec);
  const estimate = estimateForPlan(source, o, plan, onGpu);
  const methods = LIBRARY_METHODS.map((method): MethodCount => {
    try {
      const p = planMethod(withMethod(method), spec);
      return { method, params: p.method ? methodParamCount(p.method) : loraParamCount(spec, p.lora) };
    } catch (err) {
      return { method, params: null, problem: (err as Error).message };
    }
  });
  return { estimate, methods };
}
