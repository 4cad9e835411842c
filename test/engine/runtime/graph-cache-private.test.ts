import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureCachedFile, graphCacheDir } from '../../../src-main/engine/runtime/graph-cache.js';

const saved = { cache: process.env.GRAFT_GRAPH_CACHE, xdg: process.env.XDG_CACHE_HOME };
afterEach(() => {
  for (const [k, v] of [['GRAFT_GRAPH_CACHE', saved.cache], ['XDG_CACHE_HOME', saved.xdg]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('graph cache (issue 15 item 4)', () => {
  it.skipIf(process.platform !== 'linux')("lives in the user's own cache folder, created private (0700)", () => {
    delete process.env.GRAFT_GRAPH_CACHE;
    const xdg = mkdtempSync(path.join(os.tmpdir(), 'graft-xdg-'));
    process.env.XDG_CACHE_HOME = xdg;
    const dir = graphCacheDir();
    expect(dir).toBe(path.join(xdg, 'graft', 'graph-cache'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it.skipIf(process.platform === 'win32')('refuses a cache folder that others can write', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-shared-cache-'));
    chmodSync(dir, 0o777);
    process.env.GRAFT_GRAPH_CACHE = dir;
    expect(() => graphCacheDir()).toThrow(expect.objectContaining({ code: 'IO', message: expect.stringContaining(dir) }));
  });

  it('rewrites a cached file of the right size whose bytes differ (never trusted by size)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-cache-'));
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'w-abc.bin');
    const want = Uint8Array.from({ length: 4096 }, (_, i) => i % 251);
    const swapped = Uint8Array.from(want);
    swapped[1000] ^= 0xff;
    writeFileSync(file, swapped);
    await ensureCachedFile(file, want);
    expect(Buffer.compare(readFileSync(file), Buffer.from(want))).toBe(0);
  });
});
