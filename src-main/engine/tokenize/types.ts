/** What the engine needs of a tokenizer, whichever file it came from (tokenizer.json or GGUF metadata). */
export interface TextTokenizer {
  /** Encode text. `addSpecial` adds BOS/EOS the way the model's tokenizer post-processor says. */
  encode(text: string, opts?: { addSpecial?: boolean }): number[];
  decode(ids: number[], opts?: { skipSpecial?: boolean }): string;
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosIds: number[];
  /** Jinja chat template from tokenizer_config.json or GGUF `tokenizer.chat_template`, if the model has one. */
  readonly chatTemplate: string | null;
  /** Token text of special tokens by id, for rendering templates (bos_token, eos_token). */
  tokenText(id: number): string;
}
