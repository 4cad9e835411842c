import { GraftError } from '../errors.js';
import { csvRecords } from './csv-records.js';
import { checkConversation, fromText } from './normalize.js';
import type { ChatMessage, ColumnMapping, RowResult } from './types.js';

/** Header names we map without being told, in order of preference. */
const AUTO_PAIRS: [string, string][] = [
  ['prompt', 'response'],
  ['prompt', 'completion'],
  ['instruction', 'output'],
  ['question', 'answer'],
  ['input', 'output'],
  ['user', 'assistant'],
];

/** Picks the columns to use from the header: the given mapping (checked), else a known pair, else `text`. */
export function resolveColumns(header: string[], given: ColumnMapping | undefined, file: string, line = 1): ColumnMapping {
  const names = header.map((h) => h.trim());
  const has = (c: string) => names.includes(c);
  const list = names.map((n) => JSON.stringify(n)).join(', ');
  if (given && (given.text || given.prompt || given.response)) {
    if (given.text && (given.prompt || given.response))
      throw new GraftError('BAD_INPUT', `${file}: map either a text column or prompt + response columns, not both`, { file });
    if (!given.text && !(given.prompt && given.response))
      throw new GraftError('BAD_INPUT', `${file}: a prompt column needs a response column (and the reverse)`, { file });
    for (const [role, col] of Object.entries(given)) {
      if (col && !has(col)) {
        throw new GraftError('BAD_INPUT', `${file}: the ${role} column ${JSON.stringify(col)} is not in the header (columns: ${list})`, {
          file,
          where: `line ${line}`,
        });
      }
    }
    return given;
  }
  const lower = new Map(names.map((n) => [n.toLowerCase(), n]));
  const system = lower.get('system');
  for (const [p, r] of AUTO_PAIRS) {
    const pc = lower.get(p);
    const rc = lower.get(r);
    if (pc && rc) return { prompt: pc, response: rc, ...(system ? { system } : {}) };
  }
  const text = lower.get('text');
  if (text) return { text };
  throw new GraftError(
    'BAD_INPUT',
    `${file}: no column mapping given and none recognised in the header (columns: ${list}); choose {textColumn}, or {promptColumn} and {responseColumn}`,
    { file, where: `line ${line}` },
  );
}

/** Streams CSV/TSV records; the first record is the header. Malformed records are reported, not fatal. */
export async function* readCsvRows(file: string, delimiter: string, columns: ColumnMapping | undefined): AsyncGenerator<RowResult> {
  let index: Record<string, number> | null = null;
  let mapping: ColumnMapping = {};
  for await (const rec of csvRecords(file, delimiter, delimiter !== '\t')) {
    if ('error' in rec) {
      if (!index) throw new GraftError('BAD_INPUT', `${file}: the header row is ${rec.error}`, { file, where: `line ${rec.line}` });
      yield rec;
      continue;
    }
    if (!index) {
      mapping = resolveColumns(rec.fields, columns, file);
      index = Object.fromEntries(rec.fields.map((h, i) => [h.trim(), i]));
      continue;
    }
    yield toRow(rec.fields, index, mapping, rec.line);
  }
  if (!index) throw new GraftError('BAD_INPUT', `${file} has no header row`, { file });
}

function toRow(record: string[], index: Record<string, number>, m: ColumnMapping, line: number): RowResult {
  const short = `the row has ${record.length} fields`;
  return rowFromColumns((col) => record[index[col]], m, line, (col) => (col === m.text ? `${short}, so no ${JSON.stringify(col)} column` : `${short}, fewer than the header`));
}

/**
 * One row from the mapped columns of a record (a CSV row, or a JSON object's keys). `missing` says why a
 * column is absent from this record.
 */
export function rowFromColumns(cell: (col: string) => string | undefined, m: ColumnMapping, line: number, missing: (col: string) => string): RowResult {
  if (m.text) {
    const v = cell(m.text);
    if (v === undefined) return { line, error: missing(m.text) };
    const row = fromText(v, `column ${JSON.stringify(m.text)}`);
    return typeof row === 'string' ? { line, error: row } : { line, row };
  }
  const prompt = cell(m.prompt!);
  const response = cell(m.response!);
  if (prompt === undefined || response === undefined) return { line, error: missing(prompt === undefined ? m.prompt! : m.response!) };
  if (prompt.trim() === '') return { line, error: `column ${JSON.stringify(m.prompt)} is empty` };
  const messages: ChatMessage[] = [];
  const system = m.system ? cell(m.system) : undefined;
  if (system && system.trim() !== '') messages.push({ role: 'system', content: system });
  messages.push({ role: 'user', content: prompt }, { role: 'assistant', content: response });
  const row = checkConversation(messages, 'row');
  return typeof row === 'string' ? { line, error: `column ${JSON.stringify(m.response)} is empty` } : { line, row };
}
