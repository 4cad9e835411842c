/** Dataset rows after import, before tokenization: either a conversation or a plain document. */
export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export type DatasetRow = { kind: 'chat'; messages: ChatMessage[] } | { kind: 'text'; text: string };

export const DATASET_FORMATS = ['messages', 'alpaca', 'sharegpt', 'text', 'csv'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** Which CSV/TSV columns hold what. Either text alone, or prompt + response (system optional). */
export interface ColumnMapping {
  text?: string;
  prompt?: string;
  response?: string;
  system?: string;
}

/** How a .txt file is cut into documents. */
export const TEXT_SPLITS = ['blank-line', 'line', 'whole'] as const;
export type TextSplit = (typeof TEXT_SPLITS)[number];

/** Which tokens of a chat the loss is taken on: the assistant's replies, or every token. */
export const LOSS_ON = ['assistant', 'all'] as const;
export type LossOn = (typeof LOSS_ON)[number];

export interface ReadOptions {
  /** 'auto' (default) sniffs the extension and the first record. */
  format?: DatasetFormat | 'auto';
  columns?: ColumnMapping;
  textSplit?: TextSplit;
}

/** One record out of a reader: a row, or the reason it was dropped. `line` is 1-based. */
export type RowResult = { line: number; row: DatasetRow } | { line: number; error: string };

export interface RowIssue {
  line: number;
  reason: string;
}
