import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdapterLibrary } from '../../src-main/store/library.js';
import { importAdapter } from '../../src-main/store/import.js';
import { exportPeftFolder, exportPeftZip } from '../../src-main/store/export.js';
import { listTrash, moveToTrash, restoreFromTrash, emptyTrash } from '../../src-main/store/trash.js';
import { SafetensorsFile } from '../../src-main/engine/io/safetensors.js';

const FIX = path.resolve(__dirname, '../../../shared/fixtures/hf-reference');
const LLAMA_ADAPTER = path.join(FIX, 'llama/adapter');

let root: string;
let lib: AdapterLibrary;
beforeEach(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'graft-lib-'));
  lib = await AdapterLibrary.open(path.join(root, 'lib'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('adapter library', () => {
  it('round-trips the llama fixture adapter through import and PEFT export byte for byte (acceptance 1)', async () => {
    const entry = await importAdapter(lib, LLAMA_ADAPTER, { name: 'llama-fixture' });
    expect(entry.meta).toMatchObject({ name: 'llama-fixture', r: 4, alpha: 8, rslora: false });
    expect(entry.meta.targets).toEqual(['q', 'k', 'v', 'o', 'gate', 'up', 'down']);
    const out = path.join(root, 'out');
    await exportPeftFolder(entry, out);
    const original = readFileSync(path.join(LLAMA_ADAPTER, 'adapter_model.safetensors'));
    const exported = readFileSync(path.join(out, 'adapter_model.safetensors'));
    expect(Buffer.compare(original, exported)).toBe(0);
    // every tensor's stored bytes identical, checked tensor by tensor too
    const a = SafetensorsFile.open(path.join(LLAMA_ADAPTER, 'adapter_model.safetensors'));
    const b = SafetensorsFile.open(path.join(out, 'adapter_model.safetensors'));
    expect(b.names().sort()).toEqual(a.names().sort());
    for (const n of a.names()) expect(Buffer.compare(a.readRaw(n), b.readRaw(n))).toBe(0);
    a.close();
    b.close();
    const cfgA = JSON.parse(readFileSync(path.join(LLAMA_ADAPTER, 'adapter_config.json'), 'utf8'));
    const cfgB = JSON.parse(readFileSync(path.join(out, 'adapter_config.json'), 'utf8'));
    expect([cfgB.r, cfgB.lora_alpha, [...cfgB.target_modules].sort()]).toEqual([cfgA.r, cfgA.lora_alpha, [...cfgA.target_modules].sort()]);
  });

  it('exports a zip that imports back with the same bytes and metadata', async () => {
    const entry = await importAdapter(lib, LLAMA_ADAPTER, { name: 'zipped', tags: ['x'] });
    await lib.setNotes(entry.meta.id, 'made for tests');
    const zip = path.join(root, 'a.zip');
    await exportPeftZip(await lib.get('zipped'), zip);
    const back = await importAdapter(lib, zip);
    expect(back.meta.name).toBe('zipped 2'); // the name travels in graft.json and is made unique
    expect(back.meta.notes).toBe('made for tests');
    expect(back.meta.tags).toEqual(['x']);
    expect(Buffer.compare(readFileSync(path.join(back.dir, 'adapter_model.safetensors')), readFileSync(path.join(LLAMA_ADAPTER, 'adapter_model.safetensors')))).toBe(0);
  });

  it('imports a bare adapter_model.safetensors with its config beside it', async () => {
    const e = await importAdapter(lib, path.join(LLAMA_ADAPTER, 'adapter_model.safetensors'));
    expect(e.meta.name).toBe('adapter');
    expect(existsSync(path.join(e.dir, 'adapter_config.json'))).toBe(true);
  });

  it('renames, tags, notes, duplicates, searches and sorts', async () => {
    const a = await importAdapter(lib, LLAMA_ADAPTER, { name: 'Alpha' });
    await importAdapter(lib, path.join(FIX, 'qwen2/adapter'), { name: 'beta' });
    await lib.rename('alpha', 'Gamma');
    await expect(lib.rename('Gamma', 'BETA')).rejects.toThrow(/already exists/);
    await lib.setTags(a.meta.id, ['poetry', 'v1', 'poetry']);
    await lib.setNotes('gamma', 'trained on verses');
    const dup = await lib.duplicate('Gamma');
    expect(dup.meta.name).toBe('Gamma copy');
    expect(dup.meta.id).not.toBe(a.meta.id);
    expect(dup.meta.tags).toEqual(['poetry', 'v1']);
    expect((await lib.list({ query: 'verses' })).entries.map((e) => e.meta.name)).toEqual(['Gamma', 'Gamma copy']);
    expect((await lib.list({ tags: ['POETRY'] })).entries).toHaveLength(2);
    expect((await lib.list({ query: 'beta' })).entries.map((e) => e.meta.name)).toEqual(['beta']);
    expect((await lib.list({ sort: 'name', descending: true })).entries.map((e) => e.meta.name)).toEqual(['Gamma copy', 'Gamma', 'beta']);
    expect((await lib.list({ sort: 'created' })).entries[0].meta.name).toBe('Gamma');
    // the edit reached the disk, not only the returned object
    const reread = await (await AdapterLibrary.open(lib.root)).get(a.meta.id);
    expect(reread.meta).toMatchObject({ name: 'Gamma', notes: 'trained on verses', tags: ['poetry', 'v1'] });
  });

  it('deletes to a trash and undoes, renaming on a clash', async () => {
    const a = await importAdapter(lib, LLAMA_ADAPTER, { name: 'keep' });
    await moveToTrash(lib, 'keep');
    expect((await lib.list()).entries).toHaveLength(0);
    expect((await listTrash(lib)).entries.map((e) => e.meta.id)).toEqual([a.meta.id]);
    await importAdapter(lib, LLAMA_ADAPTER, { name: 'keep' });
    const back = await restoreFromTrash(lib);
    expect(back.meta).toMatchObject({ id: a.meta.id, name: 'keep 2' });
    expect((await lib.list()).entries.map((e) => e.meta.name).sort()).toEqual(['keep', 'keep 2']);
    expect(readdirSync(back.dir)).not.toContain('.deleted.json');
    await moveToTrash(lib, 'keep 2');
    expect(await emptyTrash(lib)).toBe(1);
    await expect(restoreFromTrash(lib)).rejects.toThrow(/trash is empty/);
  });

  it('loses only the damaged entry when one graft.json is corrupt, and says which', async () => {
    const a = await importAdapter(lib, LLAMA_ADAPTER, { name: 'good' });
    const b = await importAdapter(lib, LLAMA_ADAPTER, { name: 'bad' });
    writeFileSync(path.join(b.dir, 'graft.json'), '{"id": "trunc');
    const { entries, problems } = await lib.list();
    expect(entries.map((e) => e.meta.id)).toEqual([a.meta.id]);
    expect(problems).toHaveLength(1);
    expect(problems[0].dir).toBe(b.dir);
    expect(problems[0].message).toMatch(/graft\.json: not valid JSON/);
  });

  it('gives concurrent imports from two library handles distinct names', async () => {
    const other = await AdapterLibrary.open(lib.root);
    const all = await Promise.all([0, 1, 2, 3].map((i) => importAdapter(i % 2 ? lib : other, LLAMA_ADAPTER, { name: 'same' })));
    expect(new Set(all.map((e) => e.meta.name)).size).toBe(4);
    expect((await lib.list()).entries).toHaveLength(4);
  });

  it('refuses an adapter folder holding only a pickle', async () => {
    const dir = path.join(root, 'pickled');
    rmSync(dir, { recursive: true, force: true });
    await import('node:fs/promises').then((f) => f.mkdir(dir));
    writeFileSync(path.join(dir, 'adapter_config.json'), readFileSync(path.join(LLAMA_ADAPTER, 'adapter_config.json')));
    writeFileSync(path.join(dir, 'adapter_model.bin'), 'not really a pickle');
    await expect(importAdapter(lib, dir)).rejects.toThrow(/pickle/);
    expect((await lib.list()).entries).toHaveLength(0);
    expect(readdirSync(lib.stagingDir)).toHaveLength(0);
  });
});
