/**
 * Adapter import and export options, declared once: `graft adapters import` / `export` build their flags from
 * them, and the Adapters screen's `adapters.import` / `adapters.export` requests are validated by the same
 * schema (ipc/adapters.ts). The file to read or write (and an import's tags) are the job's target, not options.
 */
import { MERGED_GGUF_TYPES, type MergedGgufType } from '../io/gguf-types.js';
import type { OptionsOf, Schema } from './schema.js';

export { MERGED_GGUF_TYPES, type MergedGgufType };
export const EXPORT_FORMATS = ['peft', 'peft-zip', 'gguf', 'merged', 'merged-gguf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const GGUF_TENSOR_TYPES = ['F32', 'F16'] as const;

const IMPORT = 'Import';
const EXPORT = 'Export';

export const IMPORT_OPTIONS = {
  name: { kind: 'text', default: '', label: 'Adapter name', group: IMPORT, help: 'name in the library (default: from the file)' },
  basePath: {
    kind: 'text',
    default: '',
    flag: 'base',
    label: 'Base model',
    group: IMPORT,
    help: 'check compatibility with this base (HF folder or .gguf) and record it; a mismatch fails',
  },
  arch: {
    kind: 'text',
    default: '',
    gui: false,
    label: 'Architecture',
    group: IMPORT,
    help: 'the architecture the adapter was trained on, when its files do not say (llama, qwen2, qwen3)',
  },
} as const satisfies Schema;
export type ImportOptions = OptionsOf<typeof IMPORT_OPTIONS>;

export const EXPORT_OPTIONS = {
  format: {
    kind: 'enum',
    choices: EXPORT_FORMATS,
    default: 'peft',
    label: 'Format',
    group: EXPORT,
    help: 'peft (a folder), peft-zip, gguf (llama.cpp / Ollama LoRA), merged (the base with the adapter folded in, a Hugging Face folder) or merged-gguf (the same as one GGUF for Ollama / LM Studio, with a Modelfile)',
    // the Adapters screen does not offer the merged GGUF yet
    appChoices: ['peft', 'peft-zip', 'gguf', 'merged'],
  },
  base: {
    kind: 'text',
    default: '',
    when: { format: ['gguf', 'merged', 'merged-gguf'] },
    label: 'Base model',
    group: EXPORT,
    help: 'base model: HF folder or .gguf (default: the one recorded at import)',
  },
  // F16, as the app's export dialog defaults: half the size, and what llama.cpp computes in
  ggufType: { kind: 'enum', choices: GGUF_TENSOR_TYPES, default: 'F16', when: { format: 'gguf' }, label: 'Tensor type', group: EXPORT, help: "the GGUF adapter's tensor type" },
  ggufQuant: {
    kind: 'enum',
    choices: MERGED_GGUF_TYPES,
    default: 'F16',
    when: { format: 'merged-gguf' },
    label: 'Merged GGUF type',
    group: EXPORT,
    help: "the merged weights in F16, Q8_0 (about half of F16) or Q4_K_M (about a quarter, llama.cpp's 4-bit mix)",
  },
  ollamaBase: {
    kind: 'text',
    default: '',
    when: { format: 'gguf' },
    label: 'Ollama base',
    group: EXPORT,
    help: 'what the Modelfile puts after FROM (default: the base path)',
  },
} as const satisfies Schema;
export type ExportOptions = OptionsOf<typeof EXPORT_OPTIONS>;

/** Empty text means "not given" (the store's defaults apply): the store takes undefined for those. */
export const given = (s: string): string | undefined => (s === '' ? undefined : s);
