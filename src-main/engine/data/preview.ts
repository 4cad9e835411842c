import type { TextTokenizer } from '../tokenize/types.js';
import { scanDataset, type ScanOptions } from './scan.js';
import { trainedCount, type TokenizedExample } from './tokenize-example.js';

export interface PreviewSegment {
  text: string;
  /** True when these tokens carry loss. */
  trained: boolean;
}

export interface PreviewExample {
  line: number;
  /** The rendered example as the model sees it (chat template applied, after truncation). */
  text: string;
  segments: PreviewSegment[];
  tokens: number;
  trainedTokens: number;
  truncatedFrom: number | null;
}

/** The first `count` good rows, rendered, with the spans the loss is taken on marked. */
export async function previewDataset(
  file: string,
  tokenizer: TextTokenizer,
  opts: Omit<ScanOptions, 'tokenizer'> & { count?: number },
): Promise<PreviewExample[]> {
  const count = opts.count ?? 5;
  const out: PreviewExample[] = [];
  // Stop reading once enough rows are shown: abort the scan by throwing a private marker.
  const done = Symbol('done');
  try {
    await scanDataset(file, { ...opts, tokenizer }, ({ example, truncated }) => {
      if (!example || !truncated) return;
      out.push(renderExample(truncated, tokenizer, example.ids.length > truncated.ids.length ? example.ids.length : null));
      if (out.length >= count) throw done;
    });
  } catch (err) {
    if (err !== done) throw err;
  }
  return out;
}

export function renderExample(ex: TokenizedExample, tok: TextTokenizer, truncatedFrom: number | null = null): PreviewExample {
  const segments: PreviewSegment[] = [];
  let start = 0;
  for (let i = 1; i <= ex.ids.length; i++) {
    if (i === ex.ids.length || ex.mask[i] !== ex.mask[start]) {
      segments.push({ text: tok.decode(Array.from(ex.ids.subarray(start, i)), { skipSpecial: false }), trained: ex.mask[start] === 1 });
      start = i;
    }
  }
  return {
    line: ex.line,
    text: segments.map((s) => s.text).join(''),
    segments,
    tokens: ex.ids.length,
    trainedTokens: trainedCount(ex),
    truncatedFrom,
  };
}
