import { freemem } from 'node:os';
import { GraftError } from '../errors.js';
import type { LoraConfig, LoraTarget } from '../adapters/lora-config.js';
import type { MethodAdapter } from '../adapters/method.js';
import { methodMemoryTerms, type TrainMethod } from '../adapters/method-options.js';
import { QUANTIZED_LINEAR } from '../quant/quant-weights.js';
import type { HfConfig } from '../io/hf-config.js';
import type { WeightSource } from '../io/model-source.js';

export interface MemoryEstimate {
  /** Base weights as the engine holds them at peak (several fp32 copies while sessions are created). */
  weights: number;
  /** LoRA factors, their gradients/accumulators and AdamW's two moments. */
  optimizer: number;
  /** Tensors kept for the backward pass, logits included, at this batch and sequence length. */
  activations: number;
  /** Session and allocator overhead. */
  overhead: number;
  total: number;
  loraParams: number;
  /**
   * A GPU run: `total` is then this machine's memory (the weights as read from the files, before they are
   * uploaded) and `gpu` the device's (weights, optimizer state, activations), measured at Llama-3.1-8B QLoRA
   * 1×1024 with checkpointing on the H200: host peak 9.3 GB for 7.8 GB of weights, GPU 11.9 GB in the
   * steps under the EP's 'bucket' buffer cache (bench/results/qlora-8b-llama3.1-8b-nf4-fp16-fp16-ckpt-2026-12-02.json).
   * Under 'simple' (runtime/session.ts, the default since) the same step's GPU peak was 25.5 GB, and 21.7 GB
   * after the sliced loss and AdamW and the fp16 tables (docs/gpu-speed.md, sixth pass), against 13.9 GB from the
   * graph's own terms. The EP's buffers in flight (released buffers it pools or Dawn frees only as the GPU
   * catches up; 'disabled' and 'simple' peaked alike, 22.4 and 21.7 GB) are the difference: `gpu` adds them as
   * EP_TRANSIENT × the activations, fitted to that one measured step, so it is a rough figure off that shape.
   */
  gpu?: number;
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
    case 'qkv':
      return [h, (heads + 2 * kv) * hd];
    case 'gate_up':
      return [h, 2 * f];
  }
}

/**
 * Peak resident memory of a training run, calibrated against measured peaks on CPU (onnxruntime-node 1.30):
 * SmolLM2-135M shapes at batch 1–2 × seq 128–256 within +5 %, stories260K at 1×64 within −5 % and at 8×256
 * over by a third. A refusal then happens before loading gigabytes rather than as a crash mid-run.
 * `weightBytes` is the base weights' fp32 size (parameter count × 4) unless given.
 */
export function estimateTrainingMemory(o: {
  config: HfConfig;
  lora: Pick<LoraConfig, 'r' | 'targets'>;
  batch: number;
  seqLen: number;
  weightBytes?: number;
  paramCount?: number;
  /**
   * A non-LoRA method (adapters/method-options.ts): its trainable count replaces LoRA's, a prefix lengthens
   * every attention row by its virtual tokens, and DoRA's per-step weight norms add `extraBytes`.
   */
  method?: { params: number; virtualTokens: number; extraBytes: number };
  /** Activation checkpointing: the backward keeps each layer's input and one layer's values at a time. */
  recomputeActivations?: boolean;
  /** The run is on a GPU: this machine holds the weights once over while they upload, the rest is the GPU's. */
  onGpu?: boolean;
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
  // While sessions are created the weights exist several times over: the host copy read from the file, the
  // serialised ONNX initialisers and the session's own copy (measured peak ≈ 4× the fp32 size).
  const weightBytes = o.weightBytes ?? params * F32;
  const weights = weightBytes * (o.onGpu ? GPU_HOST_WEIGHT_COPIES : WEIGHT_COPIES);
  const loraParams = o.method
    ? o.method.params
    : L *
      o.lora.targets.reduce((n, t) => {
        const [i, out] = targetDims(c, t);
        return n + o.lora.r * (i + out);
      }, 0);
  // weights + gradient + accumulator + two moments, and one more copy while the step writes new values
  const optimizer = loraParams * F32 * 6;
  const tokens = o.batch * o.seqLen;
  // Per token and layer: norms, projections in and out, MLP products and their gradients, LoRA intermediates.
  const perLayer = 20 * h + 4 * (heads + 2 * kv) * hd + 8 * f + 2 * o.lora.targets.length * o.lora.r;
  const attention = heads * (o.seqLen + (o.method?.virtualTokens ?? 0)) * 5; // scores, mask, softmax and their gradients, per token and layer
  const logits = c.vocab_size * 4; // logits, softmax, their gradient, the loss's gather
  const activations = tokens * ((o.recomputeActivations ? L * h + perLayer + attention : L * (perLayer + attention)) + logits) * F32;
  const overhead = RUNTIME_BYTES + 0.1 * activations;
  const extra = o.method?.extraBytes ?? 0;
  if (o.onGpu) {
    const gpu = weightBytes + optimizer + activations * (1 + EP_TRANSIENT) + overhead - RUNTIME_BYTES + extra;
    return { weights, optimizer, activations, overhead, total: weights + RUNTIME_BYTES, loraParams, gpu };
  }
  const total = weights + optimizer + activations + overhead + extra;
  return { weights, optimizer, activations, overhead, total, loraParams };
}

const WEIGHT_COPIES = 4;
/** The WebGPU EP's buffers in flight, per byte of activations (see `gpu` above: 7.8 GB over 4.2 GB at 8B). */
const EP_TRANSIENT = 1.85;
/** Host copies of the weights during a GPU run's session creation (measured 1.2 at 8B, see `gpu` above). */
const GPU_HOST_WEIGHT_COPIES = 1.25;
/** Node, onnxruntime and the graph builder before any model is loaded. */
const RUNTIME_BYTES = 128 * 2 ** 20;

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
  const parts =
    e.gpu !== undefined
      ? `the weights as read before they go to the GPU`
      : `weights ${formatBytes(e.weights)}, activations ${formatBytes(e.activations)}, optimizer ${formatBytes(e.optimizer)}, overhead ${formatBytes(e.overhead)}`;
  throw new GraftError(
    'OUT_OF_MEMORY',
    `training needs about ${formatBytes(e.total)} (${parts}) but ${where} has ${formatBytes(available)} free; ` +
      'lower {batch} or {seqLen} (raise {gradAccum} to keep the effective batch), lower {rank}, or use {method} qlora',
  );
}

/** Parameters of a model's files, every tensor counted. */
export function paramCount(source: WeightSource): number {
  let n = 0;
  for (const name of source.names()) n += source.shape(name).reduce((a, b) => a * b, 1);
  return n;
}

/**
 * QLoRA's base in memory: the attention and MLP projections at ~0.58 bytes/parameter (4-bit codes plus block
 * scales: int4's fp16 scale and zero point per 32 weights is the larger of the two formats), the rest fp32.
 */
export function quantizedWeightBytes(source: WeightSource): number {
  let bytes = 0;
  for (const n of source.names()) {
    const count = source.shape(n).reduce((a, b) => a * b, 1);
    bytes += QUANTIZED_LINEAR.test(n) ? count * 0.58 : count * 4;
  }
  return bytes;
}

/** The estimate for a model's files: the memory check of a run and of the Train form's preview alike. */
export function estimateForSource(
  source: WeightSource,
  o: {
    method: TrainMethod;
    adapter?: MethodAdapter | null;
    lora: Pick<LoraConfig, 'r' | 'targets'>;
    batch: number;
    seqLen: number;
    recomputeActivations?: boolean;
    onGpu?: boolean;
  },
): MemoryEstimate {
  return estimateTrainingMemory({
    config: source.config,
    lora: o.lora,
    batch: o.batch,
    seqLen: o.seqLen,
    paramCount: paramCount(source),
    weightBytes: o.method === 'qlora' ? quantizedWeightBytes(source) : undefined,
    method: o.adapter ? methodMemoryTerms(o.adapter) : undefined,
    recomputeActivations: o.recomputeActivations,
    onGpu: o.onGpu,
  });
}

/** The estimate of a planned run (plan-method.ts): a run's memory check and the Train form's preview alike. */
export function estimateForPlan(
  source: WeightSource,
  o: { method: TrainMethod; batch: number; seqLen: number; recomputeActivations?: boolean },
  plan: { method: MethodAdapter | null; lora: Pick<LoraConfig, 'r' | 'targets'> },
  onGpu: boolean,
): MemoryEstimate {
  return estimateForSource(source, { method: o.method, adapter: plan.method, lora: plan.lora, batch: o.batch, seqLen: o.seqLen, recomputeActivations: o.recomputeActivations, onGpu });
}
