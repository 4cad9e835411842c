/**
 * The training graphs of one model + LoRA layout + batch shape, all built from the same forward:
 *  - 'loss':       forward and summed cross-entropy (evaluation);
 *  - 'grads':      + backward to the LoRA factors, the gradient as output (verification, accumulation);
 *  - 'step':       + global grad norm, clipping and AdamW, updated weights and moments as outputs,
 *                  optionally adding accumulated gradients of earlier micro-batches first;
 *  - 'apply':      AdamW alone over accumulated gradients.
 * Input and output names are stable so sessions can feed one run's outputs into the next.
 */
import { backward } from '../autodiff/backward.js';
import { keptForBackward, pruneUnused } from '../autodiff/recompute-layers.js';
import type { DType, Value } from '../graph/ir.js';
import { Graph } from '../graph/ir.js';
import type { WeightSource } from '../io/model-source.js';
import { type LoraConfig, loraScale } from '../adapters/lora-config.js';
import { loraDelta, loraSlots, type LoraSlot } from '../adapters/lora.js';
import type { MethodAdapter } from '../adapters/method.js';
import { decoderForward, lmHead } from '../models/decoder.js';
import type { ModelSpec } from '../models/spec.js';
import { plainWeights, type WeightsFactory } from '../models/weights.js';
import * as op from '../ops/index.js';
import { adamwInputs, adamwUpdate } from './adamw.js';
import { crossEntropyWithGrad, lossRows, slicedHeadLoss } from './loss.js';

export type StepPurpose = 'loss' | 'grads' | 'step' | 'apply';

export interface StepGraphOpts {
  spec: ModelSpec;
  source: WeightSource;
  lora: LoraConfig;
  batch: number;
  seq: number;
  purpose: StepPurpose;
  /** 'grads' adds `acc_keep·acc` to its gradient; 'step' adds `acc` before AdamW. */
  accumulate?: boolean;
  dtype?: DType;
  /** Also output the logits (verification). */
  logits?: boolean;
  /** How base weights enter the graph (default fp32 initializers; QLoRA passes a quantized factory). */
  weights?: WeightsFactory;
  /**
   * Another adapter method (DoRA, IA³, prefix: adapters/method.ts) trained in place of LoRA: its tensors
   * make the flat vector and its hooks rewrite the blocks; `lora` is then unused. A prefix widens the
   * mask input to [B, 1, 1, T, P+T] and positions must start at P.
   */
  adapter?: MethodAdapter;
  /**
   * Activation checkpointing: each decoder layer's forward values are recomputed in the backward from the
   * layer's input instead of kept (autodiff/recompute-layers.ts): far less memory, about a third more work.
   */
  recomputeActivations?: boolean;
  /** The LoRA factors' x·Aᵀ split along an inner axis this long or longer (adapters/lora.ts, LoraDeltaOpts): for the GPU. */
  splitInner?: number;
}

export interface ParamSlot {
  /** PEFT tensor name. */
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export interface StepGraph {
  graph: Graph;
  slots: LoraSlot[];
  /** PEFT names of the trainable tensors, in flat order. */
  params: string[];
  /** Where each tensor lives in the flat parameter vector (and in moments, accumulators, gradients). */
  layout: ParamSlot[];
  /** Length of the flat vector. */
  size: number;
  /** Bytes of forward activations the backward reads (recompute-layers.ts `keptForBackward`); 0 without a backward. */
  keptForBackward: number;
}

/**
 * All LoRA factors travel as ONE flat vector (input `lora`, moments `m.lora`/`v.lora`, gradient `grad`,
 * accumulator `acc`): the graph splits it into the factors once, and AdamW, the gradient norm and
 * accumulation are a handful of ops over one tensor instead of a dozen per factor. On the GPU, where
 * every op costs ~15 µs, that is most of a step's op count.
 */
export const FLAT = 'lora';

export function paramLayout(slots: LoraSlot[]): { layout: ParamSlot[]; size: number } {
  return tensorLayout(
    slots.flatMap((s) => [
      { name: s.peftA, shape: s.shapeA },
      { name: s.peftB, shape: s.shapeB },
    ]),
  );
}

/** Flat layout of any list of named tensors, in the given order. */
export function tensorLayout(tensors: readonly { name: string; shape: readonly number[] }[]): { layout: ParamSlot[]; size: number } {
  const layout: ParamSlot[] = [];
  let offset = 0;
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    layout.push({ name: t.name, shape: [...t.shape], offset, size });
    offset += size;
  }
  return { layout, size: offset };
}

export function flatten(layout: ParamSlot[], size: number, get: (name: string) => Float32Array | undefined): Float32Array {
  const flat = new Float32Array(size);
  for (const p of layout) {
    const d = get(p.name);
    if (!d) throw new Error(`LoRA tensor ${p.name} is missing`);
    if (d.length !== p.size) throw new Error(`LoRA tensor ${p.name} has ${d.length} values, the layout needs [${p.shape}]`);
    flat.set(d, p.offset);
  }
  return flat;
}

export function unflatten(layout: ParamSlot[], flat: Float32Array): Map<string, { shape: number[]; data: Float32Array }> {
  return new Map(layout.map((p) => [p.name, { shape: [...p.shape], data: flat.slice(p.offset, p.offset + p.size) }]));
}

export function buildStepGraph(o: StepGraphOpts): StepGraph {
  const dtype = o.dtype ?? 'float32';
  const g = new Graph(`train_${o.purpose}`);
  const slots = o.adapter ? [] : loraSlots(o.spec, o.lora);
  const { layout, size } = o.adapter ? tensorLayout(o.adapter.params) : paramLayout(slots);
  const params = layout.map((p) => p.name);
  const flat = g.input(FLAT, dtype, [size]);
  const result: StepGraph = { graph: g, slots, params, layout, size, keptForBackward: 0 };

  if (o.purpose === 'apply') {
    emitAdamW(g, flat, g.input('acc', dtype, [size]), adamwInputs(g, dtype));
    return result;
  }

  const pieces = op.splitMany(
    g,
    flat,
    layout.map((p) => p.size),
  );
  const values = new Map(layout.map((p, i) => [p.name, op.reshape(g, pieces[i], p.shape)]));
  const lora = { slots, values };

  const { batch: B, seq: T } = o;
  const ids = g.input('input_ids', 'int32', [B, T]);
  const positions = g.input('positions', 'int32', [B, T]);
  const P = o.adapter?.virtualTokens ?? 0;
  const mask = g.input('attn_mask', dtype, [B, 1, 1, T, P + T]);
  const targets = g.input('targets', 'int32', [B * T]);
  const weights = g.input('target_weights', dtype, [B * T]);
  const dropMasks = new Map<string, Value>();
  const dropout =
    !o.adapter && o.lora.dropout > 0 && o.purpose !== 'loss'
      ? (slot: LoraSlot, x: Value) => {
          // One mask per (layer, target), drawn by the host: exact resume needs the RNG on the host.
          const name = `dropout.${slot.layer}.${slot.target}`;
          let m = dropMasks.get(name);
          if (!m) dropMasks.set(name, (m = g.input(name, dtype, x.shape)));
          return m;
        }
      : undefined;

  const w = (o.weights ?? plainWeights)(g, o.source, dtype);
  const fwd = decoderForward(
    w,
    o.spec,
    { ids, positions, mask },
    o.adapter
      ? { ropeLength: P + T, hooks: o.adapter.hooks(g, values, B) }
      : { ropeLength: T, delta: loraDelta(g, lora, loraScale(o.lora), dropout, { splitInner: o.splitInner }) },
  );
  // With activation checkpointing (memory before speed), logits over lossChunking's budget are never made whole:
  // the head and loss run over slices of rows (loss.ts). Without it they are, the faster form.
  const rows = o.logits || !o.recomputeActivations ? B * T : lossRows(B * T, o.spec.vocab, 4);
  const wantGrad = o.purpose !== 'loss';
  let seed: { at: Value; d: Value | null; lossSum: Value };
  if (rows < B * T) {
    const r = slicedHeadLoss(g, (h) => lmHead(w, o.spec, h), fwd.hidden, targets, weights, wantGrad, rows);
    seed = { at: fwd.hidden, d: r.dHidden, lossSum: r.lossSum };
  } else {
    const logits = lmHead(w, o.spec, fwd.hidden);
    if (o.logits) g.output(logits, 'logits');
    const r = crossEntropyWithGrad(g, logits, targets, weights, wantGrad);
    seed = { at: logits, d: r.dLogits, lossSum: r.lossSum };
  }
  // Outputs are the computed values themselves, not Identity copies: a captured step replays only dispatches.
  g.outputRenamed(seed.lossSum, 'loss_sum');
  if (o.purpose === 'loss') return result;

  // The loss's gradient w.r.t. the logits (or, sliced, the final hidden states) is written out; autodiff takes it from there.
  const forward = new Set(g.nodes);
  const [grad] = backward(g, seed.at, [flat], seed.d!, { recompute: o.recomputeActivations ? fwd.layerSpans : undefined }).grads;
  if (o.purpose === 'grads') {
    if (o.accumulate) {
      const keep = g.input('acc_keep', dtype, []);
      g.outputRenamed(op.add(g, grad, op.mul(g, g.input('acc', dtype, [size]), keep)), 'grad');
    } else {
      g.outputRenamed(grad, 'grad');
    }
  } else {
    const total = o.accumulate ? op.add(g, grad, g.input('acc', dtype, [size])) : grad;
    emitAdamW(g, flat, total, adamwInputs(g, dtype));
  }
  // The recomputation clones every value a gradient rule might read; those none read go.
  if (o.recomputeActivations) pruneUnused(g);
  result.keptForBackward = keptForBackward(g, forward);
  return result;
}

function emitAdamW(g: Graph, param: Value, grad: Value, h: ReturnType<typeof adamwInputs>): void {
  const out = adamwUpdate(g, [{ name: FLAT, param, grad }], h);
  g.outputRenamed(out.gradNorm, 'grad_norm');
  g.outputRenamed(out.params[0], 'new_lora');
  g.outputRenamed(out.m[0], 'new_m');
  g.outputRenamed(out.v[0], 'new_v');
}
