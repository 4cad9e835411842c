import { freemem } from 'node:os';
import { GraftError } from '../errors.js';
import type { LoraConfig, LoraTarget } from '../adapters/lora-config.js';
import type { HfConfig } from '../io/hf-config.js';

export interface MemoryEstimate {
  /** Base weights as the engine holds them (fp32, or the quantized size for QLoRA). */
  weights: number;
  /** LoRA factors, their gradients/accumulators and AdamW's two moments. */
  optimizer: number;
  /** Tensors kept for the backward pass, logits included, at this batch and sequence length. */
  activations: number;
  /** Session and allocator overhead. */
  overhead: number;
  total: number;
  loraParams: number;
}

const F32 = 4;

/** [in, out] of each LoRA target's base linear, from the model config. */
export function targetDims(c: HfConfig, t: LoraTarget): [number, number] {
  const heads = c.num_attention_heads;
  const kv = c.num_key_value_heads ?? heads;
  const hd = c.head_dim ?? c.hidden_size / heads;
  const h = c.hidden_size;
  const f = c.intermediate_size;
  switch (t) {
    case 'q':
      return [h, heads * hd];
    case 'k':
    case 'v':
      return [h, kv * hd];
    case 'o':
      return [heads * hd, h];
    case 'gate':
    case 'up':
      return [h, f];
    case 'down':
      return [f, h];
  }
}

/**
 * A deliberately generous estimate of what one training step needs, so a refusal happens before loading
 * gigabytes rather than as a crash mid-run. `weightBytes` is the base weights' in-memory size (fp32 by
 * default: parameter count × 4); for QLoRA pass the packed size.
 */
export function estimateTrainingMemory(o: {
  config: HfConfig;
  lora: Pick<LoraConfig, 'r' | 'targets'>;
  batch: number;
  seqLen: number;
  weightBytes?: number;
  paramCount?: number;
}): MemoryEstimate {
  const c = o.config;
  const L = c.num_hidden_layers;
  const h = c.hidden_size;
  const f = c.intermediate_size;
  const heads = c.num_attention_heads;
  const kv = c.num_key_value_heads ?? heads;
  const hd = c.head_dim ?? h / heads;
  const params =
    o.paramCount ??
    c.vocab_size * h * (c.tie_word_embeddings === false ? 2 : 1) + L * (h * heads * hd * 2 + h * kv * hd * 2 + 3 * h * f + 2 * h) + h;
  const weights = o.weightBytes ?? params * F32;
  const loraParams =
    L *
    o.lora.targets.reduce((n, t) => {
      const [i, out] = targetDims(c, t);
      return n + o.lora.r * (i + out);
    }, 0);
  // weights + gradient + accumulator + two moments, and one more copy while the step writes new values
  const optimizer = loraParams * F32 * 6;
  const tokens = o.batch * o.seqLen;
  // Per layer: norms, q/k/v/o inputs and outputs, MLP inputs, gate/up/act products, LoRA intermediates.
  const perLayer = tokens * (12 * h + 2 * (heads + 2 * kv) * hd + 5 * f + 2 * o.lora.targets.length * o.lora.r);
  const attention = o.batch * heads * o.seqLen * o.seqLen * 3;
  const logits = tokens * c.vocab_size * 3; // logits, softmax, their gradient
  const activations = (L * (perLayer + attention) + logits) * F32;
  const overhead = 256 * 2 ** 20 + 0.1 * (weights + activations);
  const total = weights + optimizer + activations + overhead;
  return { weights, optimizer, activations, overhead, total, loraParams };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(n >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
}

/** Refuses with the breakdown and what to change when the estimate exceeds what is available. */
export function assertFits(e: MemoryEstimate, available: number = freemem(), where = 'this machine'): void {
  if (e.total <= available) return;
  const parts = `weights ${formatBytes(e.weights)}, activations ${formatBytes(e.activations)}, optimizer ${formatBytes(e.optimizer)}, overhead ${formatBytes(e.overhead)}`;
  throw new GraftError(
    'OUT_OF_MEMORY',
    `training needs about ${formatBytes(e.total)} (${parts}) but ${where} has ${formatBytes(available)} free; ` +
      'lower --batch or --seq-len (raise --grad-accum to keep the effective batch), lower --rank, or use --method qlora',
  );
}
