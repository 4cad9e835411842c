/**
 * LoRA for batched inference: each batch row carries its own low-rank update, so one decode serves
 * base and several adapters side by side. Per row, Aᵀ [in, R] and Bᵀ [R, out] are graph inputs; a
 * row's adapters (one, several blended, or none) are concatenated along the rank and zero-padded to
 * R, with each adapter's scale folded into its B block — exactly Σₖ sₖ·Bₖ·Aₖ·x, and exactly 0 for a
 * base row. Switching adapters or scales only changes the inputs, never the session.
 */
import type { Graph, Value } from '../graph/ir.js';
import type { AdapterDelta } from '../models/decoder.js';
import type { ModelSpec } from '../models/spec.js';
import * as op from '../ops/index.js';
import type { HostTensor } from '../runtime/tensors.js';
import type { AdapterWeights } from './adapter-weights.js';
import { MODULE_TARGETS, type LoraTarget, loraScale, peftTensorName } from './lora-config.js';
import { checkAdapterFits, targetDims } from './lora.js';

export interface RowLoraLayout {
  targets: LoraTarget[];
  /** Total rank per row after concatenation (padded). */
  rank: number;
}

export interface RowAdapter {
  weights: AdapterWeights;
  scale: number;
}

const atName = (layer: number, t: LoraTarget) => `lora_at.${layer}.${t}`;
const btName = (layer: number, t: LoraTarget) => `lora_bt.${layer}.${t}`;

/** The smallest layout that fits every row (rank rounded up to 8 so nearby adapters share a session). */
export function layoutFor(rows: readonly (readonly RowAdapter[])[]): RowLoraLayout | null {
  const targets = new Set<LoraTarget>();
  let rank = 0;
  for (const row of rows) {
    let r = 0;
    for (const a of row) {
      a.weights.targets.forEach((t) => targets.add(t));
      r += a.weights.r;
    }
    rank = Math.max(rank, r);
  }
  if (rank === 0) return null;
  return { targets: MODULE_TARGETS.filter((t) => targets.has(t)), rank: Math.ceil(rank / 8) * 8 };
}

export function rowLoraDelta(g: Graph, spec: ModelSpec, layout: RowLoraLayout, batch: number, tokens: number): AdapterDelta {
  const inputs = new Map<string, { at: Value; bt: Value }>();
  for (let layer = 0; layer < spec.layers; layer++) {
    for (const t of layout.targets) {
      const d = targetDims(spec, t);
      inputs.set(`${layer}.${t}`, {
        at: g.input(atName(layer, t), 'float32', [batch, d.in, layout.rank]),
        bt: g.input(btName(layer, t), 'float32', [batch, layout.rank, d.out]),
      });
    }
  }
  return (layer, target, x) => {
    const io = inputs.get(`${layer}.${target}`);
    if (!io) return null;
    const xb = op.reshape(g, x, [batch, tokens, x.shape[1]]);
    const y = op.matmul(g, op.matmul(g, xb, io.at), io.bt);
    return op.reshape(g, y, [batch * tokens, y.shape[2]]);
  };
}

/** Host tensors for every row-LoRA input of the layout. */
export function rowLoraFeeds(spec: ModelSpec, layout: RowLoraLayout, rows: readonly (readonly RowAdapter[])[]): Record<string, HostTensor> {
  const B = rows.length;
  const R = layout.rank;
  rows.forEach((row, b) => row.forEach((a, k) => checkAdapterFits(spec, a.weights, `row ${b} adapter ${k}`)));
  const feeds: Record<string, HostTensor> = {};
  for (let layer = 0; layer < spec.layers; layer++) {
    for (const t of layout.targets) {
      const d = targetDims(spec, t);
      const at = new Float32Array(B * d.in * R);
      const bt = new Float32Array(B * R * d.out);
      rows.forEach((row, b) => {
        let k0 = 0;
        for (const { weights: w, scale } of row) {
          const a = w.tensors.get(peftTensorName(layer, t, 'A'));
          const bm = w.tensors.get(peftTensorName(layer, t, 'B'));
          if (a && bm) {
            const s = loraScale(w) * scale;
            for (let k = 0; k < w.r; k++) {
              for (let i = 0; i < d.in; i++) at[b * d.in * R + i * R + k0 + k] = a[k * d.in + i];
              for (let o = 0; o < d.out; o++) bt[b * R * d.out + (k0 + k) * d.out + o] = s * bm[o * w.r + k];
            }
          }
          k0 += w.r;
        }
      });
      feeds[atName(layer, t)] = { dtype: 'float32', shape: [B, d.in, R], data: at };
      feeds[btName(layer, t)] = { dtype: 'float32', shape: [B, R, d.out], data: bt };
    }
  }
  return feeds;
}
