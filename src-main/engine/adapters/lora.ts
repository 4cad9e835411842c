/**
 * LoRA as PEFT defines it: y = W·x + s · B·(A·dropout(x)), with A [r, in], B [out, r] and
 * s = alpha/r (or alpha/√r with rsLoRA). The factors are graph inputs, so one session serves any
 * adapter of the same layout, and switching adapters never rebuilds a session.
 */
import { GraftError } from '../errors.js';
import type { DType, Graph, Value } from '../graph/ir.js';
import * as op from '../ops/index.js';
import { joinedColumns, withTranspose } from '../ops/recompute.js';
import { splitInnerForward } from '../ops/matmul.js';
import type { AdapterDelta } from '../models/decoder.js';
import type { ModelSpec } from '../models/spec.js';
import type { AdapterWeights } from './adapter-weights.js';
import { parseLoraTensorName } from './compat.js';
import { MODULE_TARGETS, type LoraConfig, type LoraTarget, peftTensorName } from './lora-config.js';

export interface LoraSlot {
  layer: number;
  target: LoraTarget;
  /** PEFT tensor names of the two factors. */
  peftA: string;
  peftB: string;
  shapeA: [number, number];
  shapeB: [number, number];
}

/** In and out features of each target projection. */
export function targetDims(spec: ModelSpec, target: LoraTarget): { in: number; out: number } {
  const qDim = spec.heads * spec.headDim;
  const kvDim = spec.kvHeads * spec.headDim;
  switch (target) {
    case 'q':
      return { in: spec.hidden, out: qDim };
    case 'k':
    case 'v':
      return { in: spec.hidden, out: kvDim };
    case 'o':
      return { in: qDim, out: spec.hidden };
    case 'gate':
    case 'up':
      return { in: spec.hidden, out: spec.intermediate };
    case 'down':
      return { in: spec.intermediate, out: spec.hidden };
    case 'qkv':
      return { in: spec.hidden, out: qDim + 2 * kvDim };
    case 'gate_up':
      return { in: spec.hidden, out: 2 * spec.intermediate };
  }
}

const FUSED_OF: Partial<Record<LoraTarget, LoraTarget>> = { q: 'qkv', k: 'qkv', v: 'qkv', gate: 'gate_up', up: 'gate_up' };
const SPLIT_OF: Partial<Record<LoraTarget, LoraTarget[]>> = { qkv: ['q', 'k', 'v'], gate_up: ['gate', 'up'] };

/**
 * The projections of this model that the requested targets name: on a model with fused projections
 * (Phi-3) q, k, v become qkv and gate, up become gate_up, elsewhere the reverse. So one target list
 * (the GUI's, the CLI's default) trains every family, and the adapter names what PEFT would.
 */
export function targetsFor(spec: ModelSpec, targets: readonly LoraTarget[]): LoraTarget[] {
  const out = new Set<LoraTarget>();
  for (const t of targets) {
    if (spec.fusedProjections) out.add(FUSED_OF[t] ?? t);
    else (SPLIT_OF[t] ?? [t]).forEach((u) => out.add(u));
  }
  return MODULE_TARGETS.filter((t) => out.has(t));
}

/** Every (layer, target) slot of a LoRA layout, in a stable order (layer-major, then target order). */
export function loraSlots(spec: ModelSpec, cfg: Pick<LoraConfig, 'r' | 'targets'>): LoraSlot[] {
  const slots: LoraSlot[] = [];
  for (let layer = 0; layer < spec.layers; layer++) {
    for (const target of cfg.targets) {
      const d = targetDims(spec, target);
      slots.push({
        layer,
        target,
        peftA: peftTensorName(layer, target, 'A'),
        peftB: peftTensorName(layer, target, 'B'),
        shapeA: [cfg.r, d.in],
        shapeB: [d.out, cfg.r],
      });
    }
  }
  return slots;
}

export interface LoraInputs {
  slots: LoraSlot[];
  /** Graph values of A and B by PEFT name. */
  values: Map<string, Value>;
}

/** Declares A and B of every slot as graph inputs named by their PEFT names (after `prefix`). */
export function loraInputs(g: Graph, slots: LoraSlot[], dtype: DType, prefix = ''): LoraInputs {
  const values = new Map<string, Value>();
  for (const s of slots) {
    values.set(s.peftA, g.input(prefix + s.peftA, dtype, s.shapeA));
    values.set(s.peftB, g.input(prefix + s.peftB, dtype, s.shapeB));
  }
  return { slots, values };
}

/** Targets of a (non-fused) decoder layer that read the same input: the attention's and the MLP's. */
const INPUT_GROUPS: Partial<Record<LoraTarget, LoraTarget[]>> = { q: ['q', 'k', 'v'], k: ['q', 'k', 'v'], v: ['q', 'k', 'v'], gate: ['gate', 'up'], up: ['gate', 'up'] };

export interface LoraDeltaOpts {
  /**
   * x·Aᵀ as a split-K product where few rows meet an input at least this long (ops/matmul.ts, splitInnerForward):
   * for the GPU. 0 or absent: one MatMul.
   */
  splitInner?: number;
}

/**
 * The adapter delta for the decoder. `scale` is a number (folded into the Gemm) or a scalar graph
 * value (an input, so the UI can change an adapter's strength without a rebuild). `dropout` gives,
 * per slot, a mask input already scaled by 1/(1-p), or null when dropout is off.
 */
export function loraDelta(g: Graph, lora: LoraInputs, scale: number | Value, dropout?: (slot: LoraSlot, x: Value) => Value | null, o: LoraDeltaOpts = {}): AdapterDelta {
  const bySlot = new Map(lora.slots.map((s) => [`${s.layer}.${s.target}`, s]));
  /** x·Aᵀ of a layer's targets that read the same input, by `${layer}.${target}|${x.name}`. */
  const grouped = new Map<string, Value>();
  const xaOf = (slot: LoraSlot, x: Value): Value => {
    const key = `${slot.layer}.${slot.target}|${x.name}`;
    const done = grouped.get(key);
    if (done) return done;
    const mask = dropout?.(slot, x) ?? null;
    // Without dropout the targets of one input (q, k, v; gate, up) take x·[Aq | Ak | Av]ᵀ as one product: each was
    // a [tokens, in]·[in, r] MatMul with few output tiles, each looping over all of `in` (the H200 profile of the
    // 1.5B step: 252 of them at 89 µs). Each column is the same dot product as alone. The others are the
    // layer's slots named by INPUT_GROUPS, made when the first of them asks, on the input it asks with.
    const group = mask || dropout ? [slot] : (INPUT_GROUPS[slot.target] ?? [slot.target]).map((t) => bySlot.get(`${slot.layer}.${t}`)).filter((s): s is LoraSlot => !!s);
    const xin = mask ? op.mul(g, x, mask) : x;
    // MatMuls over the factors transposed (tiny Transposes): the WebGPU EP's Gemm with transB ran these
    // products at a third of its MatMul's rate.
    const at = joinedColumns(
      g,
      group.map((s) => {
        const a = lora.values.get(s.peftA)!;
        return withTranspose(op.transpose(g, a, [1, 0]), () => a);
      }),
    );
    const xa = o.splitInner ? splitInnerForward(g, xin, at, o.splitInner) : op.matmul(g, xin, at);
    const pieces = group.length === 1 ? [xa] : op.split(g, xa, group.map((s) => s.shapeA[0]), -1);
    group.forEach((s, k) => grouped.set(`${s.layer}.${s.target}|${x.name}`, pieces[k]));
    return pieces[group.indexOf(slot)];
  };
  return (layer, target, x) => {
    const slot = bySlot.get(`${layer}.${target}`);
    if (!slot) return null;
    const xa = xaOf(slot, x);
    // The scale multiplies Bᵀ [r, out], not the [tokens, out] delta.
    const b = lora.values.get(slot.peftB)!;
    const bt = withTranspose(op.transpose(g, b, [1, 0]), () => b);
    const scaled = scale === 1 ? bt : op.mul(g, bt, typeof scale === 'number' ? op.scalar(g, scale, bt.dtype) : scale);
    return op.matmul(g, xa, scaled);
  };
}

/**
 * Refuses LoRA weights that do not fit `spec`, naming the adapter's file and the first tensor at fault: a layer
 * the model lacks, a target it does not have, or factors whose widths are not the projection's. Checked where
 * weights meet a model (logits, generation), so no graph reads past a factor or drops part of it unnoticed.
 */
export function checkAdapterFits(spec: ModelSpec, w: AdapterWeights, label: string): void {
  const who = w.source ?? label;
  const fail = (name: string, why: string) =>
    new GraftError('INCOMPATIBLE', `${who}: tensor ${name} ${why}`, { file: w.source, where: name });
  const dims = new Map(targetsFor(spec, w.targets).map((t) => [t, targetDims(spec, t)]));
  for (const [name, data] of w.tensors) {
    const p = parseLoraTensorName(name);
    if (!p) throw fail(name, 'is not a LoRA factor');
    if (p.layer >= spec.layers) throw fail(name, `is for layer ${p.layer}, but the model has ${spec.layers} layers`);
    if (!w.targets.includes(p.target)) throw fail(name, `adapts ${p.target}, which target_modules does not list (it would be left out)`);
    const d = dims.get(p.target);
    if (!d) throw fail(name, `adapts ${p.target}, which this model does not have as a separate projection`);
    const want = p.factor === 'A' ? [w.r, d.in] : [d.out, w.r];
    if (data.length !== want[0] * want[1]) throw fail(name, `has ${data.length} values, but the model needs [${want.join(', ')}]`);
  }
}
