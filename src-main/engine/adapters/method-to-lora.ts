/**
 * A mergeable non-LoRA adapter (DoRA, IA³, BitFit-free of biases) turned into a plain LoRA of rank r, so
 * that it can go where only LoRA runs (llama.cpp, Ollama): each weight's change ΔW = W' − W (W' the
 * method's exact merge) is fitted by B·A through low-rank-fit.ts, alpha = r (scale 1). The relative
 * Frobenius error ‖ΔW − B·A‖ / ‖ΔW‖ is reported overall and for the worst weight, as blend.ts reports
 * LoRA compression. A merge that changes a bias (IA³ on a biased k/v, BitFit) is refused: LoRA has none.
 */
import { GraftError } from '../errors.js';
import type { WeightSource } from '../io/model-source.js';
import { readWeight } from '../models/weights.js';
import type { AdapterWeights } from './adapter-weights.js';
import { targetsFromModules } from './adapter-weights.js';
import { peftTensorName, TARGET_MODULE, type LoraTarget } from './lora-config.js';
import { lowRankFit } from './low-rank-fit.js';
import type { MethodAdapter } from './method.js';

export interface MethodToLoraResult {
  weights: AdapterWeights;
  relativeError: number;
  worst?: { tensor: string; relativeError: number };
}

const BASE_NAME = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/;

export function methodToLora(source: WeightSource, method: MethodAdapter, tensors: ReadonlyMap<string, Float32Array>, rank: number): MethodToLoraResult {
  if (!Number.isInteger(rank) || rank < 1) throw new GraftError('BAD_INPUT', `must be a whole number >= 1, got ${rank}`, { field: 'loraRank' });
  const merged = method.merge(source, tensors);
  if ('refused' in merged) throw new GraftError('UNSUPPORTED', `cannot turn a ${method.kind} adapter into a LoRA: ${merged.refused}`, { field: 'loraRank' });
  const bias = [...merged.keys()].find((n) => n.endsWith('.bias'));
  if (bias) throw new GraftError('UNSUPPORTED', `cannot turn a ${method.kind} adapter into a LoRA: its merge changes ${bias}, and a LoRA cannot change a bias`, { field: 'loraRank', where: bias });
  const names = [...merged.keys()].sort();
  const targets = targetsFromModules([...new Set(names.map((n) => BASE_NAME.exec(n)![2]))], method.kind);
  const out = new Map<string, Float32Array>();
  let residual = 0;
  let norm = 0;
  let worst: MethodToLoraResult['worst'];
  for (const name of names) {
    const [, layer, module] = BASE_NAME.exec(name)!;
    const target = (Object.keys(TARGET_MODULE) as LoraTarget[]).find((t) => TARGET_MODULE[t] === module)!;
    const [rows, cols] = source.shape(name);
    const w = readWeight(source, name);
    const w2 = merged.get(name)!;
    const fit = lowRankFit(Float64Array.from(w2, (x, j) => x - w[j]), rows, cols, rank);
    residual += fit.residual ** 2;
    norm += fit.norm ** 2;
    const rel = fit.norm > 0 ? fit.residual / fit.norm : 0;
    if (!worst || rel > worst.relativeError) worst = { tensor: name, relativeError: rel };
    out.set(peftTensorName(Number(layer), target, 'A'), Float32Array.from(fit.a));
    out.set(peftTensorName(Number(layer), target, 'B'), Float32Array.from(fit.b));
  }
  return { weights: { r: rank, alpha: rank, rslora: false, targets, tensors: out }, relativeError: norm > 0 ? Math.sqrt(residual / norm) : 0, worst };
}
