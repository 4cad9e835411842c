import { GraftError } from '../errors.js';
import type { ScheduleKind } from '../options/train.js';

export type { ScheduleKind };

export interface ScheduleOptions {
  /** Peak learning rate, reached at the end of warm-up. */
  lr: number;
  /** Optimizer steps of linear warm-up from lr/warmup to lr. */
  warmup: number;
  /** Total optimizer steps of the run. */
  total: number;
  kind: ScheduleKind;
  /** Floor of the decay as a fraction of lr (cosine and linear); 0 by default. */
  minRatio?: number;
}

/**
 * Learning rate of 1-based optimizer step `step`. Warm-up ramps linearly so that step `warmup` uses the peak
 * (the first step is not wasted at lr 0); the decay then runs over the remaining steps and reaches the floor
 * on the last one.
 */
export function learningRate(step: number, o: ScheduleOptions): number {
  if (!(o.lr >= 0) || !Number.isFinite(o.lr))
    throw new GraftError('BAD_INPUT', `must be a finite number >= 0, got ${o.lr}`, { field: 'lr' });
  const warmup = Math.max(0, Math.floor(o.warmup));
  if (step <= warmup) return (o.lr * step) / warmup;
  if (o.kind === 'constant') return o.lr;
  const decaySteps = o.total - warmup;
  if (decaySteps <= 1) return o.lr;
  const progress = Math.min(1, (step - warmup - 1) / (decaySteps - 1));
  const floor = o.lr * (o.minRatio ?? 0);
  const factor = o.kind === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return floor + (o.lr - floor) * factor;
}
