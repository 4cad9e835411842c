/**
 * Command-line flags from an options schema (engine/options): one flag per field with its help and default,
 * and the parsed flags turned back into the schema's input. Values are only converted here (text to number,
 * comma list to array); the schema's validator judges them, exactly as it judges the GUI's requests.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { GraftError } from '../../engine/errors';
import { findField } from '../../engine/options/index';
import { flagOf, type Field, type Schema } from '../../engine/options/schema';

/** The CLI's name of an option key: `--flag` (its kebab-case where no schema knows it: out, model, data). */
export function cliName(key: string): string {
  return `--${flagOf(key, findField(key))}`;
}

const camel = (flag: string) => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function placeholder(f: Field): string {
  if (f.kind === 'text') return f.cliFile ? '<file>' : '<text>';
  if (f.kind === 'enum') return '<choice>';
  if (f.kind === 'list') return '<list>';
  return f.kind === 'int' ? '<n>' : '<x>';
}

function helpOf(f: Field): string {
  // A help of several lines lists the choices itself (the training methods with their trade-offs).
  const choices = f.kind === 'enum' ? (f.help.includes('\n') ? '' : `: ${f.choices.join(' | ')}`) : f.kind === 'list' ? ` (comma list of ${f.choices.join(',')})` : '';
  const when = f.when ? ` [with ${Object.entries(f.when).map(([k, v]) => `${cliName(k)} ${v}`).join(', ')}]` : '';
  const dflt = f.kind === 'bool' || f.default === null || f.default === '' ? '' : ` (default: ${Array.isArray(f.default) ? f.default.join(',') : String(f.default)})`;
  return `${f.help}${choices}${when}${dflt}`;
}

/** One flag per field; commander gives no defaults, so that the validator sees only what the user typed. */
export function addSchemaFlags(cmd: Command, schema: Schema): Command {
  for (const [key, f] of Object.entries(schema)) {
    if (f.cli === false) continue;
    const flag = flagOf(key, f);
    cmd.option(f.kind === 'bool' ? `--${flag}` : `--${flag} ${placeholder(f)}`, helpOf(f));
  }
  return cmd;
}

function convert(key: string, f: Field, raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  if (f.kind === 'int' || f.kind === 'number') {
    const n = raw.trim() === '' ? NaN : Number(raw);
    return Number.isFinite(n) ? n : raw; // the validator quotes what was typed
  }
  if (f.kind === 'list')
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return raw;
}

/** The schema's input from parsed flags: only the flags given (absent ones take the schema's default). */
export async function inputFromFlags(schema: Schema, parsed: object): Promise<Record<string, unknown>> {
  const flags = parsed as Record<string, unknown>;
  const input: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(schema)) {
    if (f.cli === false) continue;
    const raw = flags[camel(flagOf(key, f))];
    if (raw === undefined) continue;
    if (f.kind === 'text' && f.cliFile && typeof raw === 'string') {
      input[key] = await readFile(raw, 'utf8').catch((err: unknown) => {
        throw new GraftError('NOT_FOUND', `cannot read ${raw}`, { file: raw, field: key, cause: err });
      });
    } else input[key] = convert(key, f, raw);
  }
  return input;
}
