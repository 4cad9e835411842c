import { readLines, type TextLine } from './lines.js';

/** A CSV/TSV record with the line it starts on, or why the record starting there was dropped. */
export type CsvRecord = { line: number; fields: string[] } | { line: number; error: string };

/** A quoted field may span lines; past this many, the quote is taken to be stray and the record dropped. */
const MAX_RECORD_LINES = 10_000;
const MAX_RECORD_CHARS = 16 * 1024 * 1024;

/**
 * RFC 4180 records, read line by line. A record that cannot be parsed (a stray quote, a quote that never
 * closes, bytes that are not UTF-8) is dropped and reported at the line where it starts, and reading resumes
 * on the next line: a stray quote costs its own row, never the rows after it.
 */
export async function* csvRecords(file: string, delimiter: string, quoting: boolean): AsyncGenerator<CsvRecord> {
  const source = readLines(file);
  const pushback: TextLine[] = [];
  const next = async (): Promise<TextLine | undefined> => pushback.shift() ?? (await source.next()).value ?? undefined;
  for (let first = await next(); first; first = await next()) {
    if (first.text === '' && !first.bad) continue; // empty lines are no records
    const taken: TextLine[] = [first];
    const result = parseRecord(first.text, delimiter, quoting);
    let r = result.next();
    while (!r.done && r.value === 'more') {
      const more = taken.length < MAX_RECORD_LINES ? await next() : undefined;
      if (!more) break;
      taken.push(more);
      r = result.next(more.text);
    }
    const badLine = taken.find((l) => l.bad)?.line;
    const error = !r.done
      ? `a quote opened on line ${first.line} is not closed${taken.length >= MAX_RECORD_LINES ? ` within ${MAX_RECORD_LINES} lines` : ' before the end of the file'} (a stray quote?)`
      : typeof r.value === 'string'
        ? `${r.value}${taken.length > 1 ? ` of line ${taken[taken.length - 1].line}` : ''}`
        : badLine !== undefined
          ? `line ${badLine} is not UTF-8 text`
          : null;
    if (error === null && r.done && typeof r.value !== 'string') {
      yield { line: first.line, fields: r.value };
      continue;
    }
    yield { line: first.line, error: `malformed ${delimiter === '\t' ? 'TSV' : 'CSV'}: ${error}` };
    // A record that did not parse resumes right after its first line: the lines a stray quote swallowed are
    // rows of their own. One that parsed but holds bad bytes is a whole record, dropped whole.
    if (!r.done || typeof r.value === 'string') pushback.unshift(...taken.slice(1));
  }
}

/**
 * Parses one record from its first line; yields 'more' to be handed the next line while a quoted field is
 * open. Returns the fields, or the reason the record is malformed.
 */
function* parseRecord(text: string, delimiter: string, quoting: boolean): Generator<'more', string[] | string, string> {
  const fields: string[] = [];
  let field = '';
  let chars = 0;
  let state: 'start' | 'plain' | 'quoted' | 'closed' = 'start';
  let s = text;
  for (;;) {
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (state === 'quoted') {
        if (c !== '"') field += c;
        else if (s[i + 1] === '"') {
          field += '"';
          i++;
        } else state = 'closed';
      } else if (c === delimiter) {
        fields.push(field);
        field = '';
        state = 'start';
      } else if (state === 'closed') {
        return `text after a closing quote at column ${i + 1}`;
      } else if (c === '"' && quoting) {
        if (state !== 'start') return `a quote inside an unquoted field at column ${i + 1}`;
        state = 'quoted';
      } else {
        field += c;
        state = 'plain';
      }
    }
    if (state !== 'quoted') break;
    chars += s.length + 1;
    if (chars > MAX_RECORD_CHARS) return `a quoted field runs past ${MAX_RECORD_CHARS} characters (a stray quote?)`;
    field += '\n';
    s = yield 'more';
  }
  fields.push(field);
  return fields;
}
