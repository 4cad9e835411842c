import { mkdtempSync, openSync, readdirSync, statSync, writeSync, closeSync, truncateSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../src-main/engine/model.js';
import { loadQuantizedBase, quantizeSource, type QuantScheme } from '../../../src-main/engine/quant/index.js';

const STORIES = path.resolve('../shared/models/stories260K/stories260K.gguf');

/** Canonical text of a store: keys sorted, typed arrays as plain arrays. */
const canon = (m: ReadonlyMap<string, unknown>) =>
  [...m]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([k, v]) =>
        k +
        JSON.stringify(
          Object.entries(v as object).sort(([a], [b]) => a.localeCompare(b)),
          (_, x) => (ArrayBuffer.isView(x) ? Array.from(x as Uint8Array) : x),
        ),
    );
const sameStore = (a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>) => expect(canon(b)).toEqual(canon(a));

describe.each(['nf4', 'int4', 'int4s'] as QuantScheme[])('quantized-base cache (%s)', (scheme) => {
  it('second load comes from the cache; a corrupt or truncated entry is detected and rebuilt', async () => {
    const { source } = await loadModel(STORIES);
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'graft-qcache-'));
    const fresh = quantizeSource(source, scheme);
    const reasons: string[] = [];
    const onRebuild = (r: string) => reasons.push(r);

    const first = await loadQuantizedBase(source, scheme, { cacheDir, onRebuild });
    expect(first.fromCache).toBe(false);
    expect(readdirSync(cacheDir)).toEqual([path.basename(first.file!)]);
    const second = await loadQuantizedBase(source, scheme, { cacheDir, onRebuild });
    expect(second.fromCache).toBe(true);
    sameStore(fresh, second.store);

    // Flip one payload byte near the end: the checksum must catch it.
    const fd = openSync(first.file!, 'r+');
    writeSync(fd, Buffer.from([0x5a]), 0, 1, statSync(first.file!).size - 7);
    closeSync(fd);
    const third = await loadQuantizedBase(source, scheme, { cacheDir, onRebuild });
    expect(third.fromCache).toBe(false);
    expect(reasons.at(-1)).toMatch(/checksum mismatch/);
    sameStore(fresh, third.store);
    expect((await loadQuantizedBase(source, scheme, { cacheDir, onRebuild })).fromCache).toBe(true);

    truncateSync(first.file!, 100);
    const fourth = await loadQuantizedBase(source, scheme, { cacheDir, onRebuild });
    expect(fourth.fromCache).toBe(false);
    expect(reasons.at(-1)).toMatch(/truncated|payload is/);
    expect(reasons).toHaveLength(2);

    // A cache folder that cannot be made (here: under a file) costs a warning, not the run.
    const blocked = await loadQuantizedBase(source, scheme, { cacheDir: path.join(first.file!, 'sub'), onRebuild });
    expect(blocked.file).toBeNull();
    expect(reasons.at(-1)).toMatch(/could not be written/);
    sameStore(fresh, blocked.store);
    reasons.pop();

    // Another base hash never reads this entry.
    const other = await loadQuantizedBase(source, scheme, { cacheDir, baseHash: 'f'.repeat(64) });
    expect(other.fromCache).toBe(false);
    expect(other.file).not.toBe(first.file);
    source.close();
  });
});

describe('quantized-base cache with 8-bit embeddings', () => {
  it('is a separate entry that round-trips the int8 tables beside the NF4 projections', async () => {
    const { source } = await loadModel(STORIES);
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'graft-qcache-e8-'));
    const plain = await loadQuantizedBase(source, 'nf4', { cacheDir });
    const first = await loadQuantizedBase(source, 'nf4', { cacheDir, embeddings: 'int8' });
    expect(first.fromCache).toBe(false);
    expect(first.file).not.toBe(plain.file);
    expect(first.store.get('model.embed_tokens.weight')?.scheme).toBe('int8');
    expect(plain.store.has('model.embed_tokens.weight')).toBe(false);
    const second = await loadQuantizedBase(source, 'nf4', { cacheDir, embeddings: 'int8' });
    expect(second.fromCache).toBe(true);
    sameStore(first.store, second.store);
    source.close();
  });
});
