/**
 * Weighted merges of non-LoRA adapters (LoRA's own are blend.ts), where the arithmetic allows:
 * - IA³: every merged weight is linear in the vectors (diag(l)·W, W·diag(l)), so l = Σ wᵢ·lᵢ gives exactly
 *   the weighted sum of the adapters' merged weights. Exact; needs the same targets in every input.
 * - DoRA: each input rescales its rows by m/‖W + ΔW‖, which is not linear in the adapter, so no DoRA
 *   below full rank equals the weighted sum: refused as exact. With a rank r the target
 *   W* = W + Σ wᵢ·(W'ᵢ − W) (W'ᵢ each input's exact merge) is fitted as a DoRA of rank r: B·A from the
 *   SVD of W* − W (low-rank-fit.ts, alpha = r so the scale is 1) and m = the row norms of W*, the error
 *   ‖W_fit − W*‖_F / ‖W* − W‖_F reported as blend.ts reports LoRA's.
 * - bottleneck, prefix, stacks and fusions are refused with the reason (and what to use instead).
 * Every refusal is a GraftError with the option's field ('compose' or 'mergeRank').
 */
import { GraftError } from '../errors.js';
import type { WeightSource } from '../io/model-source.js';
import { readWeight } from '../models/weights.js';
import { doraMethod, magnitudeName, rowNorms } from './dora.js';
import { targetsFromModules } from './adapter-weights.js';
import { peftTensorName, TARGET_MODULE, type LoraTarget } from './lora-config.js';
import { lowRankFit } from './low-rank-fit.js';
import type { MethodAdapter } from './method.js';

export interface MethodBlendInput {
  adapter: MethodAdapter;
  tensors: ReadonlyMap<string, Float32Array>;
  weight: number;
  label?: string;
}

export interface MethodBlendResult {
  adapter: MethodAdapter;
  tensors: Map<string, Float32Array>;
  mode: 'exact' | 'svd';
  /** ‖W_fit − W*‖_F / ‖W* − W‖_F over all merged weights together (0 when exact). */
  relativeError: number;
  worst?: { tensor: string; relativeError: number };
}

const WHY_NOT: Record<string, string> = {
  prefix: 'prefix tuning adds attention positions, not weights: an average of prefixes is not an average of the models; stack them instead',
  stack: 'merge the parts of a stack one by one',
  fusion: 'an AdapterFusion already combines its adapters; merge its adapters instead',
};

export function blendMethods(source: WeightSource, inputs: readonly MethodBlendInput[], opts: { rank?: number | null } = {}): MethodBlendResult {
  if (inputs.length === 0) throw new GraftError('BAD_INPUT', 'nothing to merge', { field: 'compose' });
  const kinds = [...new Set(inputs.map((i) => i.adapter.kind))];
  if (kinds.length > 1) throw new GraftError('UNSUPPORTED', `merge takes adapters of one method, got ${kinds.join(' and ')}; stack them instead`, { field: 'compose' });
  const kind = kinds[0];
  if (kind === 'ia3') {
    if (opts.rank) throw new GraftError('BAD_INPUT', 'IA³ adapters merge exactly; a rank applies to DoRA merges only', { field: 'mergeRank' });
    return blendIa3(inputs);
  }
  if (kind === 'dora') {
    if (!opts.rank)
      throw new GraftError(
        'UNSUPPORTED',
        'DoRA adapters have no exact weighted merge: each rescales its rows by m/‖W + ΔW‖, which is not linear in the adapter, so no DoRA below full rank equals their weighted sum; give a rank for an SVD fit (its error is reported), or merge each into the base',
        { field: 'mergeRank' },
      );
    return blendDora(source, inputs, opts.rank);
  }
  const why = WHY_NOT[kind] ?? `a ${kind} adapter adds a non-linear block: averaging its weights is not averaging the models; stack them, or train an AdapterFusion over them`;
  throw new GraftError('UNSUPPORTED', `merge cannot combine ${kind} adapters: ${why}`, { field: 'compose' });
}

function blendIa3(inputs: readonly MethodBlendInput[]): MethodBlendResult {
  const first = inputs[0].adapter;
  const layout = (m: MethodAdapter) => JSON.stringify(m.params);
  const other = inputs.find((i) => layout(i.adapter) !== layout(first));
  if (other) throw new GraftError('UNSUPPORTED', `IA³ adapters merge only over the same targets: ${other.label ?? 'one input'} adapts others`, { field: 'compose' });
  const tensors = new Map<string, Float32Array>();
  for (const p of first.params) {
    const sum = new Float32Array(inputs[0].tensors.get(p.name)!.length);
    for (const i of inputs) i.tensors.get(p.name)!.forEach((x, k) => (sum[k] += i.weight * x));
    tensors.set(p.name, sum);
  }
  return { adapter: first, tensors, mode: 'exact', relativeError: 0 };
}

const BASE_NAME = /^model\.layers\.(\d+)\.(.+)\.weight$/;

function blendDora(source: WeightSource, inputs: readonly MethodBlendInput[], rank: number): MethodBlendResult {
  const spec = inputs[0].adapter.spec;
  const merged = inputs.map((i) => {
    const m = i.adapter.merge(source, i.tensors);
    if ('refused' in m) throw new GraftError('UNSUPPORTED', `${i.label ?? i.adapter.kind}: ${m.refused}`, { field: 'compose' });
    return m;
  });
  const names = [...new Set(merged.flatMap((m) => [...m.keys()]))].sort();
  const targets = targetsFromModules([...new Set(names.map((n) => BASE_NAME.exec(n)![2]))], 'the merged adapters');
  const adapter = doraMethod(spec, { r: rank, alpha: rank, rslora: false, targets });
  const tensors = new Map<string, Float32Array>();
  let residual = 0;
  let norm = 0;
  let worst: MethodBlendResult['worst'];
  for (const name of names) {
    const [, layerText, module] = BASE_NAME.exec(name)!;
    const layer = Number(layerText);
    const target = (Object.keys(TARGET_MODULE) as LoraTarget[]).find((t) => TARGET_MODULE[t] === module)!;
    const [out, inp] = source.shape(name);
    const w = readWeight(source, name);
    const delta = new Float64Array(w.length);
    inputs.forEach((input, k) => {
      const wk = merged[k].get(name);
      if (wk) for (let j = 0; j < w.length; j++) delta[j] += input.weight * (wk[j] - w[j]);
    });
    const fit = lowRankFit(delta, out, inp, rank);
    const wanted = Float32Array.from(w, (x, j) => x + delta[j]);
    const m = rowNorms(wanted, out, inp);
    // The fitted DoRA's merged weight, m ⊙ (W + B·A)/‖W + B·A‖, against W*.
    const dir = Float32Array.from(w);
    for (let i = 0; i < out; i++) for (let r = 0; r < rank; r++) for (let j = 0; j < inp; j++) dir[i * inp + j] += fit.b[i * rank + r] * fit.a[r * inp + j];
    const dirNorm = rowNorms(dir, out, inp);
    let res = 0;
    let nrm = 0;
    for (let j = 0; j < w.length; j++) {
      const row = Math.floor(j / inp);
      res += (dir[j] * (m[row] / dirNorm[row]) - wanted[j]) ** 2;
      nrm += delta[j] ** 2;
    }
    residual += res;
    norm += nrm;
    const rel = nrm > 0 ? Math.sqrt(res / nrm) : 0;
    if (!worst || rel > worst.relativeError) worst = { tensor: name, relativeError: rel };
    tensors.set(peftTensorName(layer, target, 'A'), Float32Array.from(fit.a));
    tensors.set(peftTensorName(layer, target, 'B'), Float32Array.from(fit.b));
    tensors.set(magnitudeName(layer, target), m);
  }
  for (const p of adapter.params) if (!tensors.has(p.name)) throw new Error(`blendDora: ${p.name} was not produced`);
  return { adapter, tensors, mode: 'svd', relativeError: norm > 0 ? Math.sqrt(residual / norm) : 0, worst };
}
