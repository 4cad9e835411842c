/**
 * The adapter library's side of llama.cpp GGUF LoRAs: the file format itself (tensor names, Q/K permutation of
 * B for llama, adapter.lora.alpha) lives in io/gguf-lora.ts; this turns library adapters into such files and
 * back, and writes the Ollama Modelfile that puts one on its base.
 */
import { GraftError } from '../errors.js';
import { readGgufLora, writeGgufLora } from '../io/gguf-lora.js';
import type { HfConfig } from '../io/hf-config.js';
import { readPeftAdapter } from '../io/peft.js';
import { adapterWeightsFromPeft, writePeftFiles } from './compat.js';

/** Export a PEFT adapter folder as a llama.cpp GGUF LoRA for `base` (its config.json), F32 unless told. */
export async function exportGgufLora(adapterDir: string, base: HfConfig, out: string, opts: { type?: 'F32' | 'F16'; name?: string } = {}): Promise<void> {
  await writeGgufLora(out, readPeftAdapter(adapterDir), base, opts);
}

/**
 * Convert a GGUF LoRA into PEFT files in `dir` (for import into the library). The base's config is needed:
 * llama adapters carry llama.cpp's Q/K row permutation, undone with the base's head counts.
 */
export async function ggufLoraToPeft(file: string, dir: string, base: HfConfig | undefined): Promise<{ arch: string }> {
  if (!base) throw new GraftError('BAD_INPUT', `${file}: importing a GGUF LoRA needs its base model ({base}), to undo llama.cpp's Q/K permutation and check the architecture`, { file });
  const peft = readGgufLora(file, base);
  await writePeftFiles(dir, adapterWeightsFromPeft(peft, file));
  return { arch: base.model_type ?? '' };
}

/** An Ollama Modelfile that puts a GGUF LoRA on its base model (a GGUF path or an Ollama model name). */
export function ollamaModelfile(base: string, adapterFile: string, opts: { system?: string } = {}): string {
  const lines = [
    '# Create the model with:  ollama create <name> -f Modelfile',
    '# FROM must be the base model the adapter was trained on (the same weights; a quantized copy works).',
    `FROM ${base}`,
    `ADAPTER ${adapterFile}`,
  ];
  if (opts.system) lines.push(`SYSTEM """${opts.system.replace(/"""/g, '" " "')}"""`);
  return lines.join('\n') + '\n';
}
