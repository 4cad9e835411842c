import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { GraftError } from '../errors.js';
import { packExamples, splitTrainVal } from './pack-split.js';
import { scanDataset, type ScanOptions, type ScanTotals } from './scan.js';
import type { TokenizedExample } from './tokenize-example.js';
import type { TextTokenizer } from '../tokenize/types.js';

export interface PrepareOptions extends Omit<ScanOptions, 'tokenizer' | 'seqLen'> {
  seqLen: number;
  valSplit?: number;
  pack?: boolean;
  seed?: number;
}

export interface PreparedData {
  name: string;
  /** sha256 of the file's bytes. */
  sha256: string;
  train: TokenizedExample[];
  val: TokenizedExample[];
  totals: ScanTotals;
}

/** Reads, validates, tokenizes, truncates, splits (seeded) and optionally packs a dataset for training. */
export async function prepareDataset(file: string, tokenizer: TextTokenizer, opts: PrepareOptions): Promise<PreparedData> {
  const examples: TokenizedExample[] = [];
  const [totals, sha256] = await Promise.all([
    scanDataset(file, { ...opts, tokenizer }, ({ truncated }) => {
      if (truncated) examples.push(truncated);
    }),
    fileSha256(file),
  ]);
  if (examples.length === 0) {
    const first = totals.issues[0];
    throw new GraftError(
      'BAD_INPUT',
      `${file}: no usable rows (${totals.dropped} dropped${first ? `; line ${first.line}: ${first.reason}` : ''})`,
      { file },
    );
  }
  const { train, val } = splitTrainVal(examples, opts.valSplit ?? 0, opts.seed ?? 0);
  return {
    name: basename(file),
    sha256,
    train: opts.pack ? packExamples(train, opts.seqLen) : train,
    val: opts.pack ? packExamples(val, opts.seqLen) : val,
    totals,
  };
}

export async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}
