import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { GraftError } from '../errors.js';
import { readCsvRows } from './csv.js';
import { jsonArrayElements } from './json-array.js';
import { detectJsonFormat, fromText, normalizeRecord, type JsonFormat } from './normalize.js';
import { sniffContainer, type Container } from './sniff.js';
import type { DatasetFormat, ReadOptions, RowResult, TextSplit } from './types.js';

export interface OpenedDataset {
  file: string;
  container: Container;
  format: DatasetFormat;
  /** Streams every record once, in file order; bad records come out as `{line, error}`. */
  rows(): AsyncGenerator<RowResult>;
}

/** Checks the file, settles the format (auto-detected unless given) and returns a streaming reader. */
export async function openDataset(file: string, opts: ReadOptions = {}): Promise<OpenedDataset> {
  const container = await sniffContainer(file);
  const asked = opts.format ?? 'auto';
  if (container === 'csv' || container === 'tsv') {
    if (asked !== 'auto' && asked !== 'csv') {
      throw new GraftError(
        'BAD_INPUT',
        `${file} is ${container.toUpperCase()}; use {format} csv (or auto) with a column mapping, not '${asked}'`,
        { file },
      );
    }
    return { file, container, format: 'csv', rows: () => readCsvRows(file, container === 'tsv' ? '\t' : ',', opts.columns) };
  }
  if (container === 'txt') {
    if (asked !== 'auto' && asked !== 'text') {
      throw new GraftError('BAD_INPUT', `${file} is plain text; only {format} text (or auto) reads it, not '${asked}'`, { file });
    }
    return { file, container, format: 'text', rows: () => readTextDocuments(file, opts.textSplit ?? 'blank-line') };
  }
  if (asked === 'csv') throw new GraftError('BAD_INPUT', `${file} is JSON, not CSV`, { file });
  const records = container === 'jsonl' ? () => jsonlRecords(file) : () => jsonArrayElements(file);
  const format = asked === 'auto' ? await detectFormat(file, records()) : asked;
  return { file, container, format, rows: () => parseRecords(records(), format) };
}

async function* jsonlRecords(file: string): AsyncGenerator<{ line: number; text: string }> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const raw of rl) {
    line++;
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() !== '') yield { line, text };
  }
}

async function* parseRecords(records: AsyncGenerator<{ line: number; text: string }>, format: JsonFormat): AsyncGenerator<RowResult> {
  for await (const { line, text } of records) {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      yield { line, error: `invalid JSON: ${(err as Error).message}` };
      continue;
    }
    const row = normalizeRecord(obj, format);
    yield typeof row === 'string' ? { line, error: row } : { line, row };
  }
}

/** The first record that parses decides; a file where none fits any format is refused as a whole. */
async function detectFormat(file: string, records: AsyncGenerator<{ line: number; text: string }>): Promise<JsonFormat> {
  let seen = 0;
  try {
    for await (const { line, text } of records) {
      if (++seen > 1000) break;
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch {
        continue;
      }
      const f = detectJsonFormat(obj);
      if (f) return f;
      const keys = obj && typeof obj === 'object' ? Object.keys(obj).join(', ') : typeof obj;
      throw new GraftError(
        'BAD_INPUT',
        `${file}: cannot tell the dataset format from line ${line} (keys: ${keys || 'none'}); expected 'messages', 'conversations', 'instruction'+'output' or 'text', or choose {format}`,
        { file, where: `line ${line}` },
      );
    }
  } finally {
    await records.return(undefined);
  }
  throw new GraftError('BAD_INPUT', `${file}: no valid JSON record in the first ${Math.min(seen, 1000)} records`, { file });
}

/** Plain text: documents are separated by blank lines (default), one per line, or the whole file is one. */
async function* readTextDocuments(file: string, split: TextSplit): AsyncGenerator<RowResult> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  let doc: string[] = [];
  let docLine = 0;
  const finish = (): RowResult | null => {
    const text = doc.join('\n').trim();
    const out = text === '' ? null : (fromRow(docLine, fromText(text, 'document')) as RowResult);
    doc = [];
    docLine = 0;
    return out;
  };
  for await (const raw of rl) {
    line++;
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    const blank = text.trim() === '';
    if (split === 'line') {
      if (!blank) yield { line, row: { kind: 'text', text } };
      continue;
    }
    if (split === 'blank-line' && blank) {
      const r = finish();
      if (r) yield r;
      continue;
    }
    if (docLine === 0 && !blank) docLine = line;
    if (docLine !== 0) doc.push(text);
  }
  const r = finish();
  if (r) yield r;
}

function fromRow(line: number, row: ReturnType<typeof fromText>): RowResult {
  return typeof row === 'string' ? { line, error: row } : { line, row };
}
