/** `graft verify-reference` and `graft generate`: the engine's own checks and generation. */
import type { Command } from 'commander';
import { chatRenderer, chatStops } from '../../engine/data/chat-template.js';
import { GraftError } from '../../engine/errors.js';
import { loadQuantizedBase, quantWeightsFactory } from '../../engine/quant/index.js';
import { generate, type Variant } from '../../engine/infer/generate.js';
import type { SamplingOpts } from '../../engine/infer/sampling.js';
import type { TextTokenizer } from '../../engine/tokenize/types.js';
import { loadModel } from '../../engine/model.js';
import { textEndToken } from '../../engine/train/end-token.js';
import { resolveDevice, type DeviceInfo, type DevicePref } from '../../engine/runtime/device.js';
import { verifyAnyReference } from '../../engine/verify/method-reference.js';
import { collect, splitAdapterArgs } from './adapter-arg.js';
import type { CommandRegistrar } from './index.js';
import { gptqProgressLine } from './quant-progress.js';

export function parseDevice(v: string): DevicePref {
  if (v !== 'auto' && v !== 'cpu' && v !== 'gpu') throw new GraftError('BAD_INPUT', `--device must be auto, cpu or gpu, not "${v}"`, { where: '--device' });
  return v;
}
const num = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new GraftError('BAD_INPUT', `${flag} must be a number, not "${v}"`, { where: flag });
  return n;
};

export interface GenerationFlags extends Omit<SamplingOpts, 'temperature'> {
  model: string;
  adapter?: string[];
  base?: boolean;
  prompt?: string;
  system?: string;
  chat?: boolean;
  maxTokens: number;
  temperature: number;
  stop?: string[];
  device: DevicePref;
  contextOverflow: 'error' | 'truncate';
}

export function addGenerationFlags(cmd: Command): Command {
  return cmd
    .requiredOption('--model <path>', 'base model: a Hugging Face folder or a .gguf file')
    .option('--prompt <text>', 'prompt text (default: start from BOS alone)')
    .option('--system <text>', 'system prompt (with --chat)')
    .option('--chat', 'apply the model chat template to the prompt')
    .option('--max-tokens <n>', 'tokens to generate', num('--max-tokens'), 128)
    .option('--temperature <x>', '0 = greedy', num('--temperature'), 0.8)
    .option('--top-k <n>', 'keep the k most likely tokens', num('--top-k'))
    .option('--top-p <x>', 'nucleus sampling mass', num('--top-p'))
    .option('--min-p <x>', 'drop tokens below x times the top probability', num('--min-p'))
    .option('--repetition-penalty <x>', 'HF repetition penalty (> 1 discourages repeats)', num('--repetition-penalty'))
    .option('--presence-penalty <x>', 'subtract x from the logits of tokens already present', num('--presence-penalty'))
    .option('--seed <n>', 'sampling seed', num('--seed'))
    .option('--stop <text>', 'stop string (repeatable)', collect)
    .option('--context-overflow <mode>', 'error | truncate (drop the oldest prompt tokens)', 'error')
    .option('--device <device>', 'auto | cpu | gpu', parseDevice, 'auto' as DevicePref);
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

async function quantizedBase(model: Awaited<ReturnType<typeof loadModel>>, device: DeviceInfo, quant: string, embeddings = 'fp16', method = 'rtn') {
  if (quant !== 'nf4' && quant !== 'int4') throw new GraftError('BAD_INPUT', `--quant takes nf4 or int4, not "${quant}"`, { where: '--quant' });
  if (embeddings !== 'fp16' && embeddings !== 'int8') throw new GraftError('BAD_INPUT', `--quant-embeddings takes fp16 or int8, not "${embeddings}"`, { where: '--quant-embeddings' });
  if (method !== 'rtn' && method !== 'gptq') throw new GraftError('BAD_INPUT', `--quant-method takes rtn or gptq, not "${method}"`, { where: '--quant-method' });
  const { store } = await loadQuantizedBase(model.source, quant, {
    embeddings,
    method,
    calibrate: { model, device, onProgress: gptqProgressLine },
    onRebuild: (r) => console.error(`graft: warning: quantized-weights cache rebuilt: ${r}`),
  });
  return quantWeightsFactory(store);
}

export function samplingOf(f: GenerationFlags): SamplingOpts {
  return { temperature: f.temperature, topK: f.topK, topP: f.topP, minP: f.minP, repetitionPenalty: f.repetitionPenalty, presencePenalty: f.presencePenalty, seed: f.seed };
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

  addGenerationFlags(program.command('generate').description('generate text from a base model, optionally with adapters'))
    .option('--adapter <ref[:scale]>', 'adapter folder or library name (LoRA, or one DoRA/IA³/bottleneck/BitFit adapter under them); repeated = applied together', collect)
    .option('--library <dir>', 'adapter library for names given to --adapter')
    .option('--stream', 'print text as it is generated')
    .option('--json', 'print one JSON object with ids, text and timings')
    .option('--quant <q>', 'run the base in 4 bits: nf4 | int4 (quantized once, then cached)')
    .option('--quant-embeddings <p>', 'with --quant: embeddings and LM head fp16 | int8 (default fp16)')
    .option('--quant-method <m>', 'with --quant: rtn (round to nearest) | gptq (calibrated on text sampled from the model; slower once, cached)')
    .action(async (f: GenerationFlags & { stream?: boolean; json?: boolean; library?: string; quant?: string; quantEmbeddings?: string; quantMethod?: string }) => {
      const model = await loadModel(f.model);
      if (f.quantEmbeddings && !f.quant) throw new GraftError('BAD_INPUT', '--quant-embeddings needs --quant', { where: '--quant-embeddings' });
      if (f.quantMethod && !f.quant) throw new GraftError('BAD_INPUT', '--quant-method needs --quant', { where: '--quant-method' });
      const device = await resolveDevice(f.device);
      const weights = f.quant === undefined ? undefined : await quantizedBase(model, device, f.quant, f.quantEmbeddings, f.quantMethod);
      const { tokenizer, ids, endOfTurn } = await promptIds(model, f);
      const split = await splitAdapterArgs(model, f.adapter ?? [], f.library);
      const variants: Variant[] = [split.variant];
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      const [r] = await generate({
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
