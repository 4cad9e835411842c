import { GraftError, toErrorData } from '../errors.js';
import type { TokenizedExample } from '../data/tokenize-example.js';
import { ExampleStream, makeBatch } from './batches.js';
import { checkResumable, loadCheckpoint, saveCheckpoint, type CheckpointMeta, type StepRecord } from './checkpoint.js';
import type { TrainControl } from './control.js';
import type { TrainEvent } from './events.js';
import { learningRate, type ScheduleKind } from './schedule.js';
import type { StepRunner } from './types.js';

export interface TrainLoopOptions {
  runner: StepRunner;
  train: TokenizedExample[];
  val: TokenizedExample[];
  /** Micro-batch rows and sequence length: the step graph's static shape. */
  batch: number;
  seqLen: number;
  gradAccum: number;
  padId: number;
  /** Either a number of optimizer steps, or of epochs (rounded up to whole steps). */
  steps?: number;
  epochs?: number;
  lr: number;
  warmup: number;
  schedule: ScheduleKind;
  minLrRatio?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  maxGradNorm?: number;
  /** Evaluate every N steps (and after the last); 0 = only after the last. */
  evalEvery?: number;
  /** Cap on validation micro-batches per evaluation; all of them by default. */
  maxEvalBatches?: number;
  /** Checkpoint every N steps into checkpointDir; 0 = never (a cancel still checkpoints when a dir is set). */
  saveEvery?: number;
  checkpointDir?: string;
  seed: number;
  /** Settings that must match on resume (dataset hash, model, hyper-parameters); stored in every checkpoint. */
  run?: Record<string, unknown>;
  /** A checkpoint folder, a checkpoints root or a run folder to continue from. */
  resumeFrom?: string;
  signal?: AbortSignal;
  control?: TrainControl;
  onEvent?: (e: TrainEvent) => void;
  /** Clock in ms; injectable so timing maths is testable. */
  now?: () => number;
  /**
   * Writes the finished run (the adapter folder). Should it fail (a full disk, a folder gone), the trained
   * state is saved as a checkpoint into checkpointDir, else the first of `rescueDirs` that takes it, and the
   * error says where, so a run with checkpoints off never loses its weights to its last write.
   */
  write?: (r: TrainLoopResult) => Promise<void>;
  rescueDirs?: string[];
  /** After each periodic checkpoint and the last step (final), before 'done': the evaluation prompts (eval-prompts.ts). */
  afterCheckpoint?: (step: number, final: boolean) => Promise<void>;
}

export interface TrainLoopResult {
  steps: number;
  totalSteps: number;
  finalLoss: number | null;
  finalEvalLoss: number | null;
  tokensSeen: number;
  elapsedMs: number;
  history: StepRecord[];
  cancelled: boolean;
  checkpoint: string | null;
}

export function totalSteps(o: Pick<TrainLoopOptions, 'steps' | 'epochs' | 'batch' | 'gradAccum'>, nTrain: number): number {
  if (o.steps !== undefined) {
    if (!Number.isInteger(o.steps) || o.steps < 1)
      throw new GraftError('BAD_INPUT', `must be a whole number >= 1, got ${o.steps}`, { field: 'steps' });
    return o.steps;
  }
  const epochs = o.epochs ?? 1;
  if (!(epochs > 0)) throw new GraftError('BAD_INPUT', `must be a number > 0, got ${epochs}`, { field: 'epochs' });
  return Math.max(1, Math.ceil((epochs * nTrain) / (o.batch * o.gradAccum)));
}

/**
 * The training loop over a StepRunner: gradient accumulation over micro-batches, AdamW with a warm-up +
 * decay schedule and clipping (done by the runner), periodic evaluation and atomic checkpoints, pause /
 * cancel between optimizer steps, and progress events. With the same seed, data and settings, a run resumed
 * from a checkpoint replays exactly the steps the uninterrupted run would have taken.
 */
export async function runTrainingLoop(o: TrainLoopOptions): Promise<TrainLoopResult> {
  if (o.train.length === 0) throw new GraftError('BAD_INPUT', 'no training examples');
  const now = o.now ?? (() => performance.now());
  const emit = (e: TrainEvent) => o.onEvent?.(e);
  const total = totalSteps(o, o.train.length);
  const run = { ...(o.run ?? {}), seed: o.seed, batch: o.batch, seqLen: o.seqLen, gradAccum: o.gradAccum, totalSteps: total };
  const stream = new ExampleStream(o.train, o.seed);

  let step = 0;
  let history: StepRecord[] = [];
  let tokensSeen = 0;
  let elapsedBefore = 0;
  let resumedFrom: string | null = null;
  if (o.resumeFrom) {
    const ck = loadCheckpoint(o.resumeFrom);
    checkResumable(ck.meta.run, run, ck.dir);
    await o.runner.setState(ck.state);
    step = ck.meta.step;
    stream.pos = { ...ck.meta.data };
    history = ck.meta.history;
    tokensSeen = ck.meta.tokensSeen;
    elapsedBefore = ck.meta.elapsedMs;
    resumedFrom = ck.dir;
  }
  emit({ type: 'start', totalSteps: total, startStep: step, trainExamples: o.train.length, valExamples: o.val.length, resumedFrom });

  const sessionStart = now();
  let pausedMs = 0;
  let sessionTokens = 0;
  const startStep = step;
  const trainingMs = () => now() - sessionStart - pausedMs;

  const checkpoint = async (root = o.checkpointDir): Promise<string | null> => {
    if (!root) return null;
    const meta: CheckpointMeta = {
      version: 1,
      step,
      data: { ...stream.pos },
      rng: { seed: o.seed, epoch: stream.pos.epoch },
      tokensSeen,
      elapsedMs: elapsedBefore + trainingMs(),
      history,
      run,
    };
    const dir = saveCheckpoint(root, await o.runner.getState(), meta);
    emit({ type: 'checkpoint', step, dir });
    return dir;
  };

  // Kept out of the training time, as holds are: tokens/s stays the steps' speed.
  const answer = async (final: boolean) => {
    const t = now();
    await o.afterCheckpoint?.(step, final);
    pausedMs += now() - t;
  };
  const result = (cancelled: boolean, ck: string | null): TrainLoopResult => {
    const last = history[history.length - 1];
    const lastEval = [...history].reverse().find((h) => h.evalLoss !== undefined);
    return {
      steps: step,
      totalSteps: total,
      finalLoss: last?.loss ?? null,
      finalEvalLoss: lastEval?.evalLoss ?? null,
      tokensSeen,
      elapsedMs: elapsedBefore + trainingMs(),
      history,
      cancelled,
      checkpoint: ck,
    };
  };

  while (step < total) {
    o.control?.setWorking(false);
    if (o.control?.isPaused) {
      const t = now();
      emit({ type: 'paused', step });
      await o.control.waitWhilePaused(o.signal);
      pausedMs += now() - t;
      if (!o.signal?.aborted) emit({ type: 'resumed', step });
    }
    if (o.control?.isHeld) {
      // Another job (a chat reply) has priority: wait without reporting a pause, and keep the time out of tokens/s.
      const t = now();
      await o.control.waitWhileHeld(o.signal);
      pausedMs += now() - t;
    }
    o.control?.setWorking(true);
    if (o.signal?.aborted) {
      const ck = await checkpoint();
      emit({ type: 'cancelled', step, checkpoint: ck });
      return result(true, ck);
    }

    step++;
    let lossSum = 0;
    let targets = 0;
    for (let a = 0; a < o.gradAccum; a++) {
      const examples = stream.take(o.batch);
      for (const ex of examples) {
        const n = Math.min(ex.ids.length, o.seqLen);
        tokensSeen += n;
        sessionTokens += n;
      }
      const r = await o.runner.accumulate(makeBatch(examples, o.batch, o.seqLen, o.padId));
      lossSum += r.lossSum;
      targets += r.tokens;
    }
    if (targets === 0) throw new GraftError('INTERNAL', `step ${step}: no token carried loss`);
    const lr = learningRate(step, { lr: o.lr, warmup: o.warmup, total, kind: o.schedule, minRatio: o.minLrRatio });
    const { gradNorm } = await o.runner.apply(
      {
        lr,
        beta1: o.beta1 ?? 0.9,
        beta2: o.beta2 ?? 0.999,
        eps: o.eps ?? 1e-8,
        weightDecay: o.weightDecay ?? 0,
        step,
        maxGradNorm: o.maxGradNorm,
      },
      targets,
    );
    const rec: StepRecord = { step, loss: lossSum / targets, lr, gradNorm, tokens: targets };
    if (!Number.isFinite(rec.loss) || !Number.isFinite(gradNorm)) {
      // Stop before a non-finite state reaches a checkpoint; the last one stays a good place to resume from.
      throw new GraftError(
        'BAD_INPUT',
        `training diverged at step ${step} (loss ${rec.loss}, gradient norm ${gradNorm}); lower {lr}, raise {warmup} or keep {maxGradNorm} on`,
        { where: `step ${step}` },
      );
    }
    history.push(rec);

    const ms = trainingMs();
    const perStep = ms / (step - startStep);
    emit({
      type: 'step',
      step,
      totalSteps: total,
      epoch: stream.epochProgress,
      loss: rec.loss,
      lr,
      gradNorm,
      tokensPerSec: ms > 0 ? (sessionTokens * 1000) / ms : 0,
      tokensSeen,
      elapsedMs: elapsedBefore + ms,
      etaMs: perStep * (total - step),
    });

    const evalEvery = o.evalEvery ?? 0;
    if (o.val.length && (step === total || (evalEvery > 0 && step % evalEvery === 0))) {
      const ev = await evaluate(o);
      rec.evalLoss = ev.loss;
      emit({ type: 'eval', step, evalLoss: ev.loss, tokens: ev.tokens });
    }
    if (o.saveEvery && step % o.saveEvery === 0 && step < total) {
      await checkpoint();
      await answer(false);
    }
  }
  if (!o.signal?.aborted) await answer(true);
  o.control?.setWorking(false);
  emit({
    type: 'done',
    step,
    loss: history.at(-1)?.loss ?? null,
    evalLoss: result(false, null).finalEvalLoss,
    tokensSeen,
    elapsedMs: elapsedBefore + trainingMs(),
  });
  const finished = result(false, null);
  if (o.write) {
    try {
      await o.write(finished);
    } catch (err) {
      throw await keepWeights(err, [o.checkpointDir, ...(o.rescueDirs ?? [])], checkpoint);
    }
  }
  return finished;
}

/** The final write failed: save the trained state into the first folder that takes it, and say where. */
async function keepWeights(
  err: unknown,
  roots: (string | undefined)[],
  save: (root: string) => Promise<string | null>,
): Promise<GraftError> {
  const e = toErrorData(err);
  const failed: string[] = [];
  for (const root of roots) {
    if (!root) continue;
    try {
      const dir = await save(root);
      if (!dir) continue;
      const message = `${e.message}. The trained weights are kept in ${dir}: once the problem is fixed, continue the run from there ({resume} ${dir}) to write the adapter`;
      return new GraftError(e.code, message, { file: e.file, where: e.where, cause: err });
    } catch (saveErr) {
      failed.push(`${root} (${(saveErr as Error).message})`);
    }
  }
  return new GraftError(
    e.code,
    `${e.message}. The trained weights could not be kept anywhere either: ${failed.join('; ') || 'no folder to keep them in'}`,
    { file: e.file, where: e.where, cause: err },
  );
}

/** Mean loss over the validation examples, in a fixed order, micro-batch by micro-batch. */
export async function evaluate(
  o: Pick<TrainLoopOptions, 'runner' | 'val' | 'batch' | 'seqLen' | 'padId' | 'maxEvalBatches'>,
): Promise<{ loss: number; tokens: number }> {
  let lossSum = 0;
  let tokens = 0;
  const maxBatches = o.maxEvalBatches ?? Infinity;
  for (let i = 0, b = 0; i < o.val.length && b < maxBatches; i += o.batch, b++) {
    const r = await o.runner.evalLoss(makeBatch(o.val.slice(i, i + o.batch), o.batch, o.seqLen, o.padId));
    lossSum += r.lossSum;
    tokens += r.tokens;
  }
  return { loss: tokens ? lossSum / tokens : NaN, tokens };
}
