/**
 * The batch inputs a step graph takes (train/step-graph.ts) for token ids [B, T], as the runner makes them: positions
 * from 0, a causal mask, each position's next token as its target (the last one weighted 0).
 */
import { causalMask, positionRange } from '../../../src-main/engine/models/decoder-inputs.js';
import type { HostTensor } from '../../../src-main/engine/runtime/tensors.js';
import { shiftLabels } from '../../../src-main/engine/train/loss.js';

export function batchFeeds(ids: Int32Array, B: number, T: number): Record<string, HostTensor> {
  const sh = shiftLabels(ids, B, T);
  return {
    input_ids: { dtype: 'int32', shape: [B, T], data: ids },
    positions: { dtype: 'int32', shape: [B, T], data: positionRange(B, T) },
    attn_mask: { dtype: 'float32', shape: [B, 1, 1, T, T], data: causalMask(B, T) },
    targets: { dtype: 'int32', shape: [B * T], data: sh.targets },
    target_weights: { dtype: 'float32', shape: [B * T], data: sh.weights },
  };
}
