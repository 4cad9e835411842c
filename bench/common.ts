/** Shared by the benchmarks: where results go, what machine and commit they describe, cached bench models. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HfConfig } from '../src-main/engine/io/hf-config.js';
import { writeRandomModel } from '../src-main/engine/models/random-model.js';

// GRAFT_ROOT / GRAFT_SHARED let the bundled benchmark run on the GPU machine, where files are elsewhere.
export const ROOT = process.env.GRAFT_ROOT ?? path.resolve(import.meta.dirname, '..');
export const SHARED = process.env.GRAFT_SHARED ?? path.resolve(ROOT, '../shared');
export const STORIES = path.join(SHARED, 'models/stories260K/stories260K.gguf');

export function commit(): string {
  // Set on the GPU machine, whose copy of the tree may carry a stale .git.
  if (process.env.GRAFT_COMMIT) return process.env.GRAFT_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return process.env.GRAFT_COMMIT ?? 'unknown';
  }
}

export function machine() {
  return { cpu: os.cpus()[0]?.model?.trim(), threads: os.cpus().length, memory_gib: +(os.totalmem() / 2 ** 30).toFixed(1), platform: `${process.platform}-${process.arch}`, node: process.version };
}

/**
 * A random-init model of `cfg`'s shapes, written once per cache folder (models are data, not code). BENCH_DTYPE=BF16 writes it in bf16,
 * as real checkpoints ship (half the bytes to read at a first start), in its own folder.
 */
export async function benchModel(name: string, cfg: HfConfig): Promise<string> {
  const bf16 = process.env.BENCH_DTYPE === 'BF16';
  const dir = path.join(process.env.GRAFT_BENCH_CACHE ?? path.join(ROOT, '.cache', 'bench-models'), bf16 ? `${name}-bf16` : name);
  if (!existsSync(path.join(dir, 'model.safetensors'))) await writeRandomModel(dir, cfg, { seed: 1, dtype: bf16 ? 'BF16' : 'F32' });
  return dir;
}

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

export function writeResult(name: string, result: object): string {
  const dir = process.env.GRAFT_BENCH_OUT ?? path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(result, null, 1) + '\n');
  return file;
}
