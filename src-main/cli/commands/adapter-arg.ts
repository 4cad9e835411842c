/** `--adapter REF[:SCALE]`: REF is an adapter folder, or a name/id in the adapter library. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readAdapterWeights } from '../../engine/adapters/compat.js';
import { peftMethodKind, readMethodFolder, readPeftConfig } from '../../engine/adapters/method-folder.js';
import type { LoadedModel } from '../../engine/model.js';
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

/**
 * `--adapter` arguments split into LoRA rows and, for a DoRA/IA³ folder, base overrides: those run as their exact
 * merge (so every generation path, fused decode included, serves them); LoRA adapters given beside it are applied
 * on top (a stack). Prefix and bottleneck adapters have no merge and no KV-cache hook yet: refused with the reason.
 */
export async function splitAdapterArgs(model: LoadedModel, args: readonly string[], library?: string): Promise<{ lora: (RowAdapter & { label: string })[]; overrides?: Map<string, Float32Array> }> {
  const lora: (RowAdapter & { label: string })[] = [];
  let overrides: Map<string, Float32Array> | undefined;
  for (const arg of args) {
    const dir = existsSync(arg) ? arg : await resolveAdapterDir(arg, library).catch(() => null);
    const kind = dir && existsSync(path.join(dir, 'adapter_config.json')) ? peftMethodKind(readPeftConfig(dir), path.join(dir, 'adapter_config.json')) : null;
    if (!dir || kind === null) {
      lora.push(await parseAdapterArg(arg, library));
      continue;
    }
    if (overrides) throw new GraftError('BAD_INPUT', `--adapter ${arg}: only one DoRA/IA³ adapter per generation (each is merged into the base)`, { where: '--adapter' });
    const folder = readMethodFolder(dir, model.spec);
    const merged = folder.method.merge(model.source, folder.tensors);
    if ('refused' in merged)
      throw new GraftError('UNSUPPORTED', `--adapter ${arg}: ${folder.method.kind} adapters cannot be generated with yet (${merged.refused}, and the KV-cache graphs have no hook for it yet)`, { where: '--adapter' });
    overrides = merged;
  }
  return { lora, overrides };
}
