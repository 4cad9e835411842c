import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportAdapter, importChecked } from '../../src-main/store/adapter-ops.js';
import { AdapterLibrary } from '../../src-main/store/library.js';

const FIX = path.resolve(__dirname, '../../../shared/fixtures/hf-reference');

let root: string;
let lib: AdapterLibrary;
beforeEach(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'graft-noover-'));
  lib = await AdapterLibrary.open(path.join(root, 'lib'));
  await importChecked(lib, path.join(FIX, 'llama/adapter'), { name: 'll', basePath: path.join(FIX, 'llama/model') });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('exports never overwrite (issue 15 item 7)', () => {
  it('a GGUF export refuses when the Modelfile beside it exists, before writing anything', async () => {
    const modelfile = path.join(root, 'out.Modelfile');
    writeFileSync(modelfile, 'mine\n');
    await expect(exportAdapter(lib, 'll', { format: 'gguf', out: path.join(root, 'out.gguf') })).rejects.toThrow(`${modelfile} already exists`);
    expect(readFileSync(modelfile, 'utf8')).toBe('mine\n');
    expect(existsSync(path.join(root, 'out.gguf'))).toBe(false);
  });

  it('writes both files when neither exists', async () => {
    const r = await exportAdapter(lib, 'll', { format: 'gguf', out: path.join(root, 'ok.gguf') });
    expect(r.extra).toEqual([path.join(root, 'ok.Modelfile')]);
    expect(readFileSync(r.extra[0], 'utf8')).toContain('ADAPTER ./ok.gguf');
  });
});
