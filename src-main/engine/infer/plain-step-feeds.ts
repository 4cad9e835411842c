/**
 * The plain decode graph's inputs for one step (decode-graph.ts): ids and positions of left-padded rows, the
 * attention mask over the cache (with a prefix adapter's virtual tokens before it), the sliding window's mask,
 * and the slots each new key and value is written to.
 */
import { rowPrefixRows, rowPrefixTokens, type RowMethod } from '../adapters/row-methods.js';
import type { ModelSpec } from '../models/spec.js';
import type { HostTensor } from '../runtime/tensors.js';
import { LOCAL_MASK } from './decode-graph.js';

const NEG = -1e9;

export interface PlainStep {
  spec: ModelSpec;
  /** Cache slots per row. */
  capacity: number;
  /** Slots used before this step (the same for every row). */
  start: number;
  /** Each row's T tokens. */
  rows: readonly (readonly number[])[];
  /** Each row's leading padding slots. */
  pad: readonly number[];
  methods: readonly RowMethod[];
}

export function plainStepFeeds(o: PlainStep): Record<string, HostTensor> {
  const { spec, capacity: C, start, rows, pad } = o;
  const B = rows.length;
  const T = rows[0].length;
  const ids = new Int32Array(B * T);
  const positions = new Int32Array(B * T);
  // A prefix adapter's P virtual tokens sit before the cache in every attention row (row-methods.ts):
  // visible to its own rows, whose real positions start at P as PEFT's do, masked for the others.
  const P = rowPrefixTokens(o.methods);
  const prefixRows = rowPrefixRows(o.methods, B);
  const S = P + C;
  const mask = new Float32Array(B * T * S).fill(NEG);
  const window = spec.sliding?.window;
  const local = window ? new Float32Array(B * T * C).fill(NEG) : null;
  const KV = spec.kvHeads;
  const hd = spec.headDim;
  const write = new Int32Array(B * KV * T * hd);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const slot = start + t;
      ids[b * T + t] = rows[b][t];
      positions[b * T + t] = Math.max(0, slot - pad[b]) + (prefixRows[b] ? P : 0);
      // A padding slot attends to itself only, so its softmax stays finite; nothing reads it.
      const from = slot < pad[b] ? slot : pad[b];
      if (prefixRows[b]) mask.fill(0, (b * T + t) * S, (b * T + t) * S + P);
      mask.fill(0, (b * T + t) * S + P + from, (b * T + t) * S + P + slot + 1);
      // Positions and slots differ by the row's padding only, so the window counts slots.
      local?.fill(0, (b * T + t) * C + Math.max(from, slot - window! + 1), (b * T + t) * C + slot + 1);
    }
    for (let h = 0; h < KV; h++) for (let t = 0; t < T; t++) write.fill(start + t, ((b * KV + h) * T + t) * hd, ((b * KV + h) * T + t + 1) * hd);
  }
  return {
    input_ids: { dtype: 'int32', shape: [B, T], data: ids },
    positions: { dtype: 'int32', shape: [B, T], data: positions },
    attn_mask: { dtype: 'float32', shape: [B, 1, 1, T, S], data: mask },
    ...(local ? { [LOCAL_MASK]: { dtype: 'float32', shape: [B, 1, 1, T, C], data: local } } : {}),
    write_index: { dtype: 'int32', shape: [B, KV, T, hd], data: write },
  };
}
