/** `--adapter REF[:SCALE]`: REF is an adapter folder, or a name/id in the adapter library. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readAdapterWeights } from '../../engine/adapters/compat.js';
import { peftMethodKind, readMethodFolder, readPeftConfig } from '../../engine/adapters/method-folder.js';
import { isAdapterHubFusionFolder } from '../../engine/adapters/adapterhub-fusion.js';
import type { Variant } from '../../engine/infer/generate.js';
import type { LoadedModel } from '../../engine/model.js';
import type { RowAdapter } from '../../engine/adapters/row-lora.js';
import { composeRow, type LoadedMethod } from '../../engine/adapters/compose.js';
import type { ComposeOptions } from '../../engine/options/compose.js';
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

/** The method folder an `--adapter REF[:WEIGHT]` names (DoRA, IA³, prefix, bottleneck, BitFit, fusion), or null for LoRA. */
async function methodArg(model: LoadedModel, arg: string, library?: string): Promise<LoadedMethod | null> {
  const m = /^(.*?)(?::(-?[0-9.]+))?$/.exec(arg)!;
  const ref = existsSync(arg) ? arg : m[1];
  const weight = existsSync(arg) || m[2] === undefined ? 1 : Number(m[2]);
  const dir = existsSync(ref) ? ref : await resolveAdapterDir(ref, library).catch(() => null);
  const cfg = dir ? path.join(dir, 'adapter_config.json') : null;
  // a fusion in AdapterHub's layout has no adapter_config.json of its own (adapters/adapterhub-fusion.ts)
  if (!dir || !cfg || (!isAdapterHubFusionFolder(dir) && (!existsSync(cfg) || peftMethodKind(readPeftConfig(dir), cfg) === null))) return null;
  if (!Number.isFinite(weight)) throw new GraftError('BAD_INPUT', `--adapter ${arg}: the weight after ':' must be a number`, { where: '--adapter' });
  const folder = readMethodFolder(dir, model.spec);
  return { adapter: folder.method, tensors: folder.tensors, weight, label: ref };
}

/**
 * One row's `--adapter` arguments: LoRA adapters are applied together; the other methods are composed as
 * `--compose` says (stacked or merged, AdapterDrop applied: adapters/compose.ts) and applied under them.
 * With `mergeIntoBase`, a composition that merges exactly (DoRA, IA³, BitFit with the base's biases) runs as
 * merged base weights, so the fused decode path serves it; the rest run through the plain graph's hooks.
 */
export async function rowVariant(
  model: LoadedModel,
  args: readonly string[],
  compose: ComposeOptions,
  o: { library?: string; mergeIntoBase: boolean },
): Promise<{ variant: Variant; overrides?: Map<string, Float32Array>; notes: string[] }> {
  const variant: Variant = { adapters: [] };
  const methods: LoadedMethod[] = [];
  for (const arg of args) {
    const method = await methodArg(model, arg, o.library);
    if (method) methods.push(method);
    else variant.adapters.push(await parseAdapterArg(arg, o.library));
  }
  const row = composeRow(model.source, model.spec, methods, compose);
  if (!row) return { variant, notes: [] };
  const merged = o.mergeIntoBase ? row.adapter.merge(model.source, row.tensors) : { refused: 'a column' };
  if ('refused' in merged) variant.method = { adapter: row.adapter, tensors: row.tensors };
  return { variant, overrides: 'refused' in merged ? undefined : merged, notes: row.notes };
}

/** One side-by-side column per `--adapter`; `A+B` composes several adapters in one column. */
export async function variantForArg(model: LoadedModel, arg: string, compose: ComposeOptions, library?: string): Promise<Variant & { label: string; notes: string[] }> {
  const parts = existsSync(arg) ? [arg] : arg.split('+');
  const { variant, notes } = await rowVariant(model, parts, compose, { library, mergeIntoBase: false });
  const kind = variant.method ? ` (${variant.method.adapter.kind})` : '';
  // One LoRA adapter keeps its own label, which shows a scale given after ':' as ×scale.
  const lone = !variant.method && variant.adapters.length === 1 ? (variant.adapters[0] as { label?: string }).label : undefined;
  return { ...variant, label: lone ?? `${arg}${kind}`, notes };
}
