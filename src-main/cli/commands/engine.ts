/** `graft verify-reference` and `graft generate`: the engine's own checks and generation. */
import type { Command } from 'commander';
import { chatRenderer, chatStops } from '../../engine/data/chat-template.js';
import { GraftError } from '../../engine/errors.js';
import { loadQuantizedBase, quantWeightsFactory } from '../../engine/quant/index.js';
import { generate as runGeneration, type Variant } from '../../engine/infer/generate.js';
import type { SamplingOpts } from '../../engine/infer/sampling.js';
import type { TextTokenizer } from '../../engine/tokenize/types.js';
import { loadModel } from '../../engine/model.js';
import { GENERATE_OPTIONS, QUANT_BASE_OPTIONS, samplerOptions, type GenerateOptions, type QuantBaseOptions, type SamplingOptions } from '../../engine/options/generate.js';
import { validateOptions } from '../../engine/options/schema.js';
import { textEndToken } from '../../engine/train/end-token.js';
import { DEVICE_PREFS, resolveDevice, type DeviceInfo, type DevicePref } from '../../engine/runtime/device.js';
import { verifyAnyReference } from '../../engine/verify/method-reference.js';
import { collect, rowVariant } from './adapter-arg.js';
import { COMPOSE_OPTIONS } from '../../engine/options/compose.js';
import type { CommandRegistrar } from './index.js';
import { gptqProgressLine } from './quant-progress.js';
import { resolveModelRef } from '../../store/model-registry.js';
import { addSchemaFlags, inputFromFlags } from './schema-flags.js';

export function parseDevice(v: string): DevicePref {
  if (!(DEVICE_PREFS as readonly string[]).includes(v)) throw new GraftError('BAD_INPUT', `must be one of ${DEVICE_PREFS.join(', ')}, got "${v}"`, { field: 'device' });
  return v as DevicePref;
}

/** What `generate`, `chat` and `compare` are given: the schema's options plus the prompt and the variants. */
export interface GenerationFlags extends GenerateOptions {
  model: string;
  adapter?: string[];
  base?: boolean;
  prompt?: string;
  system?: string;
  chat?: boolean;
  stop?: string[];
}

export function addGenerationFlags(cmd: Command): Command {
  cmd
    .requiredOption('--model <path>', 'base model: a Hugging Face folder, a .gguf file, or the name of a model registered in the app')
    .option('--prompt <text>', 'prompt text (default: start from BOS alone)')
    .option('--system <text>', 'system prompt (with --chat)')
    .option('--chat', 'apply the model chat template to the prompt')
    .option('--stop <text>', 'stop string (repeatable)', collect);
  return addSchemaFlags(cmd, GENERATE_OPTIONS);
}

/** The parsed flags with the schema's options validated (defaults filled in). */
export async function generationFlags<F extends { model: string }>(f: F): Promise<F & GenerateOptions> {
  return { ...f, model: resolveModelRef(f.model, 'model'), ...validateOptions(GENERATE_OPTIONS, await inputFromFlags(GENERATE_OPTIONS, f)) };
}

export async function promptIds(
  model: Awaited<ReturnType<typeof loadModel>>,
  f: GenerationFlags,
): Promise<{ tokenizer: TextTokenizer | null; ids: number[]; endOfTurn?: { ids: number[]; texts: string[] } }> {
  const tokenizer = await model.source.tokenizer();
  if (!tokenizer) {
    if (f.prompt) throw new GraftError('NOT_FOUND', `${model.source.path}: the model has no tokenizer, so a text prompt cannot be encoded`, { file: model.source.path });
    if (model.spec.bosId === null) throw new GraftError('BAD_INPUT', 'the model has neither a tokenizer nor a BOS token to start from');
    return { tokenizer, ids: [model.spec.bosId] };
  }
  if (f.chat) {
    const messages = [...(f.system ? [{ role: 'system' as const, content: f.system }] : []), { role: 'user' as const, content: f.prompt ?? '' }];
    const chat = chatRenderer(tokenizer, { warn: (m) => console.error(`graft: warning: ${m}`), endToken: textEndToken(model.source, model.spec, tokenizer).id });
    return { tokenizer, ids: tokenizer.encode(chat.render(messages, true), { addSpecial: false }), endOfTurn: chatStops(tokenizer, chat) };
  }
  const bos = tokenizer.bosId ?? model.spec.bosId;
  if (!f.prompt) return { tokenizer, ids: bos === null ? [] : [bos] };
  return { tokenizer, ids: tokenizer.encode(f.prompt, { addSpecial: true }) };
}

async function quantizedBase(model: Awaited<ReturnType<typeof loadModel>>, device: DeviceInfo, q: QuantBaseOptions) {
  if (q.quant === 'none') return undefined;
  const { store } = await loadQuantizedBase(model.source, q.quant, {
    embeddings: q.quantEmbeddings,
    method: q.quantMethod,
    calibrate: { model, device, onProgress: gptqProgressLine },
    onRebuild: (r) => console.error(`graft: warning: quantized-weights cache rebuilt: ${r}`),
  });
  return quantWeightsFactory(store);
}

export function samplingOf(f: SamplingOptions): SamplingOpts {
  return samplerOptions(f);
}

export const registerEngine: CommandRegistrar = (program) => {
  program
    .command('verify-reference')
    .description('check the engine against PyTorch + PEFT goldens (shared/fixtures/hf-reference/<arch> or peft-methods/<method>-<arch>; the method is read from adapter/adapter_config.json)')
    .argument('<dir>', 'fixture folder with model/, adapter/, reference.safetensors, lora_grads.safetensors or grads.safetensors, expected.json')
    .option('--device <device>', 'cpu | gpu', parseDevice, 'cpu' as DevicePref)
    .action(async (dir: string, o: { device: DevicePref }) => {
      const report = await verifyAnyReference(dir, o.device);
      console.log(JSON.stringify(report));
      if (!report.ok) process.exitCode = 1;
    });

  const generate = addGenerationFlags(program.command('generate').description('generate text from a base model, optionally with adapters'))
    .option('--adapter <ref[:scale]>', 'adapter folder or library name; repeated: LoRA adapters applied together, DoRA/IA³/bottleneck/BitFit/fusion adapters composed by --compose under them', collect)
    .option('--library <dir>', 'adapter library for names given to --adapter')
    .option('--stream', 'print text as it is generated')
    .option('--json', 'print one JSON object with ids, text and timings');
  addSchemaFlags(addSchemaFlags(generate, QUANT_BASE_OPTIONS), COMPOSE_OPTIONS).action(async (flags: GenerationFlags & { stream?: boolean; json?: boolean; library?: string }) => {
      const f = await generationFlags(flags);
      const quant = validateOptions(QUANT_BASE_OPTIONS, await inputFromFlags(QUANT_BASE_OPTIONS, flags));
      const model = await loadModel(f.model);
      const device = await resolveDevice(f.device);
      const weights = await quantizedBase(model, device, quant);
      const { tokenizer, ids, endOfTurn } = await promptIds(model, f);
      const compose = validateOptions(COMPOSE_OPTIONS, await inputFromFlags(COMPOSE_OPTIONS, flags));
      const split = await rowVariant(model, f.adapter ?? [], compose, { library: f.library, mergeIntoBase: true });
      for (const note of split.notes) console.error(`graft: ${note}`);
      const variants: Variant[] = [split.variant];
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      const [r] = await runGeneration({
        model,
        device,
        tokenizer,
        prompt: ids,
        variants,
        maxTokens: f.maxTokens,
        sampling: samplingOf(f),
        stop: f.stop,
        endOfTurn,
        overflow: f.contextOverflow,
        precision: f.precision,
        signal: controller.signal,
        weights,
        overrides: split.overrides,
        onToken: f.stream && !f.json ? (_v, t) => process.stdout.write(t.text) : undefined,
      });
      if (f.json) console.log(JSON.stringify({ ids: r.ids, text: r.text, finish: r.finish, ttft_ms: r.ttftMs, tokens_per_second: r.tokensPerSecond, device: device.name }));
      else if (f.stream) process.stdout.write('\n');
      else console.log(r.text);
    });
};
