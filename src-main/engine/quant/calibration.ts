/**
 * Calibration text for GPTQ, sampled from the model itself (temperature 0.8, from BOS): no dataset is
 * needed, the sample follows the model's own distribution, and a fixed seed makes it (and so the
 * quantized base and its cache entry) reproducible. A row that reaches EOS starts a new text with BOS.
 */
import { GraftError } from '../errors.js';
import { KvDecoder } from '../infer/kv-decoder.js';
import { Sampler } from '../infer/sampling.js';
import type { LoadedModel } from '../model.js';
import type { DeviceInfo } from '../runtime/device.js';

export interface CalibrationOpts {
  device: DeviceInfo;
  /** Rows of text (default 64). */
  rows?: number;
  /** Tokens per row, BOS included (default 256, at most the model's context). */
  length?: number;
  seed?: number;
  /** Rows sampled together in one batched decode (default 16). */
  batch?: number;
  signal?: AbortSignal;
  onProgress?: (tokens: number, total: number) => void;
}

// Temperature 0.8 rather than 1: the tail of a small model's distribution is noise, not language worth fitting.
export const CALIBRATION_DEFAULTS = { rows: 64, length: 256, seed: 1234, temperature: 0.8 };

export async function sampleCalibrationRows(model: LoadedModel, o: CalibrationOpts): Promise<number[][]> {
  const { spec } = model;
  const rows = o.rows ?? CALIBRATION_DEFAULTS.rows;
  const T = Math.min(o.length ?? CALIBRATION_DEFAULTS.length, spec.maxPositions);
  const bos = spec.bosId ?? spec.eosIds[0];
  if (bos === undefined) throw new GraftError('UNSUPPORTED', 'GPTQ calibration needs a BOS or EOS token to start texts from');
  const eos = new Set(spec.eosIds);
  const out: number[][] = [];
  const batch = Math.max(1, Math.min(o.batch ?? 16, rows));
  const capacity = Math.min(spec.maxPositions, 2 ** Math.ceil(Math.log2(16 + T)));
  for (let r0 = 0; r0 < rows; r0 += batch) {
    const n = Math.min(batch, rows - r0);
    const samplers = Array.from(
      { length: n },
      (_, b) => new Sampler({ temperature: CALIBRATION_DEFAULTS.temperature, seed: (o.seed ?? CALIBRATION_DEFAULTS.seed) + r0 + b }),
    );
    const texts = Array.from({ length: n }, () => [bos]);
    const dec = new KvDecoder(model, { device: o.device, rows: n, capacity, lora: null });
    try {
      let logits = await dec.prefill(texts, T - 1);
      for (let t = 1; t < T; t++) {
        if (o.signal?.aborted) throw new GraftError('CANCELLED', 'calibration cancelled');
        const next = texts.map((row, b) => {
          const id = samplers[b].sample(logits.subarray(b * spec.vocab, (b + 1) * spec.vocab), []);
          row.push(eos.has(id) ? bos : id);
          return row[row.length - 1];
        });
        if (t + 1 < T) logits = await dec.decode(next);
      }
    } finally {
      await dec.dispose();
    }
    out.push(...texts);
    o.onProgress?.((r0 + n) * T, rows * T);
  }
  return out;
}
