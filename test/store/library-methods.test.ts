/** The library holds the adapter family's folders (issue 16): DoRA, IA³, prefix, bottleneck (Graft's layout and AdapterHub's). */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bottleneckMethod, BOTTLENECK_DEFAULTS } from '../../src-main/engine/adapters/bottleneck.js';
import { exportMethod } from '../../src-main/engine/adapters/method-export.js';
import { readMethodFolder, writeMethodFolder } from '../../src-main/engine/adapters/method-folder.js';
import type { MethodAdapter } from '../../src-main/engine/adapters/method.js';
import { prefixMethod } from '../../src-main/engine/adapters/prefix.js';
import { loadModel, type LoadedModel } from '../../src-main/engine/model.js';
import { importChecked } from '../../src-main/store/adapter-ops.js';
import { importAdapter } from '../../src-main/store/import.js';
import { AdapterLibrary } from '../../src-main/store/library.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MODEL = path.resolve(ROOT, '../shared/models/stories260K/stories260K.gguf');
const PEFT = path.resolve(ROOT, '../shared/fixtures/peft-methods');
const have = existsSync(MODEL);

let tmp: string;
let model: LoadedModel;
const dirs: Record<string, string> = {};
beforeAll(async () => {
  if (!have) return;
  tmp = mkdtempSync(path.join(tmpdir(), 'graft-lib-methods-'));
  model = await loadModel(MODEL);
  const moved = (m: MethodAdapter) => new Map([...m.init(model.source, 1)].map(([k, v]) => [k, v.map((x, i) => x + 0.01 * ((i % 7) - 3))]));
  const make: [string, MethodAdapter][] = [
    ['houlsby', bottleneckMethod(model.spec, { kind: 'houlsby', name: 'graft', ...BOTTLENECK_DEFAULTS.houlsby })],
    ['prefix', prefixMethod(model.spec, { virtualTokens: 4 })],
  ];
  for (const [name, m] of make) {
    dirs[name] = path.join(tmp, name);
    writeMethodFolder(dirs[name], m, moved(m));
  }
  // the same Houlsby adapter in AdapterHub's saved layout
  dirs.hub = path.join(tmp, 'hub');
  await exportMethod(model.source, readMethodFolder(dirs.houlsby, model.spec), { format: 'adapterhub', loraRank: null }, dirs.hub);
});
afterAll(() => {
  model?.source.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!have)('the library holds non-LoRA adapters (stories260K missing: skipped)', () => {
  it('imports a Houlsby and a prefix folder against the base, keeping their bytes and naming the method', async () => {
    const lib = await AdapterLibrary.open(path.join(tmp, 'lib1'));
    const h = await importChecked(lib, dirs.houlsby, { name: 'h', basePath: MODEL });
    const p = await importChecked(lib, dirs.prefix, { name: 'p', basePath: MODEL });
    expect(h.meta.method).toBe('houlsby');
    expect(p.meta.method).toBe('prefix');
    expect(h.meta.base?.arch).toBeTruthy();
    for (const [e, src] of [[h, dirs.houlsby], [p, dirs.prefix]] as const)
      expect(Buffer.compare(readFileSync(path.join(e.dir, 'adapter_model.safetensors')), readFileSync(path.join(src, 'adapter_model.safetensors')))).toBe(0);
    expect((await lib.list()).entries.map((e) => e.meta.method).sort()).toEqual(['houlsby', 'prefix']);
    // the stored folder reads back as the method it was
    expect(readMethodFolder(h.dir, model.spec).method.kind).toBe('houlsby');
  });

  it("imports AdapterHub's layout into Graft's with a base, and refuses it without one (naming the field)", async () => {
    const lib = await AdapterLibrary.open(path.join(tmp, 'lib2'));
    await expect(importAdapter(lib, dirs.hub, {})).rejects.toMatchObject({ code: 'BAD_INPUT', field: 'basePath' });
    const e = await importChecked(lib, dirs.hub, { name: 'from-hub', basePath: MODEL });
    expect(e.meta.method).toBe('houlsby');
    const back = readMethodFolder(e.dir, model.spec);
    const orig = readMethodFolder(dirs.houlsby, model.spec);
    for (const [k, v] of orig.tensors) expect(back.tensors.get(k)).toEqual(v);
  });

  it('copies a folder without a base with a warning, and refuses one that does not fit the base', async () => {
    const lib = await AdapterLibrary.open(path.join(tmp, 'lib3'));
    const warnings: string[] = [];
    const e = await importAdapter(lib, dirs.prefix, { onWarning: (w) => warnings.push(w) });
    expect(e.meta.method).toBe('prefix');
    expect(warnings.join()).toMatch(/not checked/);
    // the PEFT fixture's IA³ was made for another model: its shapes do not fit stories260K
    await expect(importChecked(lib, path.join(PEFT, 'ia3-llama/adapter'), { basePath: MODEL })).rejects.toMatchObject({ code: expect.stringMatching(/INCOMPATIBLE|BAD_FILE/) });
    expect((await lib.list()).entries).toHaveLength(1);
  });
});
