/** The stores of the Models, Datasets and Train screens: atomic JSON files in the user data folder. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataDir, JsonStore } from '../../src-main/services/json-store';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'graft-store-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('JsonStore', () => {
  it('starts from the defaults, writes whole files and leaves no temp files behind', () => {
    const store = JsonStore.in(tmp, 'a.json', () => ({ items: [] as number[], flag: false }));
    expect(store.get()).toEqual({ items: [], flag: false });
    store.update((d) => d.items.push(1));
    store.update((d) => {
      d.items.push(2);
      d.flag = true;
    });
    expect(JSON.parse(readFileSync(path.join(tmp, 'a.json'), 'utf8'))).toEqual({ items: [1, 2], flag: true });
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp'))).toEqual([]);
    // A fresh store reads what the first wrote; keys added to the defaults later get their default.
    expect(JsonStore.in(tmp, 'a.json', () => ({ items: [] as number[], flag: false, added: 'x' })).get()).toEqual({ items: [1, 2], flag: true, added: 'x' });
  });

  it('a failed change leaves the file and the value as they were', () => {
    const store = JsonStore.in(tmp, 'b.json', () => ({ n: 0 }));
    store.update((d) => (d.n = 1));
    expect(() =>
      store.update((d) => {
        d.n = 2;
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.get()).toEqual({ n: 1 });
    expect(JSON.parse(readFileSync(path.join(tmp, 'b.json'), 'utf8'))).toEqual({ n: 1 });
  });

  it('names the file when it is not valid JSON', () => {
    const file = path.join(tmp, 'c.json');
    writeFileSync(file, '{"models": [');
    expect(() => JsonStore.in(tmp, 'c.json', () => ({})).get()).toThrow(expect.objectContaining({ code: 'BAD_FILE', file, message: expect.stringContaining(`${file}: not valid JSON`) }));
    writeFileSync(file, '[1, 2]');
    expect(() => JsonStore.in(tmp, 'c.json', () => ({})).get()).toThrow(/not a JSON object/);
  });

  it('puts the data in GRAFT_DATA_DIR when set, else the user data folder', () => {
    expect(dataDir({ GRAFT_DATA_DIR: '/x/y' })).toBe('/x/y');
    expect(dataDir({ XDG_CONFIG_HOME: '/cfg' })).toBe(process.platform === 'linux' ? '/cfg/graft' : dataDir({}));
  });
});
