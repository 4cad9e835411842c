/**
 * Per-row LoRA for the fused graph. Targets that share a fused projection (q/k/v, gate/up) share one
 * low-rank pair: Aᵀ blocks side by side along the rank, Bᵀ block-diagonal over the output slices, so
 * x·Aᵀ·Bᵀ is exactly the concatenation [Δq | Δk | Δv] in two MatMuls. o and down keep row-lora's
 * inputs unchanged (same names and shapes), so only the grouped inputs are rebuilt from its feeds.
 *
 * On the GPU the first product is split along K (loraSlices): x·Aᵀ for one token is [1, in]·[in, r] per
 * row, which the EP's MatMul runs on ceil(r/32) workgroups a row, each looping over all of `in` (a
 * 4,864-long down projection's input on 4 workgroups for 4 rows, where the base's own down projection on
 * 28 took 200 µs). Aᵀ is then fed laid out [S, B, in/S, r], the bytes of splitKProjection's slices.
 */
import type { RowLoraLayout } from '../../adapters/row-lora.js';
import type { LoraTarget } from '../../adapters/lora-config.js';
import { targetDims } from '../../adapters/lora.js';
import type { Graph, Value } from '../../graph/ir.js';
import type { ModelSpec } from '../../models/spec.js';
import type { HostTensor } from '../../runtime/tensors.js';
import { f16Bits } from '../../io/half.js';
import { projectionSlices } from './nodes.js';

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
  /** The input width of the targets' own Aᵀ (in, less the stream's padding). */
  realIn: number;
  /** Output width of the whole fused projection. */
  out: number;
  /** The layout's targets of this group, each with its output column offset. */
  parts: { target: LoraTarget; offset: number; out: number }[];
}

/**
 * A group's shape in a graph whose residual stream is `width` wide (nodes.ts, streamWidth): q/k/v and gate/up
 * read it (their Aᵀ gains zero rows), o and down write into it (their Bᵀ gains zero columns).
 */
function groupShape(spec: ModelSpec, layout: RowLoraLayout, group: FusedGroup, width = spec.hidden): GroupShape | null {
  const all = groupTargets(spec, group);
  let offset = 0;
  const parts: GroupShape['parts'] = [];
  for (const t of all) {
    const d = targetDims(spec, t);
    if (layout.targets.includes(t)) parts.push({ target: t, offset, out: d.out });
    offset += d.out;
  }
  if (parts.length === 0) return null;
  const reads = group === 'qkv' || group === 'gu';
  return { in: reads ? width : targetDims(spec, all[0]).in, realIn: targetDims(spec, all[0]).in, out: reads ? offset : width, parts };
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
  /** The residual stream's width (gpu-forms.ts, fusedStreamWidth); default the hidden size. */
  streamWidth?: number;
  /** Aᵀ and Bᵀ in fp16, as an fp16 graph's activations (gpu-forms.ts, fusedHalf). */
  half?: boolean;
}

/** Slices of a group's x·Aᵀ under these forms, for B rows of rank r (loraSlices, after the base's projectionSlices). */
function groupSlices(s: GroupShape, r: number, rows: number, f: SplitForms): number {
  return loraSlices(s.in, r, rows, f.loraSplitK ?? 0, projectionSlices(s.in, s.out, f.splitK ?? 0, f.splitKAll));
}

/**
 * Graph inputs per (layer, group): Aᵀ [B, in, n·R] ([S, B, in/S, n·R] when split, loraSlices), Bᵀ [B, n·R, out]
 * for the n targets of the group in the layout.
 */
export function fusedLoraInputs(g: Graph, spec: ModelSpec, layout: RowLoraLayout, batch: number, forms: SplitForms = {}): (layer: number, group: FusedGroup) => { at: Value; bt: Value } | null {
  const inputs = new Map<string, { at: Value; bt: Value }>();
  const R = layout.rank;
  const dtype = forms.half ? 'float16' : 'float32';
  for (let layer = 0; layer < spec.layers; layer++) {
    for (const group of Object.keys(GROUP_TARGETS) as FusedGroup[]) {
      const s = groupShape(spec, layout, group, forms.streamWidth);
      if (!s) continue;
      const r = s.parts.length * R;
      const S = groupSlices(s, r, batch, forms);
      inputs.set(`${layer}.${group}`, {
        at: g.input(atName(layer, group), dtype, S > 1 ? [S, batch, s.in / S, r] : [batch, s.in, r]),
        bt: g.input(btName(layer, group), dtype, [batch, r, s.out]),
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
  const feeds = groupedLoraFeeds(spec, layout, plain, forms.streamWidth);
  for (let layer = 0; layer < spec.layers; layer++) {
    for (const group of Object.keys(GROUP_TARGETS) as FusedGroup[]) {
      const s = groupShape(spec, layout, group, forms.streamWidth);
      const t = s && feeds[atName(layer, group)];
      if (!s || !t) continue;
      const S = groupSlices(s, t.shape[2], t.shape[0], forms);
      if (S > 1) feeds[atName(layer, group)] = sliceRows(t, S);
    }
  }
  if (forms.half) for (const [n, t] of Object.entries(feeds)) feeds[n] = { dtype: 'float16', shape: t.shape, data: f16Bits(t.data as Float32Array) };
  return feeds;
}

function groupedLoraFeeds(spec: ModelSpec, layout: RowLoraLayout, plain: Readonly<Record<string, HostTensor>>, width?: number): Record<string, HostTensor> {
  const R = layout.rank;
  const feeds: Record<string, HostTensor> = {};
  for (let layer = 0; layer < spec.layers; layer++) {
    for (const group of Object.keys(GROUP_TARGETS) as FusedGroup[]) {
      const s = groupShape(spec, layout, group, width);
      if (!s) continue;
      if (s.parts.length === 1 && s.out === s.parts[0].out && s.in === s.realIn) {
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
        // a's rows are the target's own inputs (realIn); the stream's padding rows stay zero
        for (let row = 0; row < B; row++) {
          for (let i = 0; i < s.realIn; i++) at.set(a.subarray((row * s.realIn + i) * R, (row * s.realIn + i + 1) * R), (row * s.in + i) * n * R + j * R);
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
