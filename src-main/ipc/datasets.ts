/**
 * The Datasets screen's part of the IPC contract: its channels (merged into contract.ts) and payload types.
 */
import type { DatasetSummary } from '../engine/data/inspect';
import type { PreviewExample } from '../engine/data/preview';
import type { ColumnMapping, DatasetFormat, TextSplit } from '../engine/data/types';

export type { ColumnMapping, DatasetSummary, PreviewExample, DatasetFormat, TextSplit };

export interface DatasetEntry {
  id: string;
  name: string;
  path: string;
  sizeBytes: number;
  addedAt: string;
  /** The user's choice; 'auto' means the detected one. */
  format: DatasetFormat | 'auto';
  textSplit: TextSplit;
  /** CSV/TSV: which columns hold what; absent to recognise them from the header. */
  columns?: ColumnMapping;
}

export interface DatasetReport {
  summary: DatasetSummary;
  preview: PreviewExample[];
  /** The model whose tokenizer and chat template rendered the preview. */
  modelId: string | null;
}

export interface DatasetsChannels {
  'datasets.list': { req: void; res: DatasetEntry[] };
  /** From a path on this machine, or from the text of a dropped/picked file (the browser gives no paths). */
  'datasets.import': { req: { name: string; path?: string; content?: string }; res: DatasetEntry };
  'datasets.remove': { req: { id: string }; res: void };
  /** `columns: null` goes back to recognising the columns from the header. */
  'datasets.update': { req: { id: string; format?: DatasetFormat | 'auto'; textSplit?: TextSplit; columns?: ColumnMapping | null }; res: DatasetEntry };
  'datasets.inspect': { req: { id: string; modelId?: string; seqLen?: number; count?: number }; res: DatasetReport };
}
