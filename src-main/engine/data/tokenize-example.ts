import type { TextTokenizer } from '../tokenize/types.js';
import type { ChatRenderer } from './chat-template.js';
import type { DatasetRow } from './types.js';

/** One training example: token ids and which positions the loss is taken on (1 = trained). */
export interface TokenizedExample {
  ids: Int32Array;
  mask: Uint8Array;
  /** 1-based line of the source record, for messages and previews. */
  line: number;
}

export interface TokenizeOptions {
  /** 'assistant' (default): loss only on assistant replies of chats. 'all': every token. Plain text is always 'all'. */
  lossOn?: 'assistant' | 'all';
  /**
   * Tokens wanted at most (the sequence length): only as much of the text as yields them is tokenized, so
   * a 4 MB row costs what its window costs. The example then holds a few tokens more (never fewer) than this.
   */
  maxTokens?: number;
  /** The token that ends plain-text rows (default the first EOS; null: none). See train/end-token.ts. */
  textEndId?: number | null;
}

/** Tokens encoded past `maxTokens` so that the tokens kept sit well before the cut, where it cannot change them. */
const CUT_MARGIN = 16;

/**
 * Encodes the shortest head of `text` that yields `maxTokens` + CUT_MARGIN tokens, trying 8 characters per
 * token first and doubling: the work is bounded by the window, not by the row.
 */
function encodeHead<R>(text: string, maxTokens: number | undefined, encode: (t: string) => R, count: (r: R) => number): { r: R; cut: boolean } {
  if (maxTokens === undefined) return { r: encode(text), cut: false };
  for (let chars = (maxTokens + CUT_MARGIN) * 8; ; chars *= 2) {
    if (chars >= text.length) return { r: encode(text), cut: false };
    const end = /[\ud800-\udbff]/.test(text[chars - 1]) ? chars + 1 : chars; // never split a surrogate pair
    const r = encode(text.slice(0, end));
    if (count(r) >= maxTokens + CUT_MARGIN) return { r, cut: true };
  }
}

/**
 * Tokenizes a row. Chats go through the chat template; plain text becomes BOS + text + EOS (or the given end
 * token). The mask's first
 * position is always 0: with HF-style labels the first token is never a target, and zeroing it keeps packed
 * sequences from learning to predict a new example's first token from the previous example.
 */
export function tokenizeRow(
  row: DatasetRow,
  line: number,
  tok: TextTokenizer,
  chat: ChatRenderer | null,
  opts: TokenizeOptions = {},
): TokenizedExample {
  if (row.kind === 'text') {
    const { r: body, cut } = encodeHead(row.text, opts.maxTokens, (t) => tok.encode(t, { addSpecial: false }), (r) => r.length);
    const end = cut ? null : opts.textEndId === undefined ? (tok.eosIds[0] ?? null) : opts.textEndId;
    const ids = [...(tok.bosId !== null ? [tok.bosId] : []), ...body, ...(end !== null ? [end] : [])];
    const mask = new Uint8Array(ids.length).fill(1);
    mask[0] = 0;
    return { ids: Int32Array.from(ids), mask, line };
  }
  if (!chat) throw new Error('tokenizeRow: a chat row needs a chat renderer');
  const { text, spans } = chat.assistantSpans(row.messages);
  const clip = (t: string) => spans.filter(([a]) => a < t.length).map(([a, b]): [number, number] => [a, Math.min(b, t.length)]);
  const { ids, trained } = encodeHead(text, opts.maxTokens, (t) => encodeWithSpans(tok, t, clip(t)), (r) => r.ids.length).r;
  const mask = new Uint8Array(ids.length);
  for (let i = 0; i < ids.length; i++) mask[i] = opts.lossOn === 'all' || trained[i] ? 1 : 0;
  if (mask.length) mask[0] = 0;
  return { ids: Int32Array.from(ids), mask, line };
}

/**
 * Token ids of `text` and, per token, whether it falls inside one of `spans`. Fast path: encode the pieces
 * between span edges separately, which is exact when the edges sit next to special tokens (ChatML and most
 * templates); it is checked against encoding the whole text. Otherwise each edge is placed where the encoding
 * of the text before it stops agreeing with the whole encoding.
 */
export function encodeWithSpans(tok: TextTokenizer, text: string, spans: [number, number][]): { ids: number[]; trained: boolean[] } {
  const whole = tok.encode(text, { addSpecial: false });
  const edges = [0, ...spans.flat(), text.length];
  const ids: number[] = [];
  const trained: boolean[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    if (edges[i + 1] <= edges[i]) continue;
    const part = tok.encode(text.slice(edges[i], edges[i + 1]), { addSpecial: false });
    for (const id of part) {
      ids.push(id);
      trained.push(i % 2 === 1);
    }
  }
  if (ids.length === whole.length && ids.every((id, i) => id === whole[i])) return { ids, trained };

  const tokenEdge = (charPos: number): number => {
    const prefix = tok.encode(text.slice(0, charPos), { addSpecial: false });
    let k = 0;
    while (k < prefix.length && k < whole.length && prefix[k] === whole[k]) k++;
    return k;
  };
  const mark = new Array<boolean>(whole.length).fill(false);
  for (const [s, e] of spans) {
    const a = tokenEdge(s);
    const b = e >= text.length ? whole.length : tokenEdge(e);
    for (let k = a; k < b; k++) mark[k] = true;
  }
  return { ids: whole, trained: mark };
}

/** Keeps the head; returns null when nothing trainable is left (e.g. a long prompt ate the whole window). */
export function truncate(ex: TokenizedExample, seqLen: number): TokenizedExample | null {
  const out = ex.ids.length <= seqLen ? ex : { ids: ex.ids.slice(0, seqLen), mask: ex.mask.slice(0, seqLen), line: ex.line };
  return trainedCount(out) > 0 ? out : null;
}

export function trainedCount(ex: TokenizedExample): number {
  let n = 0;
  for (let i = 1; i < ex.mask.length; i++) n += ex.mask[i];
  return n;
}
