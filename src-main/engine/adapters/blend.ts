/**
 * Blend N LoRA adapters with weights into one: ΔW = Σ wᵢ·sᵢ·Bᵢ·Aᵢ for every adapted weight (sᵢ = each
 * adapter's own alpha/r scale).
 * - exact: ranks are concatenated (A stacked, each wᵢ·sᵢ folded into its B block); r = Σ rᵢ, alpha = r so the
 *   scale is 1. Applying the blend equals applying every input at scale wᵢ.
 * - compressed: each ΔW is cut back to rank r through a small SVD (blend-svd.ts); the relative Frobenius
 *   error ‖ΔW − ΔW_r‖ / ‖ΔW‖ is reported overall and for the worst weight.
 */
import { GraftError } from '../errors.js';
import type { AdapterWeights } from './adapter-weights.js';
import { compressLowRank } from './blend-svd.js';
import { baseWeightName, parseLoraTensorName } from './compat.js';
import { MODULE_TARGETS, loraScale, peftTensorName, type LoraTarget } from './lora-config.js';

export interface BlendInput {
  adapter: AdapterWeights;
  weight: number;
  /** For messages. */
  label?: string;
}

export interface BlendResult {
  weights: AdapterWeights;
  mode: 'exact' | 'compressed';
  /** ‖ΔW − ΔW_blend‖_F / ‖ΔW‖_F over all adapted weights together (0 for exact). */
  relativeError: number;
  /** The adapted weight that lost the most, for compressed blends. */
  worst?: { tensor: string; relativeError: number };
}

interface Module {
  layer: number;
  target: LoraTarget;
  inDim: number;
  outDim: number;
}

/** Every (layer, target) adapted by any input, with its dimensions checked to agree across inputs. */
function modulesOf(inputs: BlendInput[]): Module[] {
  const mods = new Map<string, Module>();
  inputs.forEach((inp, i) => {
    const label = inp.label ?? `adapter ${i + 1}`;
    for (const [name, data] of inp.adapter.tensors) {
      const p = parseLoraTensorName(name);
      if (!p || p.factor !== 'A') continue;
      const inDim = data.length / inp.adapter.r;
      const b = inp.adapter.tensors.get(peftTensorName(p.layer, p.target, 'B'));
      if (!b) throw new GraftError('BAD_INPUT', `${label}: ${name} has no lora_B partner`, { where: name });
      const outDim = b.length / inp.adapter.r;
      const key = `${p.layer}.${p.target}`;
      const seen = mods.get(key);
      if (seen && (seen.inDim !== inDim || seen.outDim !== outDim)) {
        throw new GraftError('INCOMPATIBLE', `${label}: ${name} adapts a [${outDim}, ${inDim}] weight but another input adapts it as [${seen.outDim}, ${seen.inDim}]; the adapters are for different base models`, { where: name });
      }
      mods.set(key, { layer: p.layer, target: p.target, inDim, outDim });
    }
  });
  return [...mods.values()].sort((a, b) => a.layer - b.layer || MODULE_TARGETS.indexOf(a.target) - MODULE_TARGETS.indexOf(b.target));
}

/** Stacked factors of one module in float64: A [R, in] and B [out, R] with wᵢ·sᵢ folded into B. */
function concatenated(inputs: BlendInput[], m: Module, R: number): { a: Float64Array; b: Float64Array } {
  const a = new Float64Array(R * m.inDim);
  const b = new Float64Array(m.outDim * R);
  let offset = 0;
  for (const inp of inputs) {
    const r = inp.adapter.r;
    const ai = inp.adapter.tensors.get(peftTensorName(m.layer, m.target, 'A'));
    const bi = inp.adapter.tensors.get(peftTensorName(m.layer, m.target, 'B'));
    if (ai && bi) {
      const f = inp.weight * loraScale(inp.adapter);
      a.set(ai, offset * m.inDim);
      for (let o = 0; o < m.outDim; o++) for (let j = 0; j < r; j++) b[o * R + offset + j] = f * bi[o * r + j];
    }
    offset += r;
  }
  return { a, b };
}

export function blendAdapters(inputs: BlendInput[], opts: { rank?: number } = {}): BlendResult {
  if (inputs.length === 0) throw new GraftError('BAD_INPUT', 'a blend needs at least one adapter');
  for (const inp of inputs) {
    if (!Number.isFinite(inp.weight)) throw new GraftError('BAD_INPUT', `weight of ${inp.label ?? 'an adapter'} is not a number`, { where: inp.label });
  }
  const mods = modulesOf(inputs);
  const R = inputs.reduce((s, i) => s + i.adapter.r, 0);
  const rank = opts.rank ?? R;
  if (!Number.isInteger(rank) || rank < 1) throw new GraftError('BAD_INPUT', `blend rank must be a positive integer, got ${opts.rank}`, { where: 'rank' });
  const compressed = opts.rank !== undefined && opts.rank < R;
  const tensors = new Map<string, Float32Array>();
  let lost = 0, total = 0;
  let worst: BlendResult['worst'];
  for (const m of mods) {
    const { a, b } = concatenated(inputs, m, R);
    const nameA = peftTensorName(m.layer, m.target, 'A');
    const nameB = peftTensorName(m.layer, m.target, 'B');
    if (!compressed) {
      // a rank above Σrᵢ only pads with zeros
      const outA = new Float32Array(rank * m.inDim), outB = new Float32Array(m.outDim * rank);
      outA.set(a);
      for (let o = 0; o < m.outDim; o++) for (let j = 0; j < R; j++) outB[o * rank + j] = b[o * R + j];
      tensors.set(nameA, outA);
      tensors.set(nameB, outB);
      continue;
    }
    const c = compressLowRank(b, a, m.outDim, m.inDim, R, rank);
    tensors.set(nameA, Float32Array.from(c.a));
    tensors.set(nameB, Float32Array.from(c.b));
    let all = 0, tail = 0;
    c.sigma.forEach((s, j) => {
      all += s * s;
      if (j >= rank) tail += s * s;
    });
    lost += tail;
    total += all;
    const rel = all > 0 ? Math.sqrt(tail / all) : 0;
    if (!worst || rel > worst.relativeError) worst = { tensor: baseWeightName(m.layer, m.target), relativeError: rel };
  }
  const targets = MODULE_TARGETS.filter((t) => mods.some((m) => m.target === t));
  return {
    weights: { r: rank, alpha: rank, rslora: false, targets, tensors },
    mode: compressed ? 'compressed' : 'exact',
    relativeError: total > 0 ? Math.sqrt(lost / total) : 0,
    ...(worst ? { worst } : {}),
  };
}
