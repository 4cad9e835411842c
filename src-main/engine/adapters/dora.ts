/**
 * DoRA as PEFT's LoraConfig(use_dora=True) computes it on a Linear: the LoRA update, then each output
 * row rescaled to a learned magnitude m:
 *   y = b + (m / ‖W + s·B·A‖) ⊙ (W·x + s·B·A·x)
 * where ‖·‖ is the L2 norm of each row of the merged weight (PEFT's weight_norm over dim 1) and the
 * norm is DETACHED (PEFT's "see section 4.3 of the DoRA paper"): no gradient flows through it, so the
 * backward is that of a per-row constant scale. Tensors (PEFT names): lora_A [r, in], lora_B [out, r],
 * lora_magnitude_vector [out]. Init: A kaiming-uniform, B zero, m = ‖W‖ per row, so the block is
 * unchanged at init. Merging is exact: W' = (m/‖W + s·B·A‖) ⊙ (W + s·B·A), bias unchanged.
 */
import { deriveSeed, SeededRng } from '../data/rng.js';
import type { Graph, Value } from '../graph/ir.js';
import type { WeightSource } from '../io/model-source.js';
import type { ModelSpec } from '../models/spec.js';
import { readWeight } from '../models/weights.js';
import * as op from '../ops/index.js';
import { type LoraConfig, loraScale, peftTensorName, TARGET_MODULE } from './lora-config.js';
import { loraSlots } from './lora.js';
import { mergedWeight } from './merge.js';
import type { MethodAdapter } from './method.js';

export type DoraConfig = Pick<LoraConfig, 'r' | 'alpha' | 'rslora' | 'targets'>;

export const magnitudeName = (layer: number, target: LoraConfig['targets'][number]) =>
  peftTensorName(layer, target, 'A').replace(/lora_A\.weight$/, 'lora_magnitude_vector');

/** Row norms of an [out, in] matrix, accumulated in float64. */
export function rowNorms(w: Float32Array, out: number, inp: number): Float32Array {
  const n = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let s = 0;
    for (let i = 0; i < inp; i++) s += w[o * inp + i] ** 2;
    n[o] = Math.sqrt(s);
  }
  return n;
}

export function doraMethod(spec: ModelSpec, cfg: DoraConfig): MethodAdapter {
  const slots = loraSlots(spec, cfg);
  const s = loraScale(cfg);
  const baseName = (layer: number, t: LoraConfig['targets'][number]) => `model.layers.${layer}.${TARGET_MODULE[t]}.weight`;
  const params = slots.flatMap((sl) => [
    { name: sl.peftA, shape: [...sl.shapeA] },
    { name: sl.peftB, shape: [...sl.shapeB] },
    { name: magnitudeName(sl.layer, sl.target), shape: [sl.shapeB[0]] },
  ]);
  const bySlot = new Map(slots.map((sl) => [`${sl.layer}.${sl.target}`, sl]));
  return {
    kind: 'dora',
    spec,
    params,
    virtualTokens: 0,
    hooks(g: Graph, values: ReadonlyMap<string, Value>) {
      return {
        linear: (layer, target, x, frozen) => {
          const sl = bySlot.get(`${layer}.${target}`);
          if (!sl) return null;
          const a = values.get(sl.peftA)!;
          const b = values.get(sl.peftB)!;
          const m = values.get(magnitudeName(layer, target))!;
          const lora = op.gemm(g, op.gemm(g, x, a, null, { transB: true }), b, null, { transB: true, alpha: s });
          const norm = g.noGrad(() => {
            const merged = op.add(g, frozen.weight(), op.gemm(g, b, a, null, { alpha: s }));
            return op.sqrt(g, op.reduceSum(g, op.square(g, merged), [1]));
          });
          const y = op.mul(g, op.add(g, frozen.apply(x, false), lora), op.div(g, m, norm));
          return frozen.bias ? op.add(g, y, frozen.bias) : y;
        },
      };
    },
    init(source: WeightSource, seed: number) {
      const rng = new SeededRng(deriveSeed(seed, 0xd0a));
      const out = new Map<string, Float32Array>();
      for (const sl of slots) {
        const bound = 1 / Math.sqrt(sl.shapeA[1]);
        out.set(sl.peftA, Float32Array.from({ length: sl.shapeA[0] * sl.shapeA[1] }, () => (rng.next() * 2 - 1) * bound));
        out.set(sl.peftB, new Float32Array(sl.shapeB[0] * sl.shapeB[1]));
        out.set(magnitudeName(sl.layer, sl.target), rowNorms(readWeight(source, baseName(sl.layer, sl.target)), sl.shapeB[0], sl.shapeA[1]));
      }
      return out;
    },
    merge(source: WeightSource, tensors) {
      const out = new Map<string, Float32Array>();
      for (const sl of slots) {
        const [o, i] = [sl.shapeB[0], sl.shapeA[1]];
        const w = mergedWeight(readWeight(source, baseName(sl.layer, sl.target)), tensors.get(sl.peftA)!, tensors.get(sl.peftB)!, o, i, cfg.r, s);
        const norm = rowNorms(w, o, i);
        const m = tensors.get(magnitudeName(sl.layer, sl.target))!;
        for (let k = 0; k < w.length; k++) w[k] *= m[Math.floor(k / i)] / norm[Math.floor(k / i)];
        out.set(baseName(sl.layer, sl.target), w);
      }
      return out;
    },
    peftConfig: () => ({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      use_dora: true,
      r: cfg.r,
      lora_alpha: cfg.alpha,
      use_rslora: cfg.rslora,
      lora_dropout: 0,
      bias: 'none',
      fan_in_fan_out: false,
      init_lora_weights: true,
      target_modules: cfg.targets.map((t) => TARGET_MODULE[t].split('.')[1]),
      inference_mode: true,
    }),
  };
}
