/**
 * The model families Graft runs, as people name them, with the config.json architectures and GGUF
 * `general.architecture` values of each: the one list the Models screen, `graft models` and the
 * "not supported" errors read. Plain data, so the renderer can import it too.
 */
export interface ModelFamily {
  name: string;
  architectures: readonly string[];
  gguf: readonly string[];
}

export const MODEL_FAMILIES: readonly ModelFamily[] = [
  { name: 'Llama', architectures: ['LlamaForCausalLM'], gguf: ['llama'] },
  { name: 'Mistral', architectures: ['MistralForCausalLM'], gguf: [] },
  { name: 'Qwen2', architectures: ['Qwen2ForCausalLM'], gguf: ['qwen2'] },
  { name: 'Qwen3', architectures: ['Qwen3ForCausalLM'], gguf: ['qwen3'] },
  { name: 'SmolLM3', architectures: ['SmolLM3ForCausalLM'], gguf: ['smollm3'] },
  { name: 'Phi-3 / Phi-3.5 / Phi-4-mini', architectures: ['Phi3ForCausalLM'], gguf: ['phi3'] },
  { name: 'Gemma 3 (text)', architectures: ['Gemma3ForCausalLM'], gguf: ['gemma3'] },
];

/** "Llama, Mistral, …": the families in one line, for messages. */
export const familyNames = (): string => MODEL_FAMILIES.map((f) => f.name).join(', ');

/** "Llama (LlamaForCausalLM), …": what a refusal of an unsupported architecture lists. */
export const supportedArchitectures = (): string => MODEL_FAMILIES.map((f) => `${f.name} (${f.architectures.join(', ')})`).join('; ');
