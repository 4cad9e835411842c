/**
 * Generation options, declared once: `graft generate` / `graft chat` / `graft compare` build their flags from
 * them, and the Chat screen's sampling request is validated by the same schema.
 */
import { EMBEDDING_PRECISIONS, QUANT_METHODS, QUANT_SCHEMES } from '../quant/kinds.js';
import { DECODE_PRECISIONS } from '../infer/decode-precision.js';
import { DEVICE_PREFS } from '../runtime/device-pref.js';
import { defaultsOf, validateOptions, type OptionsOf, type Schema } from './schema.js';

const SAMPLING = 'Sampling';

/** How each next token is drawn. The neutral values (topK 0, topP 1, minP 0, penalties 1 and 0) switch a filter off. */
export const SAMPLING_OPTIONS = {
  temperature: { kind: 'number', default: 0.8, min: 0, max: 5, label: 'Temperature', group: SAMPLING, help: '0 = greedy' },
  topP: { kind: 'number', default: 1, min: 0, max: 1, label: 'Top-p', group: SAMPLING, help: 'nucleus sampling mass (1: off)' },
  topK: { kind: 'int', default: 0, min: 0, max: 1_000_000, label: 'Top-k', group: SAMPLING, help: 'keep the k most likely tokens (0: off)' },
  minP: { kind: 'number', default: 0, min: 0, max: 1, label: 'Min-p', group: SAMPLING, help: 'drop tokens below x times the top probability (0: off)' },
  repetitionPenalty: {
    kind: 'number',
    default: 1,
    min: 0.5,
    max: 3,
    label: 'Repetition penalty',
    group: SAMPLING,
    help: 'HF repetition penalty (> 1 discourages repeats)',
  },
  presencePenalty: {
    kind: 'number',
    default: 0,
    min: -2,
    max: 2,
    label: 'Presence penalty',
    group: SAMPLING,
    help: 'subtract x from the logits of tokens already present',
  },
  maxTokens: { kind: 'int', default: 128, min: 1, max: 32_768, label: 'Max tokens', group: SAMPLING, help: 'tokens to generate' },
  seed: { kind: 'int', default: null, nullable: true, min: 0, max: 2 ** 32 - 1, label: 'Seed', group: SAMPLING, help: 'sampling seed (a fresh one when not given)' },
} as const satisfies Schema;
export type SamplingOptions = OptionsOf<typeof SAMPLING_OPTIONS>;

/** The Chat screen's starting point: the defaults with a little filtering, which suits chat models. */
export const CHAT_SAMPLING: SamplingOptions = { ...defaultsOf(SAMPLING_OPTIONS), temperature: 0.7, topP: 0.95, topK: 40, minP: 0.05, repetitionPenalty: 1.1 };

export function parseSampling(input: unknown): SamplingOptions {
  return validateOptions(SAMPLING_OPTIONS, input);
}

/** The sampler's options (infer/sampling.ts) from validated ones: no seed means a fresh one. */
export function samplerOptions(o: SamplingOptions): Omit<SamplingOptions, 'seed' | 'maxTokens'> & { seed?: number } {
  const { maxTokens: _max, seed, ...rest } = o;
  return { ...rest, ...(seed === null ? {} : { seed }) };
}

/** How a generation runs, besides its sampling: `graft generate`, `chat` and `compare`. */
export const GENERATE_OPTIONS = {
  ...SAMPLING_OPTIONS,
  contextOverflow: {
    kind: 'enum',
    choices: ['error', 'truncate'],
    default: 'error',
    label: 'When the prompt is too long',
    group: 'Context',
    help: 'error, or truncate (drop the oldest prompt tokens)',
  },
  device: { kind: 'enum', choices: DEVICE_PREFS, default: 'auto', label: 'Device', group: 'Device', help: 'auto, cpu or gpu' },
  precision: {
    kind: 'enum',
    choices: DECODE_PRECISIONS,
    default: 'auto',
    label: 'Precision',
    group: 'Device',
    help: 'weights, activations and KV cache on the GPU: fp16 (half the memory, faster), fp32, or auto (fp16; a model whose fp16 decode overflows decodes in fp32 from then on, an overflow at the first step retried at once). The CPU and 4-bit bases run in fp32',
  },
} as const satisfies Schema;
export type GenerateOptions = OptionsOf<typeof GENERATE_OPTIONS>;

/** A base run in 4 bits for generation (`graft generate --quant`): quantized once, then cached. */
export const QUANT_BASE_OPTIONS = {
  quant: { kind: 'enum', choices: ['none', ...QUANT_SCHEMES], default: 'none', label: '4-bit base', group: 'Base', help: 'run the base in 4 bits (quantized once, then cached)' },
  quantEmbeddings: {
    kind: 'enum',
    choices: EMBEDDING_PRECISIONS,
    default: 'fp16',
    when: { quant: QUANT_SCHEMES },
    label: 'Embeddings and LM head',
    group: 'Base',
    help: 'with a 4-bit base: embeddings and LM head at fp16 precision or in 8 bits',
  },
  quantMethod: {
    kind: 'enum',
    choices: QUANT_METHODS,
    default: 'rtn',
    when: { quant: QUANT_SCHEMES },
    label: '4-bit rounding',
    group: 'Base',
    help: 'with a 4-bit base: rtn (round to nearest) or gptq (calibrated on text sampled from the model; slower once, cached)',
  },
} as const satisfies Schema;
export type QuantBaseOptions = OptionsOf<typeof QUANT_BASE_OPTIONS>;
