import { GraftError } from '../errors.js';
import { readCsvRows, resolveColumns, rowFromColumns } from './csv.js';
import { jsonArrayElements } from './json-array.js';
import { notUtf8, readLines } from './lines.js';
import { detectJsonFormat, fromText, normalizeRecord, type JsonFormat } from './normalize.js';
import { sniffContainer, type Container } from './sniff.js';
import type { ColumnMapping, DatasetFormat, ReadOptions, RowResult, TextSplit } from './types.js';

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
  const records = container === 'jsonl' ? () => jsonlRecords(file) : () => jsonArrayElements(file);
  // Keys mapped like CSV columns: the user's mapping wins over detection (the 'csv' format is "by columns").
  if (asked === 'csv' || (asked === 'auto' && opts.columns)) {
    const columns = opts.columns;
    if (!columns) throw new GraftError('BAD_INPUT', `${file} is JSON: map its keys with {textColumn}, or {promptColumn} and {responseColumn}`, { file });
    return { file, container, format: 'csv', rows: () => mapRecords(file, records(), columns) };
  }
  const format = asked === 'auto' ? await detectFormat(file, records()) : asked;
  return { file, container, format, rows: () => parseRecords(records(), format) };
}

/** `bad`: the first line of the record that is not UTF-8. */
type RawRecord = { line: number; text: string; bad?: number };

async function* jsonlRecords(file: string): AsyncGenerator<RawRecord> {
  for await (const { line, text, bad } of readLines(file)) {
    if (text.trim() !== '') yield bad ? { line, text, bad: line } : { line, text };
  }
}

/** A record's JSON value, or the error row that stands for it (bytes that are not UTF-8, invalid JSON). */
function decodeRecord({ line, text, bad }: RawRecord): { line: number; obj: unknown } | { line: number; error: string } {
  if (bad !== undefined) return { line, error: notUtf8(bad) };
  try {
    return { line, obj: JSON.parse(text) };
  } catch (err) {
    return { line, error: `invalid JSON: ${(err as Error).message}` };
  }
}

async function* parseRecords(records: AsyncGenerator<RawRecord>, format: JsonFormat): AsyncGenerator<RowResult> {
  for await (const record of records) {
    const r = decodeRecord(record);
    if ('error' in r) {
      yield r;
      continue;
    }
    const { line, obj } = r;
    const row = normalizeRecord(obj, format);
    yield typeof row === 'string' ? { line, error: row } : { line, row };
  }
}

/** JSON records whose keys are mapped like CSV columns; the mapping is checked against the first object's keys. */
async function* mapRecords(file: string, records: AsyncGenerator<RawRecord>, given: ColumnMapping): AsyncGenerator<RowResult> {
  let mapping: ColumnMapping | null = null;
  for await (const record of records) {
    const r = decodeRecord(record);
    if ('error' in r) {
      yield r;
      continue;
    }
    const { line, obj } = r;
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      yield { line, error: 'the record is not a JSON object' };
      continue;
    }
    const rec = obj as Record<string, unknown>;
    mapping ??= resolveColumns(Object.keys(rec), given, file, line);
    const cell = (key: string): string | undefined => (rec[key] === undefined || rec[key] === null ? undefined : typeof rec[key] === 'string' ? rec[key] : JSON.stringify(rec[key]));
    yield rowFromColumns(cell, mapping, line, (key) => `the record has no key ${JSON.stringify(key)}`);
  }
}

/** The first record that parses decides; a file where none fits any format is refused as a whole. */
async function detectFormat(file: string, records: AsyncGenerator<RawRecord>): Promise<JsonFormat> {
  let seen = 0;
  try {
    for await (const record of records) {
      if (++seen > 1000) break;
      const r = decodeRecord(record);
      if ('error' in r) continue;
      const { line, obj } = r;
      const f = detectJsonFormat(obj);
      if (f) return f;
      const keys = obj && typeof obj === 'object' ? Object.keys(obj).join(', ') : typeof obj;
      throw new GraftError(
        'BAD_INPUT',
        `${file}: cannot tell the dataset format from line ${line} (keys: ${keys || 'none'}); expected 'messages', 'conversations', 'instruction'+'output' or 'text'; choose {format}, or map its keys with {textColumn}, or {promptColumn} and {responseColumn}`,
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
  let doc: string[] = [];
  let docLine = 0;
  let docBad = 0; // first line of the document that is not UTF-8
  const finish = (): RowResult | null => {
    const text = doc.join('\n').trim();
    const out = text === '' ? null : docBad ? { line: docLine, error: notUtf8(docBad) } : (fromRow(docLine, fromText(text, 'document')) as RowResult);
    doc = [];
    docLine = 0;
    docBad = 0;
    return out;
  };
  for await (const { line, text, bad } of readLines(file)) {
    const blank = text.trim() === '';
    if (split === 'line') {
      if (!blank) yield bad ? { line, error: notUtf8(line) } : { line, row: { kind: 'text', text } };
      continue;
    }
    if (split === 'blank-line' && blank) {
      const r = finish();
      if (r) yield r;
      continue;
    }
    if (docLine === 0 && !blank) docLine = line;
    if (docLine !== 0) doc.push(text);
    if (docLine !== 0 && bad && !docBad) docBad = line;
  }
  const r = finish();
  if (r) yield r;
}

function fromRow(line: number, row: ReturnType<typeof fromText>): RowResult {
  return typeof row === 'string' ? { line, error: row } : { line, row };
}
