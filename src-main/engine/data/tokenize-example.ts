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
  /** The token that ends plain-text rows (default the first EOS; null: none). See train/end-token.ts. */
  textEndId?: number | null;
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
    const body = tok.encode(row.text, { addSpecial: false });
    const end = opts.textEndId === undefined ? (tok.eosIds[0] ?? null) : opts.textEndId;
    const ids = [...(tok.bosId !== null ? [tok.bosId] : []), ...body, ...(end !== null ? [end] : [])];
    const mask = new Uint8Array(ids.length).fill(1);
    mask[0] = 0;
    return { ids: Int32Array.from(ids), mask, line };
  }
  if (!chat) throw new Error('tokenizeRow: a chat row needs a chat renderer');
  const { text, spans } = chat.assistantSpans(row.messages);
  const { ids, trained } = encodeWithSpans(tok, text, spans);
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
