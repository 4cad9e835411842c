/**
 * The training graphs of one model + LoRA layout + batch shape, all built from the same forward:
 *  - 'loss':       forward and summed cross-entropy (evaluation);
 *  - 'grads':      + backward to the LoRA factors, gradients as outputs (verification, accumulation);
 *  - 'step':       + global grad norm, clipping and AdamW, updated weights and moments as outputs,
 *                  optionally adding accumulated gradients of earlier micro-batches first;
 *  - 'apply':      AdamW alone over accumulated gradients.
 * Input and output names are stable so sessions can feed one run's outputs into the next.
 */
import { backward } from '../autodiff/backward.js';
import type { DType, Value } from '../graph/ir.js';
import { Graph } from '../graph/ir.js';
import type { WeightSource } from '../io/model-source.js';
import { type LoraConfig, loraScale } from '../adapters/lora-config.js';
import { loraDelta, loraInputs, loraSlots, type LoraSlot } from '../adapters/lora.js';
import { decoderForward, lmHead } from '../models/decoder.js';
import type { ModelSpec } from '../models/spec.js';
import { plainWeights, type WeightsFactory } from '../models/weights.js';
import * as op from '../ops/index.js';
import { adamwInputs, adamwUpdate } from './adamw.js';
import { crossEntropySum } from './loss.js';

export type StepPurpose = 'loss' | 'grads' | 'step' | 'apply';

export interface StepGraphOpts {
  spec: ModelSpec;
  source: WeightSource;
  lora: LoraConfig;
  batch: number;
  seq: number;
  purpose: StepPurpose;
  /** 'grads' adds `acc_keep·acc.<name>` to its gradients; 'step' adds `acc.<name>` before AdamW. */
  accumulate?: boolean;
  dtype?: DType;
  /** Also output the logits (verification). */
  logits?: boolean;
  /** How base weights enter the graph (default fp32 initializers; QLoRA passes a quantized factory). */
  weights?: WeightsFactory;
}

export interface StepGraph {
  graph: Graph;
  slots: LoraSlot[];
  /** PEFT names of the trainable tensors, in input order. */
  params: string[];
}

export const gradName = (p: string) => `grad.${p}`;
export const accName = (p: string) => `acc.${p}`;
export const newName = (p: string) => `new.${p}`;
export const newM = (p: string) => `new_m.${p}`;
export const newV = (p: string) => `new_v.${p}`;

export function buildStepGraph(o: StepGraphOpts): StepGraph {
  const dtype = o.dtype ?? 'float32';
  const g = new Graph(`train_${o.purpose}`);
  const slots = loraSlots(o.spec, o.lora);
  const lora = loraInputs(g, slots, dtype);
  const params = slots.flatMap((s) => [s.peftA, s.peftB]);
  const paramValues = params.map((p) => lora.values.get(p)!);

  if (o.purpose === 'apply') {
    const h = adamwInputs(g, dtype);
    const acc = params.map((p, i) => g.input(accName(p), dtype, paramValues[i].shape));
    emitAdamW(g, params, paramValues, acc, h);
    return { graph: g, slots, params };
  }

  const { batch: B, seq: T } = o;
  const ids = g.input('input_ids', 'int32', [B, T]);
  const positions = g.input('positions', 'int32', [B, T]);
  const mask = g.input('attn_mask', dtype, [B, 1, 1, T, T]);
  const targets = g.input('targets', 'int32', [B * T]);
  const weights = g.input('target_weights', dtype, [B * T]);
  const dropMasks = new Map<string, Value>();
  const dropout =
    o.lora.dropout > 0 && o.purpose !== 'loss'
      ? (slot: LoraSlot, x: Value) => {
          // One mask per (layer, target), drawn by the host: exact resume needs the RNG on the host.
          const name = `dropout.${slot.layer}.${slot.target}`;
          let m = dropMasks.get(name);
          if (!m) dropMasks.set(name, (m = g.input(name, dtype, x.shape)));
          return m;
        }
      : undefined;

  const w = (o.weights ?? plainWeights)(g, o.source, dtype);
  const fwd = decoderForward(w, o.spec, { ids, positions, mask }, { ropeLength: T, delta: loraDelta(g, lora, loraScale(o.lora), dropout) });
  const logits = lmHead(w, o.spec, fwd.hidden);
  if (o.logits) g.output(logits, 'logits');
  const lossSum = crossEntropySum(g, logits, targets, weights);
  g.output(lossSum, 'loss_sum');
  if (o.purpose === 'loss') return { graph: g, slots, params };

  const { grads } = backward(g, lossSum, paramValues);
  if (o.purpose === 'grads') {
    if (o.accumulate) {
      const keep = g.input('acc_keep', dtype, []);
      params.forEach((p, i) => g.output(op.add(g, grads[i], op.mul(g, g.input(accName(p), dtype, grads[i].shape), keep)), gradName(p)));
    } else {
      params.forEach((p, i) => g.output(grads[i], gradName(p)));
    }
    return { graph: g, slots, params };
  }

  const h = adamwInputs(g, dtype);
  const total = o.accumulate ? params.map((p, i) => op.add(g, grads[i], g.input(accName(p), dtype, grads[i].shape))) : grads;
  emitAdamW(g, params, paramValues, total, h);
  return { graph: g, slots, params };
}

function emitAdamW(g: Graph, params: string[], values: Value[], grads: Value[], h: ReturnType<typeof adamwInputs>): void {
  const out = adamwUpdate(
    g,
    params.map((name, i) => ({ name, param: values[i], grad: grads[i] })),
    h,
  );
  g.output(out.gradNorm, 'grad_norm');
  params.forEach((p, i) => {
    g.output(out.params[i], newName(p));
    g.output(out.m[i], newM(p));
    g.output(out.v[i], newV(p));
  });
}
