import { readAdapterWeights } from '../../../src-main/engine/adapters/compat.js';
import { layoutFor, rowLoraFeeds, type RowAdapter } from '../../../src-main/engine/adapters/row-lora.js';
import { KvDecoder } from '../../../src-main/engine/infer/kv-decoder.js';
import type { LoadedModel } from '../../../src-main/engine/model.js';
import type { WeightsFactory } from '../../../src-main/engine/models/weights.js';
import type { DecodePrecision } from '../../../src-main/engine/infer/decode-precision.js';
import type { DeviceInfo } from '../../../src-main/engine/runtime/device.js';

export function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export { readAdapterWeights };

export interface Trace {
  /** Per row, prompt + greedy ids. */
  ids: number[][];
  /** Logits of every step, [rows, vocab] each. */
  logits: Float32Array[];
  mode: string;
}

/**
 * Greedy decoding of one prompt per row (row b with adapters rows[b]); the tokens fed at each step
 * come from `follow` when given (so two decoders see identical inputs and their logits compare).
 * `precision` defaults to fp32: the fused graph's forms are checked against the plain graph exactly there; the fp16
 * graph is checked against the fp32 one (fused-half.test.ts).
 */
export async function greedyTrace(model: LoadedModel, device: DeviceInfo, prompts: number[][], rows: RowAdapter[][], steps: number, fused: boolean, follow?: Trace, weights?: WeightsFactory, precision: DecodePrecision = 'fp32'): Promise<Trace> {
  const layout = layoutFor(rows);
  const capacity = 64;
  const dec = new KvDecoder(model, { device, rows: rows.length, capacity, lora: layout, fused, weights, precision });
  try {
    if (layout) await dec.setLora(rowLoraFeeds(model.spec, layout, rows));
    const V = model.spec.vocab;
    const ids = prompts.map((p) => [...p]);
    const logits: Float32Array[] = [];
    let l = await dec.prefill(prompts, steps);
    for (let s = 0; s < steps; s++) {
      logits.push(Float32Array.from(l));
      const next = rows.map((_, b) => follow?.ids[b][prompts[b].length + s] ?? argmax(l.subarray(b * V, (b + 1) * V)));
      next.forEach((t, b) => ids[b].push(follow ? argmax(l.subarray(b * V, (b + 1) * V)) : t));
      if (s + 1 < steps) l = await dec.decode(next);
    }
    return { ids, logits, mode: dec.mode };
  } finally {
    await dec.dispose();
  }
}
