import { GraftError } from '../errors.js';
import { readLines } from './lines.js';

/**
 * Streams the elements of a top-level JSON array as raw text with the 1-based line each starts on, so a
 * 100 MB `[...]` file is never parsed whole and each bad element can be reported by line.
 * Only the array's own structure is scanned here; each element is JSON.parse'd by the caller.
 */
export async function* jsonArrayElements(file: string): AsyncGenerator<{ line: number; text: string; bad?: number }> {
  let line = 1;
  let started = false; // saw the opening '['
  let finished = false; // saw the closing ']'
  let depth = 0; // nesting inside the current element
  let inString = false;
  let escaped = false;
  let buf: string[] = [];
  let elemLine = 0;
  let piece = '';
  let badLines: number[] = []; // lines of the current element that are not UTF-8

  const flush = function* (): Generator<{ line: number; text: string; bad?: number }> {
    const text = (buf.join('') + piece).trim();
    buf = [];
    piece = '';
    const bad = badLines.find((l) => l >= elemLine && l <= line);
    badLines = badLines.filter((l) => l >= line);
    if (text !== '') yield bad !== undefined ? { line: elemLine, text, bad } : { line: elemLine, text };
    elemLine = 0;
  };

  for await (const l of readLines(file)) {
    const s = `${l.text}\n`;
    line = l.line;
    if (l.bad) badLines.push(l.line);
    let from = 0; // start of the current element's text within this chunk
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === '\n') line++;
      if (finished) {
        if (c.trim() !== '')
          throw new GraftError('BAD_INPUT', `${file}: text after the closing ']' of the JSON array`, { file, where: `line ${line}` });
        continue;
      }
      if (!started) {
        if (c === '[') {
          started = true;
          from = i + 1;
        } else if (c.trim() !== '' && c !== '\uFEFF') {
          throw new GraftError('BAD_INPUT', `${file}: expected a JSON array starting with '['`, { file, where: `line ${line}` });
        }
        continue;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (elemLine === 0 && c.trim() !== '' && c !== ',' && !(depth === 0 && c === ']')) elemLine = line;
      if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0) {
          // the array's own closing bracket
          piece = s.slice(from, i);
          yield* flush();
          finished = true;
          continue;
        }
        depth--;
      } else if (c === ',' && depth === 0) {
        piece = s.slice(from, i);
        yield* flush();
        from = i + 1;
      }
    }
    if (!finished && started) buf.push(s.slice(from));
  }
  line = Math.max(line - 1, 1); // readLines drops the last line break; the loop above counted one for it
  if (!started) throw new GraftError('BAD_INPUT', `${file}: no JSON array found`, { file });
  if (!finished)
    throw new GraftError('BAD_INPUT', `${file}: the JSON array is not closed (file truncated?)`, { file, where: `line ${line}` });
}
