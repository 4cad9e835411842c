/**
 * The contract between the training loop (schedules, accumulation, checkpoints, events) and the
 * step sessions that run forward + backward + AdamW on the device.
 */
export interface TokenBatch {
  /** Row-major [batch, seqLen] token ids. */
  inputIds: Int32Array;
  /** Row-major [batch, seqLen]; -100 marks positions that carry no loss. Labels are NOT pre-shifted (HF style). */
  labels: Int32Array;
  batch: number;
  seqLen: number;
}

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based optimizer step, for bias correction. */
  step: number;
  /** Clip the global gradient norm to this value; 0 or undefined = no clipping. */
  maxGradNorm?: number;
}

export interface StepResult {
  /** Mean cross-entropy over the batch's non-ignored targets. */
  loss: number;
  /** Global L2 norm of the LoRA gradients, before clipping. */
  gradNorm: number;
  /** Count of non-ignored targets in the batch. */
  tokens: number;
}

/** Named fp32 tensors: LoRA weights (PEFT names) or optimizer moments keyed by the same names. */
export type TensorMap = Map<string, { shape: number[]; data: Float32Array }>;

export interface TrainerState {
  lora: TensorMap;
  m: TensorMap;
  v: TensorMap;
  /** Micro-steps taken, which seeds LoRA dropout masks; save it so a resumed run draws the same masks. */
  counter?: number;
}

export interface StepRunner {
  /**
   * Adds this micro-batch's gradients to the accumulators. Gradients are of the loss summed over tokens,
   * so accumulating micro-batches and dividing by the total token count at apply time gives the exact mean.
   */
  accumulate(batch: TokenBatch): Promise<{ lossSum: number; tokens: number }>;
  /** Applies AdamW with the accumulated gradients divided by `tokens`, then clears the accumulators. */
  apply(hp: AdamWHyper, tokens: number): Promise<{ gradNorm: number }>;
  /** Mean loss without touching weights or accumulators. */
  evalLoss(batch: TokenBatch): Promise<{ lossSum: number; tokens: number }>;
  getState(): Promise<TrainerState>;
  setState(state: TrainerState): Promise<void>;
  dispose(): Promise<void>;
}
