/**
 * Per-row LoRA for the fused graph. Targets that share a fused projection (q/k/v, gate/up) share one
 * low-rank pair: Aᵀ blocks side by side along the rank, Bᵀ block-diagonal over the output slices, so
 * x·Aᵀ·Bᵀ is exactly the concatenation [Δq | Δk | Δv] in two MatMuls. o and down keep row-lora's
 * inputs unchanged (same names and shapes), so only the grouped inputs are rebuilt from its feeds.
 *
 * On the GPU the first product is split along K (loraSlices): x·Aᵀ for one token is [1, in]·[in, r] per
 * row, which the EP's MatMul runs on ceil(r/32) workgroups a row, each looping over all of `in` (a
 * 4,864-long down projection's input on 4 workgroups for 4 rows, where the base's own down projection on
 * 28 took 200 µs). Where the base projection of the same input is split the same way, Aᵀ is fed laid out
 * [S, B, in/S, r], the bytes of splitKProjection's slices, and x's transposed slices are shared with the base.
 * Where they are not (gate/up, whose base is split in few slices for its width), x is read in place instead
 * (inPlaceSliceProduct): Aᵀ keeps its own bytes, seen as [B, 1, S, in/S, r], and the transpose the rows alone
 * would need is not made: one dispatch fewer a layer.
 */
import type { RowLoraLayout } from '../../adapters/row-lora.js';
import type { LoraTarget } from '../../adapters/lora-config.js';
import { targetDims } from '../../adapters/lora.js';
import type { Graph, Value } from '../../graph/ir.js';
import { sharedI64 } from '../../graph/shared.js';
import type { ModelSpec } from '../../models/spec.js';
import type { HostTensor } from '../../runtime/tensors.js';
import { node, projectionSlices } from './nodes.js';

export type FusedGroup = 'qkv' | 'o' | 'gu' | 'down';

export const GROUP_TARGETS: Record<FusedGroup, readonly LoraTarget[]> = {
  qkv: ['q', 'k', 'v'],
  o: ['o'],
  gu: ['gate', 'up'],
  down: ['down'],
};

/** A group's targets: a model whose checkpoint fuses the projection (Phi-3) has the one fused target. */
const groupTargets = (spec: ModelSpec, group: FusedGroup): readonly LoraTarget[] =>
  spec.fusedProjections && group === 'qkv' ? ['qkv'] : spec.fusedProjections && group === 'gu' ? ['gate_up'] : GROUP_TARGETS[group];

const atName = (layer: number, group: string) => `lora_at.${layer}.${group}`;
const btName = (layer: number, group: string) => `lora_bt.${layer}.${group}`;

interface GroupShape {
  in: number;
  /** Output width of the whole fused projection. */
  out: number;
  /** The layout's targets of this group, each with its output column offset. */
  parts: { target: LoraTarget; offset: number; out: number }[];
}

function groupShape(spec: ModelSpec, layout: RowLoraLayout, group: FusedGroup): GroupShape | null {
  const all = groupTargets(spec, group);
  let offset = 0;
  const parts: GroupShape['parts'] = [];
  for (const t of all) {
    const d = targetDims(spec, t);
    if (layout.targets.includes(t)) parts.push({ target: t, offset, out: d.out });
    offset += d.out;
  }
  if (parts.length === 0) return null;
  return { in: targetDims(spec, all[0]).in, out: offset, parts };
}

/** Workgroups the split x·Aᵀ aims at, at most: beyond this the slices' loops are short already. */
const LORA_WORKGROUPS = 256;
/** Partial results a split x·Aᵀ may hold per token (S·B·r floats); prefill runs T tokens through the same graph. */
const LORA_MAX_PARTIALS = 16_384;

/** Fewest workgroups for which the rows' x·Aᵀ takes the base projection's slicing (and its transposed x). */
const LORA_SHARED_MIN_WORKGROUPS = 64;

/**
 * Slices of K for the rows' x·Aᵀ [B, 1, K]·[B, K, r] on the GPU. Where the base projection of the same input is
 * split in `baseS` slices, the same (splitKProjection then transposes x once for both), if that gives at least
 * LORA_SHARED_MIN_WORKGROUPS. Else the fewest that give the EP's MatMul about LORA_WORKGROUPS workgroups
 * (B·ceil(r/32) a slice), in slices of at least 32 inputs and a multiple of 4 (its vec4 path). 1, a plain
 * batched MatMul, when `workgroups` is 0 (the CPU, or split-K turned off) or nothing fits.
 */
export function loraSlices(K: number, r: number, rows: number, workgroups: number, baseS = 1): number {
  if (workgroups <= 0) return 1;
  const per = rows * Math.ceil(r / 32);
  if (baseS > 1 && baseS * per >= LORA_SHARED_MIN_WORKGROUPS && baseS * rows * r <= LORA_MAX_PARTIALS) return baseS;
  const want = Math.ceil(Math.min(workgroups, LORA_WORKGROUPS) / per);
  let best = 1;
  for (let S = 2; S <= K / 32; S++) {
    if (K % S !== 0 || (K / S) % 4 !== 0 || S * rows * r > LORA_MAX_PARTIALS) continue;
    best = S;
    if (S >= want) break;
  }
  return best;
}

/** How the fused graph splits products (its options, or gpu-forms.ts's): the rows' x·Aᵀ follows from them. */
export interface SplitForms {
  splitK?: number;
  splitKAll?: boolean;
  loraSplitK?: number;
  loraBroadcast?: boolean;
}

/**
 * Slices of a group's x·Aᵀ under these forms, for B rows of rank r (loraSlices, after the base's projectionSlices),
 * and whether x is read in place: the slicing is not the base's, so no transpose of x is there to share.
 */
function groupForm(s: GroupShape, r: number, rows: number, f: SplitForms): { S: number; inPlace: boolean } {
  const baseS = projectionSlices(s.in, s.out, f.splitK ?? 0, f.splitKAll);
  const S = loraSlices(s.in, r, rows, f.loraSplitK ?? 0, baseS);
  return { S, inPlace: S > 1 && S !== baseS && f.loraBroadcast === true };
}

/**
 * The rows' x·Aᵀ with x [B, T, K] read in place, in S slices of K: x seen as [B, T, S, 1, K/S], Aᵀ [B, 1, S, K/S, r]
 * broadcast over the tokens, one batched MatMul to [B, T, S, 1, r] and the slices summed by one ReduceSum. A
 * prefill of T tokens reads each row's Aᵀ T times (a few hundred KB a layer and token), where decode reads it once.
 */
export function inPlaceSliceProduct(g: Graph, x: Value, at: Value): Value {
  const [B, T, K] = x.shape;
  const [, , S, Ks, r] = at.shape;
  if (S * Ks !== K) throw new Error(`in-place slices: Aᵀ ${at.shape.join('×')} does not slice x's ${K} inputs`);
  const xs = node(g, 'Reshape', [x, sharedI64(g, `inplace_x_${S}x${Ks}`, [0, 0, S, 1, Ks])], [{ dtype: x.dtype, shape: [B, T, S, 1, Ks] }])[0];
  const parts = node(g, 'MatMul', [xs, at], [{ dtype: x.dtype, shape: [B, T, S, 1, r] }])[0];
  return node(g, 'ReduceSum', [parts, sharedI64(g, 'inplace_sum_axes', [2, 3])], [{ dtype: x.dtype, shape: [B, T, r] }], { keepdims: { i: 0 } })[0];
}

/**
 * Graph inputs per (layer, group): Aᵀ [B, in, n·R] ([S, B, in/S, n·R] when split, loraSlices; [B, 1, S, in/S, n·R]
 * when split and read in place), Bᵀ [B, n·R, out] for the n targets of the group in the layout.
 */
export function fusedLoraInputs(g: Graph, spec: ModelSpec, layout: RowLoraLayout, batch: number, forms: SplitForms = {}): (layer: number, group: FusedGroup) => { at: Value; bt: Value } | null {
  const inputs = new Map<string, { at: Value; bt: Value }>();
  const R = layout.rank;
  for (let layer = 0; layer < spec.layers; layer++) {
    for (const group of Object.keys(GROUP_TARGETS) as FusedGroup[]) {
      const s = groupShape(spec, layout, group);
      if (!s) continue;
      const r = s.parts.length * R;
      const { S, inPlace } = groupForm(s, r, batch, forms);
      inputs.set(`${layer}.${group}`, {
        at: g.input(atName(layer, group), 'float32', inPlace ? [batch, 1, S, s.in / S, r] : S > 1 ? [S, batch, s.in / S, r] : [batch, s.in, r]),
        bt: g.input(btName(layer, group), 'float32', [batch, r, s.out]),
      });
    }
  }
  return (layer, group) => inputs.get(`${layer}.${group}`) ?? null;
}

/** Aᵀ [B, K, r] as S slices of K, [S, B, K/S, r]: each row's rows of Aᵀ are contiguous per slice. */
function sliceRows(t: HostTensor, S: number): HostTensor {
  const [B, K, r] = t.shape;
  const src = t.data as Float32Array;
  const block = (K / S) * r;
  const out = new Float32Array(src.length);
  for (let s = 0; s < S; s++) for (let b = 0; b < B; b++) out.set(src.subarray(b * K * r + s * block, b * K * r + (s + 1) * block), (s * B + b) * block);
  return { dtype: 'float32', shape: [S, B, K / S, r], data: out };
}

/** The fused graph's LoRA feeds from row-lora's (rowLoraFeeds) ones, Aᵀ sliced as fusedLoraInputs declares it. */
export function fusedLoraFeeds(spec: ModelSpec, layout: RowLoraLayout, plain: Readonly<Record<string, HostTensor>>, forms: SplitForms = {}): Record<string, HostTensor> {
  const feeds = groupedLoraFeeds(spec, layout, plain);
  for (let layer = 0; layer < spec.layers; layer++) {
    for (const group of Object.keys(GROUP_TARGETS) as FusedGroup[]) {
      const s = groupShape(spec, layout, group);
      const t = s && feeds[atName(layer, group)];
      if (!s || !t) continue;
      const [B, K, r] = t.shape;
      const { S, inPlace } = groupForm(s, r, B, forms);
      // in place: the same bytes, seen in slices of K
      if (inPlace) feeds[atName(layer, group)] = { ...t, shape: [B, 1, S, K / S, r] };
      else if (S > 1) feeds[atName(layer, group)] = sliceRows(t, S);
    }
  }
  return feeds;
}

function groupedLoraFeeds(spec: ModelSpec, layout: RowLoraLayout, plain: Readonly<Record<string, HostTensor>>): Record<string, HostTensor> {
  const R = layout.rank;
  const feeds: Record<string, HostTensor> = {};
  for (let layer = 0; layer < spec.layers; layer++) {
    for (const group of Object.keys(GROUP_TARGETS) as FusedGroup[]) {
      const s = groupShape(spec, layout, group);
      if (!s) continue;
      if (s.parts.length === 1 && s.out === s.parts[0].out) {
        // A group of one target: row-lora's tensors as they are.
        feeds[atName(layer, group)] = plain[`lora_at.${layer}.${s.parts[0].target}`];
        feeds[btName(layer, group)] = plain[`lora_bt.${layer}.${s.parts[0].target}`];
        continue;
      }
      const n = s.parts.length;
      const B = plain[`lora_at.${layer}.${s.parts[0].target}`].shape[0];
      const at = new Float32Array(B * s.in * n * R);
      const bt = new Float32Array(B * n * R * s.out);
      s.parts.forEach((p, j) => {
        const a = plain[`lora_at.${layer}.${p.target}`].data as Float32Array; // [B, in, R]
        const b = plain[`lora_bt.${layer}.${p.target}`].data as Float32Array; // [B, R, out_p]
        for (let row = 0; row < B; row++) {
          for (let i = 0; i < s.in; i++) at.set(a.subarray((row * s.in + i) * R, (row * s.in + i + 1) * R), (row * s.in + i) * n * R + j * R);
          for (let k = 0; k < R; k++) {
            const src = (row * R + k) * p.out;
            bt.set(b.subarray(src, src + p.out), (row * n * R + j * R + k) * s.out + p.offset);
          }
        }
      });
      feeds[atName(layer, group)] = { dtype: 'float32', shape: [B, s.in, n * R], data: at };
      feeds[btName(layer, group)] = { dtype: 'float32', shape: [B, n * R, s.out], data: bt };
    }
  }
  return feeds;
}
