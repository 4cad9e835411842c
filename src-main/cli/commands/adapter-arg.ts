/** `--adapter DIR[:SCALE]` and `--base` flags → generation variants. */
import { existsSync } from 'node:fs';
import { loadAdapter } from '../../engine/adapters/load.js';
import type { RowAdapter } from '../../engine/adapters/row-lora.js';
import { GraftError } from '../../engine/errors.js';

export function parseAdapterArg(arg: string): RowAdapter {
  const m = /^(.*?)(?::(-?[0-9.]+))?$/.exec(arg)!;
  const dir = existsSync(arg) ? arg : m[1];
  const scale = existsSync(arg) || m[2] === undefined ? 1 : Number(m[2]);
  if (!Number.isFinite(scale)) throw new GraftError('BAD_INPUT', `--adapter ${arg}: the scale after ':' must be a number`, { where: '--adapter' });
  return { weights: loadAdapter(dir), scale };
}

export const collect = (v: string, prev: string[] = []) => [...prev, v];
