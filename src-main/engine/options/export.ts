/**
 * Adapter export options, declared once: `graft adapters export` builds its flags from them (the app's export
 * dialog sends the same keys). The output path and the base model are paths the CLI takes as its own flags.
 */
import { MERGED_GGUF_TYPES, type MergedGgufType } from '../io/gguf-types.js';
import type { OptionsOf, Schema } from './schema.js';

export const EXPORT_FORMATS = ['peft', 'peft-zip', 'gguf', 'merged', 'merged-gguf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export { MERGED_GGUF_TYPES, type MergedGgufType };

const EXPORT = 'Export';

export const EXPORT_OPTIONS = {
  format: {
    kind: 'enum',
    choices: EXPORT_FORMATS,
    default: 'peft',
    label: 'Format',
    group: EXPORT,
    help: 'what to write: a PEFT folder or .zip, a llama.cpp GGUF LoRA (with an Ollama Modelfile), or the base with the adapter merged in (a Hugging Face folder, or one GGUF for Ollama / LM Studio with a Modelfile)',
    choiceLabels: { peft: 'PEFT folder', 'peft-zip': 'PEFT .zip', gguf: 'GGUF LoRA (llama.cpp, Ollama)', merged: 'Merged model (Hugging Face)', 'merged-gguf': 'Merged model (GGUF for Ollama / LM Studio)' },
  },
  ggufType: {
    kind: 'enum',
    choices: ['F16', 'F32'],
    default: 'F16',
    when: { format: 'gguf' },
    label: 'GGUF precision',
    group: EXPORT,
    help: 'the LoRA factors in F16 (half the size, what llama.cpp computes in) or F32',
  },
  ggufQuant: {
    kind: 'enum',
    choices: MERGED_GGUF_TYPES,
    default: 'F16',
    when: { format: 'merged-gguf' },
    label: 'Merged GGUF type',
    group: EXPORT,
    help: 'the merged weights in F16, Q8_0 (about half of F16) or Q4_K_M (about a quarter, llama.cpp\'s 4-bit mix)',
  },
  ollamaBase: {
    kind: 'text',
    default: '',
    when: { format: 'gguf' },
    label: 'Ollama base',
    group: EXPORT,
    help: 'what the Modelfile puts after FROM (default: the base model\'s path)',
  },
} as const satisfies Schema;
export type ExportOptions = OptionsOf<typeof EXPORT_OPTIONS>;
