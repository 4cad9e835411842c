/**
 * Full-sequence logits of a base with one non-LoRA adapter method (DoRA, IA³, prefix) applied through
 * its decoder hooks, and greedy continuation by recomputing the whole sequence each step. Used by
 * verification and by generation with a prefix adapter (whose KV-cache path is not built yet); DoRA
 * and IA³ generate through the KV-cache graphs with their exact merge instead.
 */
import { prefixCausalMask, type MethodAdapter } from '../adapters/method.js';
import { Graph } from '../graph/ir.js';
import type { LoadedModel } from '../model.js';
import { decoderForward, lmHead } from '../models/decoder.js';
import { plainWeights } from '../models/weights.js';
import { resolveDevice, type DevicePref } from '../runtime/device.js';
import { GraphSession } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensors.js';
import { positionRange } from '../models/decoder-inputs.js';

export async function methodLogits(model: LoadedModel, method: MethodAdapter, tensors: ReadonlyMap<string, Float32Array>, rows: number[][], device: DevicePref = 'cpu'): Promise<Float32Array> {
  const B = rows.length;
  const T = rows[0].length;
  const P = method.virtualTokens;
  const g = new Graph('method_logits');
  const ids = g.input('input_ids', 'int32', [B, T]);
  const positions = g.input('positions', 'int32', [B, T]);
  const mask = g.input('attn_mask', 'float32', [B, 1, 1, T, P + T]);
  const values = new Map(method.params.map((p) => [p.name, g.input(p.name, 'float32', p.shape)]));
  const w = plainWeights(g, model.source, 'float32');
  const fwd = decoderForward(w, model.spec, { ids, positions, mask }, { ropeLength: P + T, hooks: method.hooks(g, values, B) });
  g.output(lmHead(w, model.spec, fwd.hidden), 'logits');
  const feeds: Record<string, HostTensor> = {
    input_ids: { dtype: 'int32', shape: [B, T], data: Int32Array.from(rows.flat()) },
    positions: { dtype: 'int32', shape: [B, T], data: positionRange(B, T, P) },
    attn_mask: { dtype: 'float32', shape: [B, 1, 1, T, P + T], data: prefixCausalMask(B, T, P) },
  };
  for (const p of method.params) feeds[p.name] = { dtype: 'float32', shape: p.shape, data: Float32Array.from(tensors.get(p.name)!) };
  const session = await GraphSession.create(g, { device: await resolveDevice(device) });
  try {
    return ((await session.run(feeds)).logits as HostTensor).data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Greedy ids (prompt included) by full recomputation per step: exact, slow, for short checks. */
export async function methodGreedy(model: LoadedModel, method: MethodAdapter, tensors: ReadonlyMap<string, Float32Array>, prompt: number[], steps: number, device: DevicePref = 'cpu'): Promise<number[]> {
  const V = model.spec.vocab;
  const ids = [...prompt];
  for (let s = 0; s < steps; s++) {
    const logits = await methodLogits(model, method, tensors, [ids], device);
    const off = (ids.length - 1) * V;
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[off + i] > logits[off + best]) best = i;
    ids.push(best);
  }
  return ids;
}
