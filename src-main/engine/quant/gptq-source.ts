/**
 * A GPTQ-quantized base: calibration rows sampled from the model, then layer by layer (GPTQ's
 * sequential order) the projections' input Hessians are collected on the residual stream the
 * already-quantized layers produce, each projection is rounded by GPTQ, and the layer is run again
 * with its rounded weights to feed the next. The result is a store like quantizeSource's.
 */
import { GraftError } from '../errors.js';
import type { LoadedModel } from '../model.js';
import type { DeviceInfo } from '../runtime/device.js';
import { sampleCalibrationRows } from './calibration.js';
import { gptqInt4, gptqNf4, type GptqOpts } from './gptq.js';
import { dequantizeInt4 } from './int4.js';
import { dequantizeInt8, quantizeInt8 } from './int8.js';
import { LayerHessians } from './layer-hessians.js';
import { dequantizeNf4 } from './nf4.js';
import { EMBEDDING_TABLES, QUANTIZED_LINEAR, roundedToF16, type EmbeddingPrecision, type QuantScheme, type QuantTensor } from './quant-weights.js';

export interface GptqProgress {
  phase: 'calibration' | 'layers';
  done: number;
  total: number;
}

export interface GptqSourceOpts extends GptqOpts {
  device: DeviceInfo;
  /** Calibration rows (default: sampled from the model, CALIBRATION_DEFAULTS). */
  rows?: number[][];
  seed?: number;
  /** Rows per layer run (default 8). */
  batch?: number;
  signal?: AbortSignal;
  onProgress?: (p: GptqProgress) => void;
}

export async function quantizeModelGptq(
  model: LoadedModel,
  scheme: QuantScheme,
  embeddings: EmbeddingPrecision,
  o: GptqSourceOpts,
): Promise<Map<string, QuantTensor>> {
  const { source, spec } = model;
  const store = new Map<string, QuantTensor>();
  const rows =
    o.rows ??
    (await sampleCalibrationRows(model, {
      device: o.device,
      seed: o.seed,
      signal: o.signal,
      onProgress: (done, total) => o.onProgress?.({ phase: 'calibration', done, total }),
    }));
  const T = rows[0]?.length ?? 0;
  if (T < 2 || rows.some((r) => r.length !== T))
    throw new GraftError('BAD_INPUT', 'GPTQ calibration needs equal-length rows of at least 2 tokens');
  if (embeddings === 'int8')
    for (const name of EMBEDDING_TABLES)
      if (source.has(name)) store.set(name, quantizeInt8(source.readF32(name), source.shape(name) as [number, number]));

  // The residual stream enters layer 0 as the embedding rows the quantized model will look up.
  const table = embeddingTable(model, store.get('model.embed_tokens.weight'));
  const D = spec.hidden;
  const batch = Math.max(1, Math.min(o.batch ?? 8, rows.length));
  const groups: Float32Array[] = [];
  for (let r0 = 0; r0 < rows.length; r0 += batch) {
    const part = rows.slice(r0, r0 + batch);
    while (part.length < batch) part.push(part[part.length - 1]); // a repeated row only reweights the last group
    const res = new Float32Array(batch * T * D);
    part.flat().forEach((id, i) => res.set(table.subarray(id * D, (id + 1) * D), i * D));
    // The residual stream starts as the scaled embedding (Gemma scales by √hidden).
    if (spec.embedScale !== 1) for (let i = 0; i < res.length; i++) res[i] = Math.fround(res[i] * spec.embedScale);
    groups.push(res);
  }
  const runner = await LayerHessians.create(model, batch, T, o.device);
  try {
    for (let layer = 0; layer < spec.layers; layer++) {
      if (o.signal?.aborted) throw new GraftError('CANCELLED', 'quantization cancelled');
      const tensors = new Map(runner.tensorNames(layer).map((n) => [n, source.readF32(n)]));
      // Every input Hessian of the layer in one pass (its own weights unrounded): GPTQ's reference code
      // can also re-measure o and down after rounding q/k/v and gate/up ("true sequential"); on
      // stories260K that moved perplexity by less than the calibration seed does, at 2.5× the layer runs.
      const sums = new Map<string, Float64Array>();
      for (const res of groups)
        for (const [key, h] of (await runner.run(layer, res, tensors)).hessians) {
          const sum = sums.get(key) ?? new Float64Array(h.length);
          for (let i = 0; i < h.length; i++) sum[i] += h[i];
          sums.set(key, sum);
        }
      for (const name of runner.projections(layer).filter((n) => QUANTIZED_LINEAR.test(n))) {
        const shape = source.shape(name) as [number, number];
        const h = sums.get(runner.hessianKey(name))!;
        const t = scheme === 'nf4' ? gptqNf4(tensors.get(name)!, shape, h, o) : gptqInt4(tensors.get(name)!, shape, h, { ...o, symmetric: scheme === 'int4s' });
        store.set(name, t);
        tensors.set(name, t.scheme === 'nf4' ? dequantizeNf4(t) : dequantizeInt4(t));
      }
      for (let i = 0; i < groups.length; i++) groups[i] = (await runner.run(layer, groups[i], tensors)).residual;
      o.onProgress?.({ phase: 'layers', done: layer + 1, total: spec.layers });
    }
  } finally {
    await runner.release();
  }
  return store;
}

function embeddingTable(model: LoadedModel, int8?: QuantTensor): Float32Array {
  return int8?.scheme === 'int8' ? dequantizeInt8(int8) : roundedToF16(model.source, 'model.embed_tokens.weight');
}
