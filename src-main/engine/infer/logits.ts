/**
 * Full-sequence logits of a base model with any number of LoRA adapters applied at once, each with
 * its own scale: used by verification, merge/blend checks and perplexity. Generation uses the
 * KV-cache graphs instead.
 */
import { loraScale } from '../adapters/lora-config.js';
import { checkAdapterFits, loraDelta, loraInputs, loraSlots } from '../adapters/lora.js';
import type { AdapterWeights } from '../adapters/adapter-weights.js';
import { GraftError } from '../errors.js';
import { Graph } from '../graph/ir.js';
import type { LoadedModel } from '../model.js';
import { decoderForward, lmHead, type AdapterDelta } from '../models/decoder.js';
import { plainWeights, type WeightsFactory } from '../models/weights.js';
import * as op from '../ops/index.js';
import { resolveDevice, type DevicePref } from '../runtime/device.js';
import { GraphSession } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensors.js';
import { causalMask, positionRange } from '../models/decoder-inputs.js';

export interface AppliedAdapter {
  weights: AdapterWeights;
  /** Multiplies the adapter's alpha/r scaling (1 = as trained). */
  scale?: number;
}

export interface LogitsOpts {
  adapters?: AppliedAdapter[];
  device?: DevicePref;
  /** Replacement base tensors by HF name (e.g. merged weights). */
  overrides?: ReadonlyMap<string, Float32Array>;
  /** How base weights enter the graph (default fp32; QLoRA passes a quantized factory). */
  weights?: WeightsFactory;
}

/** Logits [rows, T, V] for equal-length rows of token ids. */
export async function computeLogits(model: LoadedModel, rows: number[][], opts: LogitsOpts = {}): Promise<Float32Array> {
  const { spec } = model;
  const B = rows.length;
  const T = rows[0].length;
  if (rows.some((r) => r.length !== T)) throw new GraftError('BAD_INPUT', 'computeLogits: rows must have equal length');
  const g = new Graph('logits');
  const ids = g.input('input_ids', 'int32', [B, T]);
  const positions = g.input('positions', 'int32', [B, T]);
  const mask = g.input('attn_mask', 'float32', [B, 1, 1, T, T]);
  const feeds: Record<string, HostTensor> = {
    input_ids: { dtype: 'int32', shape: [B, T], data: Int32Array.from(rows.flat()) },
    positions: { dtype: 'int32', shape: [B, T], data: positionRange(B, T) },
    attn_mask: { dtype: 'float32', shape: [B, 1, 1, T, T], data: causalMask(B, T) },
  };
  const deltas: AdapterDelta[] = (opts.adapters ?? []).map((a, k) => {
    checkAdapterFits(spec, a.weights, `adapter ${k}`);
    const slots = loraSlots(spec, a.weights);
    const prefix = `adapter${k}/`;
    const inputs = loraInputs(g, slots, 'float32', prefix);
    for (const s of slots) {
      for (const [name, shape] of [[s.peftA, s.shapeA], [s.peftB, s.shapeB]] as const) {
        const data = a.weights.tensors.get(name);
        if (!data) throw new GraftError('NOT_FOUND', `adapter ${k}: tensor ${name} is missing`, { where: name });
        if (data.length !== shape[0] * shape[1]) throw new GraftError('INCOMPATIBLE', `adapter ${k}: ${name} has ${data.length} values, the model needs [${shape}]`, { where: name });
        feeds[prefix + name] = { dtype: 'float32', shape, data };
      }
    }
    return loraDelta(g, inputs, loraScale(a.weights) * (a.scale ?? 1));
  });
  const delta: AdapterDelta | undefined = deltas.length
    ? (layer, target, x) => {
        const parts = deltas.map((d) => d(layer, target, x)).filter((v) => v !== null);
        return parts.length ? parts.reduce((s, v) => op.add(g, s, v)) : null;
      }
    : undefined;
  const w = (opts.weights ?? plainWeights)(g, model.source, 'float32', opts.overrides);
  const fwd = decoderForward(w, spec, { ids, positions, mask }, { ropeLength: T, delta });
  g.output(lmHead(w, spec, fwd.hidden), 'logits');
  const session = await GraphSession.create(g, { device: await resolveDevice(opts.device ?? 'cpu') });
  try {
    const out = await session.run(feeds);
    return (out.logits as HostTensor).data as Float32Array;
  } finally {
    await session.release();
  }
}
