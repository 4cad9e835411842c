/** Store errors the GUI shows name the option by its field key, so the GUI words it by its label (issue 18 item 8). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraftError } from '../../src-main/engine/errors.js';
import { wordError } from '../../src-main/ipc/train.js';
import { exportAdapter, importChecked } from '../../src-main/store/adapter-ops.js';
import { AdapterLibrary } from '../../src-main/store/library.js';
import { fieldLabel } from '../../src-renderer/lib/field-label.js';

const FIX = path.resolve(__dirname, '../../../shared/fixtures/hf-reference');

let root: string;
let lib: AdapterLibrary;
beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'graft-words-'));
  lib = await AdapterLibrary.open(path.join(root, 'lib'));
  await importChecked(lib, path.join(FIX, 'llama/adapter'), { name: 'nobase' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('GUI words for store errors', () => {
  it('a merged export without a base names the "Base model" field, not the --base flag', async () => {
    const err = await exportAdapter(lib, 'nobase', { format: 'merged', out: path.join(root, 'm') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraftError);
    expect(err).toMatchObject({ code: 'BAD_INPUT', field: 'base' });
    expect((err as GraftError).where).toBeUndefined();
    const worded = wordError(err as GraftError, fieldLabel);
    expect(worded).toBe('"Base model" is needed for a merged export: adapter nobase records no base');
    expect(worded).not.toMatch(/--\w/);
  });
});
