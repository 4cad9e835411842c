/**
 * The tokenizer files of a Hugging Face folder, written from GGUF metadata: what a model merged from a GGUF
 * base needs so that Graft, transformers (PreTrainedTokenizerFast) and other loaders can use it. The
 * tokenizer.json is the same object Graft's own GGUF tokenizer runs on.
 */
import type { GgufValue } from './gguf-types.js';
import { tokenizerJsonFromGguf } from '../tokenize/gguf-tokenizer.js';

/** File name → JSON content. Empty when the GGUF carries no tokenizer. */
export function hfTokenizerFilesFromGguf(md: Record<string, GgufValue>, file: string, maxPositions?: number): Record<string, unknown> {
  if (!('tokenizer.ggml.model' in md)) return {};
  const { tokenizerJson, extras } = tokenizerJsonFromGguf(md, file);
  const tokens = md['tokenizer.ggml.tokens'] as string[];
  const idOf = (key: string): number | null => {
    const v = md[key];
    return typeof v === 'number' && v !== 0xffffffff && v >= 0 && v < tokens.length ? v : null;
  };
  const special: Record<string, string> = {};
  for (const [name, key] of [
    ['bos_token', 'tokenizer.ggml.bos_token_id'],
    ['eos_token', 'tokenizer.ggml.eos_token_id'],
    ['unk_token', 'tokenizer.ggml.unknown_token_id'],
    ['pad_token', 'tokenizer.ggml.padding_token_id'],
  ] as const) {
    const id = idOf(key);
    if (id !== null) special[name] = tokens[id];
  }
  const addBos = typeof md['tokenizer.ggml.add_bos_token'] === 'boolean' ? md['tokenizer.ggml.add_bos_token'] : md['tokenizer.ggml.model'] === 'llama';
  const tokenizerConfig: Record<string, unknown> = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    ...special,
    add_bos_token: addBos,
    add_eos_token: md['tokenizer.ggml.add_eos_token'] === true,
    clean_up_tokenization_spaces: false,
    ...(maxPositions ? { model_max_length: maxPositions } : {}),
    ...(extras.chatTemplate ? { chat_template: extras.chatTemplate } : {}),
  };
  const eos = extras.eosIds;
  const generationConfig: Record<string, unknown> = {
    ...(extras.bosId !== null ? { bos_token_id: extras.bosId } : {}),
    ...(eos.length ? { eos_token_id: eos.length === 1 ? eos[0] : eos } : {}),
    ...(idOf('tokenizer.ggml.padding_token_id') !== null ? { pad_token_id: idOf('tokenizer.ggml.padding_token_id') } : {}),
  };
  return {
    'tokenizer.json': tokenizerJson,
    'tokenizer_config.json': tokenizerConfig,
    'special_tokens_map.json': special,
    'generation_config.json': generationConfig,
  };
}
