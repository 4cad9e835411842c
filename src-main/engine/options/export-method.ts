/**
 * `graft export-method`: how a non-LoRA adapter leaves Graft, declared once (adapters/method-export.ts does
 * the work; its refusals name these fields).
 */
import type { OptionsOf, Schema } from './schema.js';

export const METHOD_EXPORT_FORMATS = ['merged', 'lora', 'gguf-lora', 'adapterhub'] as const;
export type MethodExportFormat = (typeof METHOD_EXPORT_FORMATS)[number];

/**
 * The formats each method can take (adapters/method-export.ts refuses the others, saying why): what the
 * Adapters screen offers for an entry. Prefix tuning has none beyond its PEFT folder.
 */
export const EXPORTS_BY_METHOD: Readonly<Record<string, readonly MethodExportFormat[]>> = {
  dora: ['merged', 'lora', 'gguf-lora'],
  ia3: ['merged', 'lora', 'gguf-lora'],
  bitfit: ['merged'],
  houlsby: ['adapterhub'],
  pfeiffer: ['adapterhub'],
  parallel: ['adapterhub'],
  prefix: [],
  fusion: ['adapterhub'],
};

export const EXPORT_METHOD_OPTIONS = {
  format: {
    kind: 'enum',
    choices: METHOD_EXPORT_FORMATS,
    default: 'merged',
    label: 'Format',
    group: 'Export',
    help: 'merged (the base with the adapter merged exactly: DoRA, IA³, BitFit), lora (a PEFT LoRA fitted by SVD: DoRA, IA³), gguf-lora (that LoRA for llama.cpp/Ollama) or adapterhub (bottleneck adapters in AdapterHub\'s layout)',
    choiceLabels: {
      merged: 'Merged model (exact), a Hugging Face folder',
      lora: 'PEFT LoRA fitted by SVD (the error is reported)',
      'gguf-lora': 'GGUF LoRA fitted by SVD, for llama.cpp / Ollama',
      adapterhub: "AdapterHub's saved layout (adapter_config.json + adapter.safetensors)",
    },
  },
  loraRank: {
    kind: 'int',
    default: null,
    nullable: true,
    min: 1,
    when: { format: ['lora', 'gguf-lora'] },
    label: 'LoRA rank',
    group: 'Export',
    help: 'the rank of the LoRA fitted to the adapter by SVD (its reconstruction error is printed)',
  },
} as const satisfies Schema;
export type ExportMethodOptions = OptionsOf<typeof EXPORT_METHOD_OPTIONS>;
