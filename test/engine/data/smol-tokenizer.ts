import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import type { TextTokenizer } from '../../../src-main/engine/tokenize/types.js';

export const SMOL_DIR = new URL('../../../../shared/models/smollm2-135m-instruct-tokenizer/', import.meta.url).pathname;

/**
 * The real SmolLM2 tokenizer built straight from its tokenizer.json (BOS <|im_start|>=1, EOS <|im_end|>=2 per
 * its config.json; it ships no chat template file here, so the engine falls back to ChatML, which is SmolLM2's own).
 */
export function smolTokenizer(): TextTokenizer {
  const json = JSON.parse(readFileSync(SMOL_DIR + 'tokenizer.json', 'utf8'));
  const t = new Tokenizer(json, {});
  return {
    encode: (text, opts) => t.encode(text, { add_special_tokens: opts?.addSpecial ?? false }).ids,
    decode: (ids, opts) => t.decode(ids, { skip_special_tokens: opts?.skipSpecial ?? false }),
    vocabSize: t.get_vocab(true).size,
    bosId: 1,
    eosIds: [2],
    chatTemplate: null,
    tokenText: (id) => t.id_to_token(id) ?? '',
  };
}
