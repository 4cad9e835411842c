import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../src-main');
function* files(dir: string): Generator<string> {
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|mts|js)$/.test(f)) yield p;
  }
}
const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2] ?? m[3]);

it('engine/ never imports electron (it must run in plain Node: CLI, worker, tests)', () => {
  const offenders = [...files(path.join(root, 'engine'))].filter((f) => importsOf(f).some((s) => s === 'electron' || s.startsWith('electron/')));
  expect(offenders).toEqual([]);
});

it('only engine/runtime/ imports onnxruntime-node', () => {
  const offenders = [...files(root)].filter((f) => !f.startsWith(path.join(root, 'engine', 'runtime') + path.sep) && importsOf(f).some((s) => s.startsWith('onnxruntime')));
  expect(offenders).toEqual([]);
});

it('the import scanner sees real imports (guards the two tests above against matching nothing)', () => {
  const runtime = [...files(path.join(root, 'engine', 'runtime'))].flatMap(importsOf);
  expect(runtime).toContain('onnxruntime-node');
});
