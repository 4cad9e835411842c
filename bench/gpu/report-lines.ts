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
