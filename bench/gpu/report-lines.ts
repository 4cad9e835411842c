/** Shared by the decode reports (report-s10.ts, report-decode.ts): a device log's JSON lines by section. */
import { readFileSync } from 'node:fs';

export type J = Record<string, any>;

/** JSON lines of a log, each tagged with the "== ..." section it was printed under. */
export function sections(file: string): { section: string; r: J }[] {
  let section = '';
  const out: { section: string; r: J }[] = [];
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    if (l.startsWith('== ')) section = l.slice(3);
    else if (l.startsWith('{')) out.push({ section, r: JSON.parse(l) });
  }
  return out;
}

/** llama-bench's JSON array; a run cut short (a model it could not load) leaves it unclosed: read what is whole. */
export function llamaBench(file: string): J[] {
  const text = readFileSync(file, 'utf8').trim();
  try {
    return JSON.parse(text);
  } catch {
    return JSON.parse(`${text.slice(0, text.lastIndexOf('}') + 1)}]`);
  }
}
