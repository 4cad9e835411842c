/**
 * graft.json: what Graft knows about an adapter beyond PEFT's own files. One per adapter folder; the library's
 * index is rebuilt from these, so a damaged one costs only its own entry.
 */
import { GraftError } from '../engine/errors.js';
import type { AdapterMeta, BaseModelRef, LossPoint, RemoteTraining } from '../engine/adapters/meta.js';

export const META_FILE = 'graft.json';
export const META_FORMAT = 1;

export type { AdapterMeta, BaseModelRef, LossPoint, RemoteTraining } from '../engine/adapters/meta.js';

function fail(file: string, key: string, want: string): never {
  throw new GraftError('BAD_FILE', `${file}: "${key}" should be ${want}`, { file, where: key });
}

function str(o: Record<string, unknown>, key: string, file: string, fallback?: string): string {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string') fail(file, key, 'a string');
  return v;
}

function num(o: Record<string, unknown>, key: string, file: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(file, key, 'a number');
  return v;
}

/** Check a parsed graft.json; unknown keys are dropped, optional ones defaulted. */
export function parseAdapterMeta(raw: unknown, file: string): AdapterMeta {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(file, '(root)', 'a JSON object');
  const o = raw as Record<string, unknown>;
  const tags = o.tags ?? [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) fail(file, 'tags', 'a list of strings');
  const targets = o.targets ?? [];
  if (!Array.isArray(targets) || targets.some((t) => typeof t !== 'string')) fail(file, 'targets', 'a list of strings');
  let base: BaseModelRef | null = null;
  if (o.base !== undefined && o.base !== null) {
    const b = o.base as Record<string, unknown>;
    if (typeof b !== 'object') fail(file, 'base', 'an object or null');
    base = { id: str(b, 'id', file), arch: str(b, 'arch', file, ''), ...(typeof b.hash === 'string' ? { hash: b.hash } : {}) };
  }
  let dataset: AdapterMeta['dataset'] = null;
  if (o.dataset !== undefined && o.dataset !== null) {
    const d = o.dataset as Record<string, unknown>;
    if (typeof d !== 'object') fail(file, 'dataset', 'an object or null');
    dataset = { name: str(d, 'name', file), ...(typeof d.hash === 'string' ? { hash: d.hash } : {}) };
  }
  const lossCurve = o.lossCurve ?? [];
  if (!Array.isArray(lossCurve)) fail(file, 'lossCurve', 'a list');
  const metrics = (o.metrics ?? {}) as Record<string, number>;
  const hyperparameters = (o.hyperparameters ?? {}) as Record<string, unknown>;
  if (typeof metrics !== 'object' || Array.isArray(metrics)) fail(file, 'metrics', 'an object');
  if (typeof hyperparameters !== 'object' || Array.isArray(hyperparameters)) fail(file, 'hyperparameters', 'an object');
  const id = str(o, 'id', file);
  if (!isValidId(id)) fail(file, 'id', 'a folder-safe id (letters, digits, - and _)');
  return {
    format: typeof o.format === 'number' ? o.format : META_FORMAT,
    id,
    name: str(o, 'name', file),
    tags: tags as string[],
    notes: str(o, 'notes', file, ''),
    base,
    method: str(o, 'method', file, 'lora'),
    r: num(o, 'r', file),
    alpha: num(o, 'alpha', file),
    targets: targets as string[],
    rslora: o.rslora === true,
    dataset,
    hyperparameters,
    metrics,
    lossCurve: lossCurve as LossPoint[],
    created: str(o, 'created', file, new Date(0).toISOString()),
    source: str(o, 'source', file, ''),
    ...(o.remote !== undefined && o.remote !== null ? { remote: parseRemote(o.remote, file) } : {}),
  };
}

function parseRemote(raw: unknown, file: string): RemoteTraining {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(file, 'remote', 'an object');
  const r = raw as Record<string, unknown>;
  const devices = r.devices ?? [];
  if (!Array.isArray(devices) || devices.some((d) => typeof d !== 'string')) fail(file, 'remote.devices', 'a list of strings');
  const software: Record<string, string> = {};
  if (typeof r.software === 'object' && r.software !== null)
    for (const [k, v] of Object.entries(r.software)) if (typeof v === 'string') software[k] = v;
  return {
    host: str(r, 'host', file),
    distributed: str(r, 'distributed', file, ''),
    processes: typeof r.processes === 'number' ? r.processes : 1,
    devices: devices as string[],
    precision: str(r, 'precision', file, ''),
    launcher: str(r, 'launcher', file, ''),
    job: str(r, 'job', file, ''),
    software,
    ...(typeof r.durationSec === 'number' ? { durationSec: r.durationSec } : {}),
  };
}

export function isValidId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(id);
}

/** A readable, collision-resistant folder name: the name's slug plus random hex. */
export function makeId(name: string, random: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase()
    .slice(0, 40);
  return slug ? `${slug}-${random}` : `adapter-${random}`;
}
