/**
 * AdapterFusion in AdapterHub's saved layout (`adapters`' AdapterFusionLoader and save_all_adapters, read for
 * this file): a folder named after the fusion ("a,b": its adapters' names joined by commas) holding
 * adapter_fusion_config.json ({ config: the fusion config, name, hidden_size, model_class, ... }) and
 * model_adapter_fusion.safetensors (the query/key/value weights, named ...adapter_fusion_layer.<fusion name>...,
 * the names fusion.ts uses), with each fused adapter saved beside it in its own folder, named after it, in
 * AdapterHub's bottleneck layout (adapterhub-import.ts). The pickle pytorch_model_adapter_fusion.bin is refused.
 * Graft runs the dynamic fusion config (fusion.ts); another (static: no value matrix) is refused by field.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GraftError } from '../errors.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import { encodeSafetensors, type TensorToWrite } from '../io/safetensors.js';
import type { ModelSpec } from '../models/spec.js';
import { ADAPTERHUB_WEIGHTS, adapterHubConfig, bottleneckFromAdapterHub, readAdapterHubFolder, readMethodTensors } from './adapterhub-import.js';
import { type BottleneckConfig, bottleneckMethod } from './bottleneck.js';
import { DYNAMIC_FUSION_CONFIG, fusionMethod } from './fusion.js';
import { bottleneckConfigOf, CONFIG_FILE, type MethodFolder } from './method-folder.js';
import type { MethodAdapter } from './method.js';

export const ADAPTERHUB_FUSION_CONFIG = 'adapter_fusion_config.json';
export const ADAPTERHUB_FUSION_WEIGHTS = 'model_adapter_fusion.safetensors';
export const ADAPTERHUB_FUSION_PICKLE = 'pytorch_model_adapter_fusion.bin';

/** The fields of the fusion config that change what it computes (the rest only shape training). */
const COMPUTED = ['key', 'query', 'value', 'query_before_ln', 'residual_before', 'temperature', 'value_before_softmax'] as const;

export const isAdapterHubFusionFolder = (dir: string): boolean => existsSync(join(dir, ADAPTERHUB_FUSION_CONFIG));

/** A fused adapter's folder: beside the fusion's (save_all_adapters' layout), else inside it. */
function fusedDir(dir: string, name: string, file: string): string {
  const found = [join(dirname(dir), name), join(dir, name)].find((d) => existsSync(join(d, CONFIG_FILE)));
  if (!found) throw new GraftError('NOT_FOUND', `${file}: the fused adapter "${name}" is neither beside the fusion folder nor inside it (${join(dirname(dir), name)})`, { file, where: 'name' });
  return found;
}

export function readAdapterHubFusion(dir: string, spec: ModelSpec): MethodFolder {
  const file = join(dir, ADAPTERHUB_FUSION_CONFIG);
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new Error('not a JSON object');
  } catch (err) {
    throw new GraftError('BAD_FILE', `${file}: ${(err as Error).message}`, { file, cause: err });
  }
  if (typeof cfg.name !== 'string' || !cfg.name) throw new GraftError('BAD_FILE', `${file}: "name" should be the fusion's name (its adapters' names joined by commas)`, { file, where: 'name' });
  const c = (cfg.config ?? {}) as Record<string, unknown>;
  for (const field of COMPUTED)
    if (c[field] !== DYNAMIC_FUSION_CONFIG[field])
      throw new GraftError('UNSUPPORTED', `${file}: config.${field} is ${String(c[field])}; Graft runs AdapterHub's dynamic fusion (${field} ${String(DYNAMIC_FUSION_CONFIG[field])})`, { file, where: `config.${field}` });
  const name = cfg.name;
  const parts = name.split(',').map((n) => {
    const d = fusedDir(dir, n.trim(), file);
    const folder = readAdapterHubFolder(d, spec);
    return { config: bottleneckFromAdapterHub(folder.rawConfig, join(d, CONFIG_FILE)), tensors: folder.tensors, label: d };
  });
  const method = fusionMethod(spec, parts, name);
  const weights = join(dir, ADAPTERHUB_FUSION_WEIGHTS);
  if (!existsSync(weights)) {
    const pickle = join(dir, ADAPTERHUB_FUSION_PICKLE);
    if (existsSync(pickle))
      throw new GraftError(
        'UNSUPPORTED',
        `${pickle}: a pickle file, which Graft does not open (unpickling can run arbitrary code). Save the fusion as safetensors: model.save_adapter_fusion(dir, "${name}", use_safetensors=True)`,
        { file: pickle },
      );
    throw new GraftError('NOT_FOUND', `${weights}: no such file`, { file: weights });
  }
  const { tensors, stored } = readMethodTensors(weights, method, `fusion ${name}`);
  // Graft's own config for it (what writeMethodFolder writes when it is kept in Graft's layout).
  return { method, tensors, stored, rawConfig: method.peftConfig() };
}

const write = (file: string, tensors: Map<string, TensorToWrite>) => writeFileAtomicSync(file, encodeSafetensors(tensors, { format: 'pt' }));
const json = (file: string, o: unknown) => writeFileAtomicSync(file, [Buffer.from(JSON.stringify(o, null, 2) + '\n')]);

/**
 * Writes a fusion in AdapterHub's layout into `out` (a new folder): `out/<adapter name>/` for each fused
 * adapter and `out/<fusion name>/` for the fusion, as save_all_adapters lays them out. AdapterHub names
 * adapters uniquely, so adapters that share a name (Graft's runs are all "graft") are saved as name_1, name_2.
 */
export function writeAdapterHubFusion(out: string, folder: MethodFolder, modelClass: string): { fusionDir: string } {
  const { method } = folder;
  const frozen = method.frozen ?? [];
  const configs = frozen.map((f, k) => bottleneckConfigOf(f.adapter.peftConfig(), `fused adapter ${k}`));
  const taken = configs.map((c) => c.name);
  const names = configs.map((c, k) => (taken.filter((n) => n === c.name).length > 1 ? `${c.name}_${k + 1}` : c.name));
  if (names.some((n) => n.includes(',') || n.includes('/'))) throw new GraftError('UNSUPPORTED', `fused adapter names ${names.join(', ')}: AdapterHub's names cannot hold "," or "/"`, { field: 'format' });
  const fusionName = names.join(',');
  frozen.forEach((f, k) => {
    const cfg: BottleneckConfig = { ...configs[k], name: names[k] };
    // the same layout under the AdapterHub name: parameters in the same order, renamed
    const renamed = bottleneckMethod(method.spec, cfg);
    const dir = join(out, names[k]);
    mkdirSync(dir, { recursive: true });
    write(join(dir, ADAPTERHUB_WEIGHTS), new Map(renamed.params.map((p, i) => [p.name, { dtype: 'F32', shape: p.shape, data: f.tensors.get(f.adapter.params[i].name)! }])));
    json(join(dir, CONFIG_FILE), adapterHubConfig(cfg, method.spec.hidden, modelClass));
  });
  const fusion: MethodAdapter = fusionMethod(method.spec, frozen.map((f, k) => ({ config: { ...configs[k], name: names[k] }, tensors: f.tensors })), fusionName);
  const fusionDir = join(out, fusionName);
  mkdirSync(fusionDir, { recursive: true });
  write(
    join(fusionDir, ADAPTERHUB_FUSION_WEIGHTS),
    new Map(
      fusion.params.map((p, i) => {
        const from = method.params[i].name;
        const s = folder.stored.get(from);
        return [p.name, s ? { dtype: s.dtype, shape: s.shape, data: s.raw } : { dtype: 'F32' as const, shape: p.shape, data: folder.tensors.get(from)! }];
      }),
    ),
  );
  json(join(fusionDir, ADAPTERHUB_FUSION_CONFIG), { config: DYNAMIC_FUSION_CONFIG, hidden_size: method.spec.hidden, model_class: modelClass, name: fusionName, version: 'adapters.1.2.0' });
  return { fusionDir };
}
