import { scanDataset, type ScanOptions, type ScanTotals } from './scan.js';
import { trainedCount } from './tokenize-example.js';

export interface HistogramBin {
  /** Inclusive upper edge in tokens; null for the open last bin. */
  upTo: number | null;
  count: number;
}

export interface TokenStats {
  seqLen: number | null;
  min: number;
  max: number;
  mean: number;
  total: number;
  /** Tokens that carry loss, before truncation. */
  trained: number;
  /** Rows longer than the sequence length (kept, cut to it). */
  truncated: number;
  histogram: HistogramBin[];
}

export interface DatasetSummary extends ScanTotals {
  /** Present when a tokenizer was given. */
  tokens: TokenStats | null;
}

const EDGES = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];
/** Rows are tokenized up to here (or the sequence length, if longer): past the last bin, only "longer" matters. */
export const TOKEN_CAP = 8192;

/** Validates a whole dataset in one streaming pass and summarises it; the rows themselves are not kept. */
export async function inspectDataset(file: string, opts: ScanOptions = {}): Promise<DatasetSummary> {
  const counts = new Array<number>(EDGES.length + 1).fill(0);
  let min = Infinity;
  let max = 0;
  let total = 0;
  let trained = 0;
  let truncated = 0;
  let n = 0;
  const cap = Math.max(opts.seqLen ?? 0, TOKEN_CAP);
  const totals = await scanDataset(file, { ...opts, maxTokens: cap }, ({ example }) => {
    if (!example) return;
    const len = example.ids.length;
    n++;
    min = Math.min(min, len);
    max = Math.max(max, len);
    total += len;
    trained += trainedCount(example);
    if (opts.seqLen && len > opts.seqLen) truncated++;
    const bin = EDGES.findIndex((e) => len <= e);
    counts[bin < 0 ? EDGES.length : bin]++;
  });
  const tokens: TokenStats | null = opts.tokenizer
    ? {
        seqLen: opts.seqLen ?? null,
        min: n ? min : 0,
        max,
        mean: n ? total / n : 0,
        total,
        trained,
        truncated,
        histogram: counts.map((count, i) => ({ upTo: i < EDGES.length ? EDGES[i] : null, count })),
      }
    : null;
  return { ...totals, tokens };
}
