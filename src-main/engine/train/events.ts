import type { FinishReason } from '../infer/generate.js';

/** One evaluation prompt's answers at one step (train/eval-prompts.ts). */
export interface PromptAnswer {
  prompt: string;
  base: string;
  adapter: string;
  /** How the adapter's answer ended: 'eos' when it stopped by itself, 'length' at evalMaxTokens. */
  finish: FinishReason;
}

/** Progress events of a training run, as the CLI prints them (JSON lines) and the app shows them. */
export type TrainEvent =
  | { type: 'start'; totalSteps: number; startStep: number; trainExamples: number; valExamples: number; resumedFrom: string | null }
  | {
      type: 'step';
      step: number;
      totalSteps: number;
      epoch: number;
      loss: number;
      lr: number;
      gradNorm: number;
      /** Input tokens (not padding) processed per second of this session's training time. */
      tokensPerSec: number;
      tokensSeen: number;
      elapsedMs: number;
      etaMs: number;
    }
  | { type: 'eval'; step: number; evalLoss: number; tokens: number }
  | { type: 'checkpoint'; step: number; dir: string }
  /** The evaluation prompts being answered at a checkpoint or the end: `done` of `total` so far. */
  | { type: 'answering'; step: number; done: number; total: number }
  /** The evaluation prompts' answers, base | adapter, at a checkpoint or (final) the end. */
  | { type: 'answers'; step: number; final: boolean; answers: PromptAnswer[] }
  | { type: 'paused'; step: number }
  | { type: 'resumed'; step: number }
  | { type: 'cancelled'; step: number; checkpoint: string | null }
  | { type: 'done'; step: number; loss: number | null; evalLoss: number | null; tokensSeen: number; elapsedMs: number };
