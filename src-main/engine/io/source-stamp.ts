/**
 * A cheap identity of a model's files (path, size and modification time of each file its weights and
 * config come from), so a graph built from them can be found again without reading or hashing gigabytes:
 * any change to a file changes the stamp.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { WeightSource } from './model-source.js';

export function sourceStamp(source: WeightSource): string {
  const files: string[] = [];
  const st = statSync(source.path);
  if (st.isDirectory()) {
    for (const f of readdirSync(source.path).sort()) if (f.endsWith('.safetensors') || f.endsWith('.json')) files.push(path.join(source.path, f));
  } else files.push(source.path);
  return files.map(fileStamp).join(';');
}

/** One file's identity: its path, size and modification time. */
export function fileStamp(file: string): string {
  const s = statSync(file);
  return `${path.resolve(file)}:${s.size}:${Math.round(s.mtimeMs)}`;
}
