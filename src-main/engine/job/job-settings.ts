/**
 * The one mapping from a local run's training options to what the bundle's train.py runs. Everything the
 * bundle does differently from `graft train` is decided here and said in `notes`, so a person reading
 * graft-job.json knows what the cluster run will and will not reproduce.
 */
import { TARGET_MODULE, type LoraTarget } from '../adapters/lora-config.js';
import { GraftError } from '../errors.js';
import { alphaOf, type ScheduleKind, type TrainOptions } from '../options/train.js';
import type { TrainAdapterOptions } from '../train/train-adapter.js';

/** What train.py reads from graft-job.json's "settings". Keys are snake_case: they are Python's to read. */
export interface JobSettings {
  method: 'lora' | 'qlora';
  peft: { r: number; lora_alpha: number; lora_dropout: number; target_modules: string[]; use_rslora: boolean };
  /** QLoRA: the 4-bit base is bitsandbytes' NF4 on the cluster, whatever Graft's own 4-bit format was. */
  quantization: { bnb_4bit_quant_type: 'nf4'; bnb_4bit_use_double_quant: true } | null;
  /** bf16: autocast over fp32 weights (the default for a cluster); fp32: plain fp32, to compare with Graft. */
  precision: 'bf16' | 'fp32';
  pad_id: number;
  /** The decoder layer class FSDP wraps one unit at a time. */
  decoder_layer: string;
  train: {
    lr: number;
    total_steps: number;
    batch: number;
    grad_accum: number;
    seq_len: number;
    warmup: number;
    schedule: ScheduleKind;
    min_lr_ratio: number;
    weight_decay: number;
    beta1: number;
    beta2: number;
    eps: number;
    max_grad_norm: number;
    seed: number;
    eval_every: number;
    max_eval_batches: number | null;
  };
}

export interface JobContext {
  /** config.json architectures[0] of the base. */
  arch: string;
  /** The optimizer steps of the run, from the prepared data (trainer.ts's totalSteps). */
  totalSteps: number;
  padId: number;
}

/** AdamW's epsilon in Graft's loop (trainer.ts passes none, so its default). */
const ADAMW_EPS = 1e-8;

export function jobSettings(job: Pick<TrainAdapterOptions, 'resume' | 'options'>, ctx: JobContext): { settings: JobSettings; notes: string[] } {
  if (job.resume) throw new GraftError('BAD_INPUT', 'a job bundle starts a run from the beginning; {resume} is for local runs', { field: 'resume' });
  const o: TrainOptions = job.options;
  const qlora = o.method === 'qlora';
  // train.py builds PEFT LoRA (and QLoRA over bitsandbytes); Graft's other methods are not mapped to PEFT's yet.
  if (o.method !== 'lora' && o.method !== 'qlora')
    throw new GraftError('UNSUPPORTED', `a job bundle trains LoRA or QLoRA; {method} ${o.method} is not exported yet`, { field: 'method' });
  const lora = { r: o.rank, alpha: alphaOf(o), dropout: o.dropout, targets: o.targets, rslora: o.rslora };
  const notes: string[] = [];
  if (lora.dropout > 0)
    notes.push(`LoRA dropout ${lora.dropout}: PEFT draws its own dropout masks, so the loss curve follows Graft's only in expectation`);
  if (qlora && (o.quant !== 'nf4' || o.quantMethod === 'gptq' || o.quantEmbeddings === 'int8'))
    notes.push("QLoRA on the cluster holds the base in bitsandbytes NF4 (double quantization); Graft's int4 / GPTQ / int8-embedding choices are not carried");
  if (o.precision === 'fp16') notes.push("Graft's fp16 base projections are not carried: the cluster computes in bf16 (or fp32 with --precision fp32)");
  if (o.saveEvery > 0) notes.push('checkpoints every N steps are not written by train.py; the adapter is saved at the end');
  if (o.evalPrompts.trim()) notes.push('the evaluation prompts are not answered by train.py; ask them in Chat or `graft compare` once the adapter is back');
  return {
    notes,
    settings: {
      method: qlora ? 'qlora' : 'lora',
      peft: {
        r: lora.r,
        lora_alpha: lora.alpha,
        lora_dropout: lora.dropout,
        target_modules: lora.targets.map((t: LoraTarget) => TARGET_MODULE[t].split('.').pop()!),
        use_rslora: lora.rslora,
      },
      quantization: qlora ? { bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true } : null,
      precision: 'bf16',
      pad_id: ctx.padId,
      decoder_layer: ctx.arch.replace(/ForCausalLM$/, 'DecoderLayer'),
      train: {
        lr: o.lr,
        total_steps: ctx.totalSteps,
        batch: o.batch,
        grad_accum: o.gradAccum,
        seq_len: o.seqLen,
        warmup: o.warmup,
        schedule: o.schedule,
        min_lr_ratio: o.minLrRatio,
        weight_decay: o.weightDecay,
        beta1: o.beta1,
        beta2: o.beta2,
        eps: ADAMW_EPS,
        max_grad_norm: o.maxGradNorm,
        seed: o.seed,
        eval_every: o.evalEvery,
        max_eval_batches: o.maxEvalBatches ?? null,
      },
    },
  };
}
