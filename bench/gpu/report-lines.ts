/** Shared by the decode reports (report-s10.ts, report-decode.ts): a device log's JSON lines by section. */
import { readFileSync } from 'node:fs';

export type J = Record<string, any>;

/** JSON lines of a log, each tagged with the "== ..." section it was printed under. */
export function sections(file: string): { section: string; r: J }[] {
  return sectionsOf(readFileSync(file, 'utf8'));
}

/**
 * sections() over a log's text, each line also with its section's place among the log's sections (`at`: names can
 * repeat). `cut`: a line the device call cut short (`cut -c1-N`) keeps the fields before the cut, instead of
 * failing to parse.
 */
export function sectionsOf(text: string, cut = false): { section: string; at: number; r: J }[] {
  let section = '';
  let at = -1;
  const out: { section: string; at: number; r: J }[] = [];
  for (const l of text.split('\n')) {
    if (l.startsWith('== ')) [section, at] = [l.slice(3), at + 1];
    else if (l.startsWith('{')) out.push({ section, at, r: cut ? leadingFields(l) : JSON.parse(l) });
  }
  return out;
}

/** The whole fields a JSON object line holds before it was cut short. */
function leadingFields(line: string): J {
  for (let end = line.length; end > 0; end = line.lastIndexOf(',"', end - 1)) {
    try {
      return JSON.parse(end === line.length ? line : `${line.slice(0, end)}}`);
    } catch {
      // cut inside this field: try before it
    }
  }
  return {};
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
