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

/** The mean of rounds, to 0.1. */
export const mean = (xs: number[]) => +(xs.reduce((s, x) => s + x, 0) / xs.length).toFixed(1);

/** An A/B's rounds of one model (gpu-explore decodeAb's lines, section-tagged): each arm's mean, one row and 4 rows in all. */
export function ab(lines: J[], model: string) {
  const r = lines.filter((x) => x.model === model && typeof x.round === 'number');
  const arm = (k: string) => (r.every((x) => typeof x[k] === 'number') && r.length ? mean(r.map((x) => x[k] as number)) : null);
  const keys = [...new Set(r.flatMap((x) => Object.keys(x)))].filter((k) => !['model', 'packed', 'round', 'section'].includes(k));
  return { model, rounds: r.map(({ section: _s, model: _m, packed: _p, ...rest }) => rest), means: Object.fromEntries(keys.map((k) => [k, arm(k)])) };
}
