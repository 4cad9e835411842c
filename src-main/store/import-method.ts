/**
 * The library's side of the adapter family (issue 16): a DoRA, IA³, prefix, bottleneck (Graft's layout or
 * AdapterHub's) or BitFit folder becomes a library entry holding Graft's method layout (adapter_config.json +
 * adapter_model.safetensors, what `graft train --method` writes and PEFT loads for DoRA/IA³/prefix). With a
 * base, every tensor is read and checked against it and written back with its stored bytes unchanged; without
 * one, Graft's own layout is copied as it is (with a warning) and AdapterHub's, which must be renamed, is
 * refused. AdapterFusion folders (their frozen adapters in subfolders) stay out of the library for now.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { bottleneckFromAdapterHub, isAdapterHubConfig } from '../engine/adapters/adapterhub-import.js';
import { targetsFromModules } from '../engine/adapters/adapter-weights.js';
import { bottleneckConfigOf, CONFIG_FILE, peftMethodKind, readMethodFolder, readPeftConfig, WEIGHTS_FILE, writeMethodFolder } from '../engine/adapters/method-folder.js';
import { GraftError } from '../engine/errors.js';
import { copyFileDurable } from '../engine/io/atomic.js';
import type { ModelSpec } from '../engine/models/spec.js';
import { isMethodEntry } from '../engine/adapters/method-kinds.js';
import type { AdapterMeta } from './adapter-meta.js';

/** The method a folder's adapter_config.json names, or null for plain LoRA (and for anything not a folder). */
export function folderMethod(dir: string): string | null {
  if (!existsSync(path.join(dir, CONFIG_FILE))) return null;
  let cfg: Record<string, unknown>;
  try {
    cfg = readPeftConfig(dir);
  } catch {
    return null; // not JSON: the LoRA import's reader refuses it, in its words
  }
  const file = path.join(dir, CONFIG_FILE);
  // Only a config that names one of the family's methods goes this way; plain LoRA, and anything else, is
  // the LoRA import's to check and refuse in its words.
  const named = cfg.graft_method !== undefined || isAdapterHubConfig(cfg) || cfg.peft_type === 'IA3' || cfg.peft_type === 'PREFIX_TUNING' || (cfg.peft_type === 'LORA' && cfg.use_dora === true);
  if (!named) return null;
  const kind = peftMethodKind(cfg, file);
  if (kind !== 'bottleneck') return kind;
  return (isAdapterHubConfig(cfg) ? bottleneckFromAdapterHub(cfg, file) : bottleneckConfigOf(cfg, file)).kind;
}

export { isMethodEntry };

/**
 * Fills `staged` with the method folder at `src` in Graft's layout; returns the metadata fields it knows
 * (method, and the rank/alpha/targets where the method has them).
 */
export async function stageMethodFolder(
  src: string,
  staged: string,
  o: { spec?: ModelSpec; onWarning?: (m: string) => void },
): Promise<Pick<AdapterMeta, 'method' | 'r' | 'alpha' | 'targets' | 'rslora'>> {
  const method = folderMethod(src)!;
  const file = path.join(src, CONFIG_FILE);
  const cfg = readPeftConfig(src);
  if (method === 'fusion') throw new GraftError('UNSUPPORTED', `${src}: an AdapterFusion folder; the library does not hold fusions yet (use it from its folder with graft generate)`, { file });
  const hub = isAdapterHubConfig(cfg);
  if (o.spec) {
    const folder = readMethodFolder(src, o.spec);
    // AdapterHub's names become Graft's (its config says how they map); Graft's own keep their config and bytes.
    writeMethodFolder(staged, folder.method, folder.tensors, hub ? {} : { stored: folder.stored, config: folder.rawConfig });
  } else {
    if (hub) throw new GraftError('BAD_INPUT', `is needed to import AdapterHub's layout (${src}): its tensors are renamed for the base's layers`, { field: 'basePath' });
    const weights = path.join(src, WEIGHTS_FILE);
    if (!existsSync(weights)) throw new GraftError('NOT_FOUND', `${weights}: no such file (a pickle adapter_model.bin is not read: pickle can run code)`, { file: weights });
    o.onWarning?.(`${src}: no base model given, so the ${method} adapter's tensor shapes were not checked`);
    await copyFileDurable(file, path.join(staged, CONFIG_FILE));
    await copyFileDurable(weights, path.join(staged, WEIGHTS_FILE));
  }
  const lora = method === 'dora';
  const modules = Array.isArray(cfg.target_modules) || typeof cfg.target_modules === 'string' ? targetsFromModules(cfg.target_modules as string[], file) : [];
  return {
    method,
    r: lora && typeof cfg.r === 'number' ? cfg.r : 0,
    alpha: lora && typeof cfg.lora_alpha === 'number' ? cfg.lora_alpha : 0,
    targets: modules,
    rslora: lora && cfg.use_rslora === true,
  };
}
