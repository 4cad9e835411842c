/** `--adapter REF[:SCALE]`: REF is an adapter folder, or a name/id in the adapter library. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readAdapterWeights } from '../../engine/adapters/compat.js';
import { peftMethodKind, readMethodFolder, readPeftConfig } from '../../engine/adapters/method-folder.js';
import type { Variant } from '../../engine/infer/generate.js';
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

/** The method folder an `--adapter` argument names (DoRA, IA³, prefix, bottleneck, BitFit), or null for LoRA. */
async function methodArg(model: LoadedModel, arg: string, library?: string) {
  const dir = existsSync(arg) ? arg : await resolveAdapterDir(arg, library).catch(() => null);
  const cfg = dir ? path.join(dir, 'adapter_config.json') : null;
  if (!dir || !cfg || !existsSync(cfg) || peftMethodKind(readPeftConfig(dir), cfg) === null) return null;
  const folder = readMethodFolder(dir, model.spec);
  if (folder.method.virtualTokens)
    throw new GraftError('UNSUPPORTED', `--adapter ${arg}: prefix adapters cannot be generated with yet (the KV-cache graphs would need the prefix in pre-filled cache slots)`, { where: '--adapter' });
  return { adapter: folder.method, tensors: folder.tensors };
}

/** One side-by-side column per `--adapter`: LoRA as a row adapter, the other methods as the row's method. */
export async function variantForArg(model: LoadedModel, arg: string, library?: string): Promise<Variant & { label: string }> {
  const method = await methodArg(model, arg, library);
  if (method) return { adapters: [], method, label: `${arg} (${method.adapter.kind})` };
  const a = await parseAdapterArg(arg, library);
  return { adapters: [a], label: a.label };
}

/**
 * `graft generate`'s `--adapter` arguments: LoRA adapters are applied together; at most one other method, stacked
 * under them. DoRA/IA³ (and BitFit where the base has the biases) run as their exact merge, so the fused decode
 * path serves them; bottleneck adapters run through the plain graph's hooks; prefix adapters are refused.
 */
export async function splitAdapterArgs(model: LoadedModel, args: readonly string[], library?: string): Promise<{ variant: Variant; overrides?: Map<string, Float32Array> }> {
  const variant: Variant = { adapters: [] };
  let overrides: Map<string, Float32Array> | undefined;
  for (const arg of args) {
    const method = await methodArg(model, arg, library);
    if (!method) {
      variant.adapters.push(await parseAdapterArg(arg, library));
      continue;
    }
    if (overrides || variant.method) throw new GraftError('BAD_INPUT', `--adapter ${arg}: one non-LoRA adapter per generation (stack LoRA adapters on it instead)`, { where: '--adapter' });
    const merged = method.adapter.merge(model.source, method.tensors);
    if ('refused' in merged) variant.method = method;
    else overrides = merged;
  }
  return { variant, overrides };
}
