import { Tokenizer } from '@huggingface/tokenizers';
import type { TextTokenizer } from './types.js';

/** What tokenizer_config.json (or an equivalent built from GGUF metadata) tells us beyond tokenizer.json. */
export interface TokenizerExtras {
  /** Passed to @huggingface/tokenizers as its config (clean_up_tokenization_spaces, special token strings...). */
  config: Record<string, unknown>;
  bosId: number | null;
  eosIds: number[];
  /** Token strings resolved to ids against the vocabulary; they take precedence over bosId and join eosIds. */
  bosToken?: string | null;
  eosTokens?: string[];
  chatTemplate: string | null;
}

/**
 * A TextTokenizer over @huggingface/tokenizers. Exposes the underlying tokenizer for callers that need
 * more (offsets, token strings).
 */
export class HfTextTokenizer implements TextTokenizer {
  readonly inner: Tokenizer;
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosIds: number[];
  readonly chatTemplate: string | null;

  constructor(tokenizerJson: object, extras: TokenizerExtras) {
    this.inner = new Tokenizer(tokenizerJson, extras.config);
    let maxId = -1;
    for (const id of this.inner.get_vocab(true).values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    const id = (t: string | null | undefined) => (t == null ? null : this.inner.token_to_id(t) ?? null);
    this.bosId = id(extras.bosToken) ?? extras.bosId;
    const eosFromTokens = (extras.eosTokens ?? []).map(id).filter((x): x is number => x !== null);
    this.eosIds = [...new Set([...eosFromTokens, ...extras.eosIds])];
    this.chatTemplate = extras.chatTemplate;
  }

  /** `addSpecial` (default true) adds what the post-processor adds (BOS for Llama-style); pass false for rendered chat templates. */
  encode(text: string, opts: { addSpecial?: boolean } = {}): number[] {
    return this.inner.encode(text, { add_special_tokens: opts.addSpecial ?? true }).ids;
  }

  decode(ids: number[], opts: { skipSpecial?: boolean } = {}): string {
    return this.inner.decode(ids, { skip_special_tokens: opts.skipSpecial ?? false });
  }

  tokenText(id: number): string {
    return this.inner.id_to_token(id) ?? '';
  }

  /** Id of an exact token string (special tokens included), or null. */
  tokenId(text: string): number | null {
    return this.inner.token_to_id(text) ?? null;
  }
}
