/**
 * The layer rules of docs/architecture.md, checked on every import of the source (static, re-export and
 * dynamic): a rule broken by a new import fails here, naming the file and the import. The checker itself is
 * shown to catch a planted forbidden import.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const root = path.join(repo, 'src-main');
const engine = path.join(root, 'engine');

function* files(dir: string): Generator<string> {
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|mts|js|svelte)$/.test(f)) yield p;
  }
}
const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2] ?? m[3]);

/** file -> its imports, relative ones resolved to absolute paths (without extension). */
type ImportMap = Map<string, string[]>;
function importMap(dirs: string[]): ImportMap {
  const map: ImportMap = new Map();
  for (const d of dirs) for (const f of files(d)) map.set(f, importsOf(f).map((s) => (s.startsWith('.') ? path.resolve(path.dirname(f), s).replace(/\.(js|ts)$/, '') : s)));
  return map;
}

const inside = (p: string, dir: string) => p === dir || p.startsWith(dir + path.sep);
/** The engine folder (or root file) a path belongs to: 'train', 'ops', 'errors'. */
const unit = (p: string) => path.relative(engine, p).split(path.sep)[0].replace(/\.(ts|js)$/, '');

/**
 * Folder cycles that remain, each with why and what removes it. Anything else is a failure.
 * - adapters <-> models (and engine/model.ts, whose loadModel joins a source to its spec and which adapters
 *   use): the decoder takes the LoRA layout (adapters/lora-config) and adapters/lora builds on the decoder;
 *   the adapter-family work (issue 16) moves the layout below both.
 * - io <-> tokenize: a model source lazily loads its tokenizer (a dynamic import) while tokenize reads GGUF
 *   metadata through io; the hostile-input work on io/ (issue 15) owns that file.
 */
const KNOWN_CYCLES = new Set(['adapters<->models', 'adapters<->model', 'model<->models', 'io<->tokenize']);

/** Every broken rule as "file: import (rule)". */
function violations(map: ImportMap): string[] {
  const out: string[] = [];
  const edges = new Map<string, Set<string>>();
  for (const [file, imports] of map) {
    const rel = path.relative(repo, file);
    for (const s of imports) {
      const bad = (rule: string) => out.push(`${rel}: ${path.isAbsolute(s) ? path.relative(repo, s) : s} (${rule})`);
      if (inside(file, engine)) {
        if (s === 'electron' || s.startsWith('electron/')) bad('the engine runs in plain Node');
        for (const layer of ['ipc', 'store', 'services', 'cli', 'app', 'host']) if (inside(s, path.join(root, layer))) bad(`the engine imports no ${layer}/`);
        if (['ops', 'autodiff'].includes(unit(file)) && ['train', 'infer', 'quant'].includes(unit(s)) && inside(s, engine)) bad('ops and autodiff sit below train, infer and quant');
        if (inside(s, engine) && unit(s) !== unit(file)) edges.set(unit(file), (edges.get(unit(file)) ?? new Set()).add(unit(s)));
      }
      if (inside(file, path.join(root, 'ipc')) && inside(s, path.join(root, 'store'))) bad('ipc/ imports no store/: shared types sit in the engine');
      if (inside(file, path.join(root, 'ipc')) && !inside(file, path.join(root, 'ipc', 'handlers')) && inside(s, path.join(root, 'services'))) bad('only ipc/handlers/ reach the services');
      if (s.startsWith('onnxruntime') && !inside(file, path.join(engine, 'runtime'))) bad('only engine/runtime/ imports onnxruntime-node');
      if (inside(file, path.join(repo, 'src-renderer')) && inside(s, root) && !inside(s, path.join(root, 'ipc'))) bad('the renderer imports only the IPC contract');
    }
  }
  // Folder cycles: a path from a folder back to itself through other engine folders.
  const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
    [...(edges.get(from) ?? [])].some((n) => n === to || (!seen.has(n) && (seen.add(n), reaches(n, to, seen))));
  for (const [a, targets] of edges) {
    for (const b of targets) {
      const pair = [a, b].sort().join('<->');
      if (reaches(b, a) && !KNOWN_CYCLES.has(pair)) out.push(`engine/${a} -> engine/${b} -> ... -> engine/${a} (folder cycle)`);
    }
  }
  return [...new Set(out)];
}

const real = importMap([root, path.join(repo, 'src-renderer')]);

it('the source keeps every layer rule', () => {
  expect(violations(real)).toEqual([]);
});

it('the checker sees real imports (guards the rules against matching nothing)', () => {
  const runtime = [...real].filter(([f]) => inside(f, path.join(engine, 'runtime'))).flatMap(([, i]) => i);
  expect(runtime).toContain('onnxruntime-node');
  expect(real.get(path.join(engine, 'train', 'train-adapter.ts'))).toContain(path.join(engine, 'options', 'train'));
});

it('a planted forbidden import fails the check, naming the file and the rule', () => {
  const planted = (file: string, spec: string) => new Map([...real, [path.join(repo, file), [path.join(repo, spec)]]]);
  expect(violations(planted('src-main/engine/train/planted.ts', 'src-main/ipc/contract'))).toEqual([
    'src-main/engine/train/planted.ts: src-main/ipc/contract (the engine imports no ipc/)',
  ]);
  expect(violations(planted('src-main/engine/ops/planted.ts', 'src-main/engine/train/loss'))).toContain(
    'src-main/engine/ops/planted.ts: src-main/engine/train/loss (ops and autodiff sit below train, infer and quant)',
  );
  expect(violations(planted('src-renderer/lib/planted.ts', 'src-main/engine/options/train'))).toEqual([
    'src-renderer/lib/planted.ts: src-main/engine/options/train (the renderer imports only the IPC contract)',
  ]);
  expect(violations(planted('src-main/ipc/planted.ts', 'src-main/store/adapter-meta'))).toEqual([
    'src-main/ipc/planted.ts: src-main/store/adapter-meta (ipc/ imports no store/: shared types sit in the engine)',
  ]);
  expect(violations(planted('src-main/ipc/planted.ts', 'src-main/services/index'))).toEqual([
    'src-main/ipc/planted.ts: src-main/services/index (only ipc/handlers/ reach the services)',
  ]);
  // data -> train while train imports data: a new folder cycle.
  expect(violations(planted('src-main/engine/data/planted.ts', 'src-main/engine/train/loss'))).toContain('engine/data -> engine/train -> ... -> engine/data (folder cycle)');
});
