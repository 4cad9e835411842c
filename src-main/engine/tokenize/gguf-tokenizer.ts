import { GraftError } from '../errors.js';
import type { GgufValue } from '../io/gguf-types.js';
import type { TokenizerExtras } from './hf-tokenizer.js';

/** llama.cpp token types (tokenizer.ggml.token_type). */
const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** Split regexes of llama.cpp's BPE pre-tokenizer names (tokenizer.ggml.pre) — facts of those tokenizers. */
const PRE_SPLIT: Record<string, string> = {
  'llama-bpe': "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  qwen2: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};
PRE_SPLIT.llama3 = PRE_SPLIT['llama-bpe'];

interface Conversion {
  tokenizerJson: Record<string, unknown>;
  extras: TokenizerExtras;
}

function arr<T>(md: Record<string, GgufValue>, key: string, file: string, check: (v: unknown) => boolean): T[] {
  const v = md[key];
  if (!Array.isArray(v) || !v.every(check)) throw new GraftError('BAD_FILE', `${file}: metadata ${key} is missing or malformed`, { file, where: key });
  return v as T[];
}
const optNum = (md: Record<string, GgufValue>, key: string): number | null => {
  const v = md[key];
  // 0xFFFFFFFF is llama.cpp's "none" for token ids
  return typeof v === 'number' && v !== 0xffffffff && v >= 0 ? v : null;
};

/**
 * Build a tokenizer.json-equivalent object from GGUF tokenizer metadata, so one tokenizer implementation
 * (@huggingface/tokenizers) serves both formats.
 * - 'llama' (SentencePiece BPE): BPE with byte fallback; merges are every split of a piece into two
 *   vocabulary pieces, ordered by the merged piece's score (highest first), the way SentencePiece ranks them.
 * - 'gpt2' (byte-level BPE): vocab + tokenizer.ggml.merges, pre-tokenizer chosen by tokenizer.ggml.pre.
 */
export function tokenizerJsonFromGguf(md: Record<string, GgufValue>, file: string): Conversion {
  const model = md['tokenizer.ggml.model'];
  const tokens = arr<string>(md, 'tokenizer.ggml.tokens', file, (x) => typeof x === 'string');
  const types = md['tokenizer.ggml.token_type'] !== undefined
    ? arr<number>(md, 'tokenizer.ggml.token_type', file, (x) => typeof x === 'number')
    : tokens.map(() => TokenType.NORMAL);
  if (types.length !== tokens.length) throw new GraftError('BAD_FILE', `${file}: token_type has ${types.length} entries for ${tokens.length} tokens`, { file, where: 'tokenizer.ggml.token_type' });

  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => { if (!(t in vocab)) vocab[t] = i; });
  const added = tokens.flatMap((content, id) => {
    const ty = types[id];
    if (ty !== TokenType.CONTROL && ty !== TokenType.USER_DEFINED && ty !== TokenType.UNKNOWN) return [];
    return [{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: ty !== TokenType.USER_DEFINED }];
  });

  const bosId = optNum(md, 'tokenizer.ggml.bos_token_id');
  const eosIds = [optNum(md, 'tokenizer.ggml.eos_token_id'), optNum(md, 'tokenizer.ggml.eot_token_id'), optNum(md, 'tokenizer.ggml.eom_token_id')]
    .filter((x): x is number => x !== null);
  const addBos = typeof md['tokenizer.ggml.add_bos_token'] === 'boolean' ? md['tokenizer.ggml.add_bos_token'] : model === 'llama';
  const addEos = md['tokenizer.ggml.add_eos_token'] === true;
  const eosId = optNum(md, 'tokenizer.ggml.eos_token_id');
  const single: unknown[] = [];
  const specials: Record<string, unknown> = {};
  const addSpecial = (id: number) => {
    single.push({ SpecialToken: { id: tokens[id], type_id: 0 } });
    specials[tokens[id]] = { id: tokens[id], ids: [id], tokens: [tokens[id]] };
  };
  if (addBos && bosId !== null) addSpecial(bosId);
  single.push({ Sequence: { id: 'A', type_id: 0 } });
  if (addEos && eosId !== null) addSpecial(eosId);
  const postProcessor = { type: 'TemplateProcessing', single, pair: [...single, { Sequence: { id: 'B', type_id: 1 } }], special_tokens: specials };

  const template = md['tokenizer.chat_template'];
  const config: Record<string, unknown> = { clean_up_tokenization_spaces: false };
  if (bosId !== null) config.bos_token = tokens[bosId];
  if (eosId !== null) config.eos_token = tokens[eosId];
  const extras: TokenizerExtras = { config, bosId, eosIds, chatTemplate: typeof template === 'string' ? template : null };

  if (model === 'llama') {
    const scores = md['tokenizer.ggml.scores'] !== undefined
      ? arr<number>(md, 'tokenizer.ggml.scores', file, (x) => typeof x === 'number')
      : tokens.map((_, i) => -i);
    if (scores.length !== tokens.length) throw new GraftError('BAD_FILE', `${file}: scores has ${scores.length} entries for ${tokens.length} tokens`, { file, where: 'tokenizer.ggml.scores' });
    const unk = optNum(md, 'tokenizer.ggml.unknown_token_id');
    return {
      extras,
      tokenizerJson: {
        version: '1.0',
        added_tokens: added,
        // add_space_prefix (default true) is SentencePiece's dummy prefix: '▁' before the text
        normalizer: { type: 'Sequence', normalizers: [
          ...(md['tokenizer.ggml.add_space_prefix'] === false ? [] : [{ type: 'Prepend', prepend: '▁' }]),
          { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
        ] },
        pre_tokenizer: null,
        post_processor: postProcessor,
        decoder: {
          type: 'Sequence',
          decoders: [
            { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
            { type: 'ByteFallback' },
            { type: 'Fuse' },
            ...(md['tokenizer.ggml.add_space_prefix'] === false ? [] : [{ type: 'Strip', content: ' ', start: 1, stop: 0 }]),
          ],
        },
        model: {
          type: 'BPE', dropout: null, unk_token: unk !== null ? tokens[unk] : null, continuing_subword_prefix: null, end_of_word_suffix: null,
          fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: spmMerges(tokens, scores, types, vocab),
        },
      },
    };
  }
  if (model === 'gpt2') {
    const merges = arr<string>(md, 'tokenizer.ggml.merges', file, (x) => typeof x === 'string');
    const pre = typeof md['tokenizer.ggml.pre'] === 'string' ? md['tokenizer.ggml.pre'] : 'default';
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
    let preTokenizer: unknown = byteLevel;
    if (PRE_SPLIT[pre]) {
      preTokenizer = { type: 'Sequence', pretokenizers: [
        { type: 'Split', pattern: { Regex: PRE_SPLIT[pre] }, behavior: 'Isolated', invert: false },
        { ...byteLevel, use_regex: false },
      ] };
    } else if (pre === 'smollm' || pre === 'starcoder') {
      preTokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel] };
    }
    return {
      extras,
      tokenizerJson: {
        version: '1.0',
        added_tokens: added,
        normalizer: null,
        pre_tokenizer: preTokenizer,
        post_processor: postProcessor,
        decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
        model: {
          type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
          fuse_unk: false, byte_fallback: false, ignore_merges: pre === 'llama-bpe' || pre === 'llama3', vocab, merges,
        },
      },
    };
  }
  throw new GraftError('UNSUPPORTED', `${file}: tokenizer model ${JSON.stringify(model)} is not supported (llama, gpt2 are)`, { file, where: 'tokenizer.ggml.model' });
}

/**
 * SentencePiece BPE merges: each piece split into two vocabulary pieces, ranked by the piece's score.
 * Splits are found by rolling hashes of each piece's prefixes and suffixes, so a piece of n characters costs
 * O(n) plus one string comparison per real match, not O(n^2): a 40,000-character entry in a hostile file
 * would otherwise take a minute. The hash base is drawn per call, so no file can be built to collide.
 */
export function spmMerges(tokens: string[], scores: number[], types: number[], vocab: Record<string, number>): string[][] {
  const usable = (id: number | undefined) => id !== undefined && (types[id] === TokenType.NORMAL || types[id] === TokenType.USER_DEFINED);
  // Two hashes modulo primes below 2^26, so every product stays below 2^53 (exact in a double).
  const P1 = 67_108_859, P2 = 67_108_837;
  const B1 = 256 + Math.floor(Math.random() * 1_000_000), B2 = 256 + Math.floor(Math.random() * 1_000_000);
  const hashOf = (s: string) => {
    let h1 = 0, h2 = 0;
    for (let i = 0; i < s.length; i++) {
      h1 = (h1 * B1 + s.charCodeAt(i)) % P1;
      h2 = (h2 * B2 + s.charCodeAt(i)) % P2;
    }
    return `${s.length}:${h1}:${h2}`;
  };
  const byHash = new Map<string, number>();
  for (const [piece, id] of Object.entries(vocab)) if (usable(id)) byHash.set(hashOf(piece), id);

  const merges: Array<{ l: string; r: string; score: number; li: number; ri: number }> = [];
  const pow1: number[] = [1], pow2: number[] = [1];
  tokens.forEach((piece, id) => {
    if (!usable(id) || piece.length < 2) return;
    const n = piece.length;
    const h1 = new Float64Array(n + 1), h2 = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      h1[i + 1] = (h1[i] * B1 + piece.charCodeAt(i)) % P1;
      h2[i + 1] = (h2[i] * B2 + piece.charCodeAt(i)) % P2;
    }
    while (pow1.length <= n) {
      pow1.push((pow1[pow1.length - 1] * B1) % P1);
      pow2.push((pow2[pow2.length - 1] * B2) % P2);
    }
    const sub = (a: number, b: number) =>
      `${b - a}:${(((h1[b] - ((h1[a] * pow1[b - a]) % P1)) % P1) + P1) % P1}:${(((h2[b] - ((h2[a] * pow2[b - a]) % P2)) % P2) + P2) % P2}`;
    const local: typeof merges = [];
    for (let k = 1; k < n; k++) {
      const c = piece.charCodeAt(k);
      if (c >= 0xdc00 && c <= 0xdfff) continue; // never split a surrogate pair: splits are between characters
      const li = byHash.get(sub(0, k));
      if (li === undefined) continue;
      const ri = byHash.get(sub(k, n));
      if (ri === undefined) continue;
      const l = piece.slice(0, k), r = piece.slice(k);
      if (tokens[li] === l && tokens[ri] === r) local.push({ l, r, score: scores[id], li, ri });
    }
    local.sort((a, b) => a.li - b.li || a.ri - b.ri);
    for (const m of local) merges.push(m);
  });
  merges.sort((a, b) => b.score - a.score); // stable: keeps the (left id, right id) order within a piece
  return merges.map((m) => [m.l, m.r]);
}
