import type { TextTokenizer } from '../tokenize/types.js';
import { chatRenderer, type ChatRenderer } from './chat-template.js';
import { openDataset } from './readers.js';
import { tokenizeRow, trainedCount, truncate, type TokenizedExample } from './tokenize-example.js';
import type { DatasetFormat, DatasetRow, ReadOptions, RowIssue } from './types.js';

export interface ScanOptions extends ReadOptions {
  tokenizer?: TextTokenizer;
  seqLen?: number;
  /** Tokenize only the head of a row that yields this many tokens (default: seqLen; none without it). */
  maxTokens?: number;
  lossOn?: 'assistant' | 'all';
  /** The token ending plain-text rows (default the first EOS). */
  textEndId?: number | null;
  /** A Jinja chat template overriding the model's. */
  chatTemplate?: string;
  /** Keep at most this many issues in memory; the count stays exact. Default 10,000. */
  maxIssues?: number;
}

export interface ScanTotals {
  file: string;
  format: DatasetFormat;
  container: string;
  records: number;
  kept: number;
  dropped: number;
  issues: RowIssue[];
  issueCount: number;
  warnings: string[];
}

export type ScanVisitor = (v: {
  line: number;
  row: DatasetRow;
  /** The row's tokens; with maxTokens (or seqLen), only the head that covers them (a few tokens past when longer). */
  example: TokenizedExample | null;
  truncated: TokenizedExample | null;
}) => void;

/**
 * One streaming pass over a dataset: reads, validates, tokenizes (when a tokenizer is given) and hands each
 * good row to `visit`. Rows whose trained tokens vanish at the sequence length are dropped with a reason.
 */
export async function scanDataset(file: string, opts: ScanOptions, visit: ScanVisitor): Promise<ScanTotals> {
  const ds = await openDataset(file, opts);
  const maxIssues = opts.maxIssues ?? 10_000;
  const totals: ScanTotals = {
    file,
    format: ds.format,
    container: ds.container,
    records: 0,
    kept: 0,
    dropped: 0,
    issues: [],
    issueCount: 0,
    warnings: [],
  };
  const drop = (line: number, reason: string) => {
    totals.dropped++;
    totals.issueCount++;
    if (totals.issues.length < maxIssues) totals.issues.push({ line, reason });
  };
  let chat: ChatRenderer | null = null;
  for await (const r of ds.rows()) {
    totals.records++;
    if ('error' in r) {
      drop(r.line, r.error);
      continue;
    }
    let example: TokenizedExample | null = null;
    let truncated: TokenizedExample | null = null;
    if (opts.tokenizer) {
      if (r.row.kind === 'chat' && !chat)
        chat = chatRenderer(opts.tokenizer, { template: opts.chatTemplate, endToken: opts.textEndId, warn: (w) => totals.warnings.push(w) });
      try {
        example = tokenizeRow(r.row, r.line, opts.tokenizer, chat, { lossOn: opts.lossOn, maxTokens: opts.maxTokens ?? opts.seqLen, textEndId: opts.textEndId });
      } catch (err) {
        drop(r.line, (err as Error).message);
        continue;
      }
      if (trainedCount(example) === 0) {
        drop(r.line, 'no token carries loss (nothing to learn from this row)');
        continue;
      }
      truncated = opts.seqLen ? truncate(example, opts.seqLen) : example;
      if (!truncated) {
        drop(r.line, `no trained token is left after truncating ${example.ids.length} tokens to the sequence length ${opts.seqLen}`);
        continue;
      }
    }
    totals.kept++;
    visit({ line: r.line, row: r.row, example, truncated });
  }
  return totals;
}
