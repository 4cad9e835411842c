/** `--adapter REF[:SCALE]`: REF is an adapter folder, or a name/id in the adapter library. */
import { existsSync } from 'node:fs';
import { readAdapterWeights } from '../../engine/adapters/compat.js';
import type { RowAdapter } from '../../engine/adapters/row-lora.js';
import { GraftError } from '../../engine/errors.js';
import { AdapterLibrary } from '../../store/library.js';
import { defaultLibraryDir } from '../../store/paths.js';

export async function resolveAdapterDir(ref: string, library?: string): Promise<string> {
  if (existsSync(ref)) return ref;
  const lib = await AdapterLibrary.open(library ?? defaultLibraryDir());
  return (await lib.get(ref)).dir;
}

export async function parseAdapterArg(arg: string, library?: string): Promise<RowAdapter & { label: string }> {
  const m = /^(.*?)(?::(-?[0-9.]+))?$/.exec(arg)!;
  const whole = existsSync(arg);
  const ref = whole ? arg : m[1];
  const scale = whole || m[2] === undefined ? 1 : Number(m[2]);
  if (!Number.isFinite(scale)) throw new GraftError('BAD_INPUT', `--adapter ${arg}: the scale after ':' must be a number`, { where: '--adapter' });
  return { weights: readAdapterWeights(await resolveAdapterDir(ref, library)), scale, label: scale === 1 ? ref : `${ref} ×${scale}` };
}

export const collect = (v: string, prev: string[] = []) => [...prev, v];
