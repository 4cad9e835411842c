/**
 * Evaluation prompts: a few prompts saved with a run, answered by the base and by the adapter as it stands, at
 * each checkpoint and at the end, so a run shows what it taught and not only a loss. Greedy and bounded
 * (evalMaxTokens), done between optimizer steps: the cost is a few short decodes per checkpoint, nothing per step.
 *
 * The answers are kept in <out>/eval-answers.json (atomic writes). A resumed run reads it back and keeps the
 * answers of the steps it resumes after; the base's answers are computed once per run (greedy: they never change).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterWeights } from '../adapters/adapter-weights.js';
import type { LoraConfig } from '../adapters/lora-config.js';
import type { MethodAdapter } from '../adapters/method.js';
import { chatRenderer, chatStops } from '../data/chat-template.js';
import { GraftError } from '../errors.js';
import { generate, type Variant } from '../infer/generate.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import type { LoadedModel } from '../model.js';
import type { WeightsFactory } from '../models/weights.js';
import type { DeviceInfo } from '../runtime/device.js';
import type { TextTokenizer } from '../tokenize/types.js';
import type { PromptAnswer, TrainEvent } from './events.js';
import type { TensorMap } from './types.js';
import type { DatasetFormat, ReadOptions } from '../data/types.js';
import type { WeightSource } from '../io/model-source.js';
import { specFromConfig } from '../models/index.js';
import type { TrainOptions } from '../options/train.js';
import { textEndToken } from './end-token.js';

export const EVAL_ANSWERS_FILE = 'eval-answers.json';

/** The prompts of the `evalPrompts` option: one a line, blank lines skipped. */
export function parseEvalPrompts(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

/** What eval-answers.json holds. */
export interface EvalAnswersFile {
  version: 1;
  prompts: string[];
  maxTokens: number;
  /** The base's answer to each prompt (same order as prompts). */
  base: string[];
  /** One entry per checkpoint (and the end), by step. */
  checkpoints: { step: number; final: boolean; answers: PromptAnswer[] }[];
}

export interface EvalPromptsOptions {
  prompts: string[];
  maxTokens: number;
  /** The run folder: eval-answers.json goes in it. */
  out: string;
  model: LoadedModel;
  tokenizer: TextTokenizer;
  device: DeviceInfo;
  /** The base as the step graphs hold it (4-bit for QLoRA, fp16 copies), so answers come from the trained base. */
  weights?: WeightsFactory;
  lora: LoraConfig;
  /** A method other than LoRA (DoRA, IA³, bottlenecks, prefix, BitFit); null for LoRA/QLoRA. */
  method: MethodAdapter | null;
  /** Chats and instructions: prompts are rendered as a user turn with the chat template; plain text as is. */
  chat: boolean;
  chatTemplate?: string;
  /** Token that ends a plain-text row (train/end-token.ts): the template's end marker for a model without one. */
  endToken?: number | null;
  /** A resumed run: keep the answers the run folder holds (a new run starts afresh). */
  resumed?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: TrainEvent) => void;
}

/** Reads the answers a run kept (for a resume and for `graft train` output); null when there are none. */
export function readEvalAnswers(out: string): EvalAnswersFile | null {
  const file = join(out, EVAL_ANSWERS_FILE);
  if (!existsSync(file)) return null;
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as EvalAnswersFile;
    if (v.version !== 1 || !Array.isArray(v.checkpoints)) throw new Error(`unknown version ${String(v.version)}`);
    return v;
  } catch (err) {
    throw new GraftError('BAD_FILE', `${file}: ${(err as Error).message}`, { file, cause: err });
  }
}

/**
 * Answers the prompts with the adapter's current weights: `answer(step, final, lora)` after a checkpoint is
 * written and after the last step. Emits `answering` per prompt (progress) and `answers` with the step's results.
 * Returns false when cancelled part-way (nothing is recorded for that step).
 */
export function createPromptEvaluator(o: EvalPromptsOptions) {
  const file = join(o.out, EVAL_ANSWERS_FILE);
  const kept = o.resumed ? readEvalAnswers(o.out) : null;
  // Answers of other prompts or another length are another experiment's: start afresh.
  const same = kept && JSON.stringify(kept.prompts) === JSON.stringify(o.prompts) && kept.maxTokens === o.maxTokens;
  const record: EvalAnswersFile = same ? kept : { version: 1, prompts: o.prompts, maxTokens: o.maxTokens, base: [], checkpoints: [] };
  const renderer = o.chat ? chatRenderer(o.tokenizer, { template: o.chatTemplate, endToken: o.endToken }) : null;
  const endOfTurn = renderer ? chatStops(o.tokenizer, renderer) : undefined;
  const encode = (prompt: string) =>
    renderer
      ? o.tokenizer.encode(renderer.render([{ role: 'user', content: prompt }], true), { addSpecial: false })
      : o.tokenizer.encode(prompt, { addSpecial: true });

  function adapterVariant(lora: TensorMap): Variant {
    const tensors = new Map([...lora].map(([k, t]) => [k, t.data]));
    if (o.method) return { adapters: [], method: { adapter: o.method, tensors } };
    const weights: AdapterWeights = { r: o.lora.r, alpha: o.lora.alpha, rslora: o.lora.rslora, targets: o.lora.targets, tensors };
    return { adapters: [{ weights, scale: 1 }] };
  }

  async function answer(step: number, final: boolean, lora: TensorMap): Promise<boolean> {
    const adapter = adapterVariant(lora);
    const answers: PromptAnswer[] = [];
    const base = [...record.base];
    for (const [i, prompt] of o.prompts.entries()) {
      o.onEvent?.({ type: 'answering', step, done: i, total: o.prompts.length });
      const needBase = base[i] === undefined;
      // Base and adapter in one batched decode the first time; the adapter alone after that.
      const results = await generate({
        model: o.model,
        device: o.device,
        tokenizer: o.tokenizer,
        prompt: encode(prompt),
        variants: needBase ? [{ adapters: [] }, adapter] : [adapter],
        maxTokens: o.maxTokens,
        sampling: { temperature: 0 },
        endOfTurn,
        overflow: 'truncate',
        weights: o.weights,
        signal: o.signal,
      });
      if (results.some((r) => r.finish === 'cancelled')) return false;
      if (needBase) base[i] = results[0].text;
      const a = results.at(-1)!;
      answers.push({ prompt, base: base[i], adapter: a.text, finish: a.finish });
    }
    record.base = base;
    // A step answered again (a run resumed from a checkpoint before it) replaces the earlier answers.
    record.checkpoints = [...record.checkpoints.filter((c) => c.step < step), { step, final, answers }];
    writeFileAtomicSync(file, [Buffer.from(JSON.stringify(record, null, 1) + '\n')]);
    o.onEvent?.({ type: 'answers', step, final, answers });
    return true;
  }

  return { answer, file, record };
}

/** What a run gives evaluatorForRun: its options, how its data was read, and the pieces it trains with. */
export interface RunForEval extends Pick<
  EvalPromptsOptions,
  'out' | 'tokenizer' | 'device' | 'weights' | 'lora' | 'method' | 'resumed' | 'signal' | 'onEvent'
> {
  options: Pick<TrainOptions, 'evalPrompts' | 'evalMaxTokens' | 'chatTemplate'>;
  read?: ReadOptions;
  source: WeightSource;
  data: { totals: { format: DatasetFormat } };
}

/** The evaluator of a run that has evaluation prompts (the `evalPrompts` option), else null. */
export function evaluatorForRun(r: RunForEval): ReturnType<typeof createPromptEvaluator> | null {
  const prompts = parseEvalPrompts(r.options.evalPrompts);
  if (!prompts.length) return null;
  const spec = specFromConfig(r.source.config, r.source.path);
  // Chats and instructions are asked as a user turn through the chat template; plain text (and CSV read as a
  // text column) is continued as written.
  const format = r.data.totals.format;
  const chat = format !== 'text' && !(format === 'csv' && r.read?.columns?.text);
  return createPromptEvaluator({
    ...r,
    prompts,
    maxTokens: r.options.evalMaxTokens,
    model: { source: r.source, spec },
    chat,
    chatTemplate: r.options.chatTemplate.trim() ? r.options.chatTemplate : undefined,
    endToken: chat ? textEndToken(r.source, spec, r.tokenizer).id : undefined,
  });
}
