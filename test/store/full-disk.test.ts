/**
 * Issue 15, item 9: ENOSPC messages name the folder that needs room. An export onto a full disk (every format,
 * and a job bundle) fails as an IO error naming the folder the user chose, leaves nothing behind there (no temp file or folder, no half a Modelfile, no GGUF without
 * its Modelfile), and writes nowhere else (never the shared system temp folder). An import into a library on a full disk
 * names the library (not the user's file or the staging copy); a checkpoint names its checkpoints folder.
 *
 * The disk is made full for one folder only: every write into it fails with ENOSPC after the file was created
 * (as a real full disk does), through each primitive the exporters use (openSync + writeSync, copyFile,
 * writeFile); the library and the base model elsewhere stay writable.
 */
import { type WriteFileOptions, mkdirSync, writeFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const FULL = path.join(os.tmpdir(), `graft-full-disk-${process.pid}`);
/** Which writers find the disk full: all of them, or only writeFile (the Modelfile after its GGUF). */
const disk = vi.hoisted(() => ({ fullFor: 'all' as 'all' | 'writeFile', tracking: false, writes: [] as string[] }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const inFull = (p: unknown) => typeof p === 'string' && path.resolve(p).startsWith(FULL + path.sep);
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  const fullFds = new Set<number>();
  /** Every path the code under test creates or writes, while tracking: an export must write nowhere else. */
  const wrote = (p: unknown) => {
    if (disk.tracking) disk.writes.push(path.resolve(String(p)));
  };
  const writing = (flags: unknown) => flags !== undefined && flags !== 'r' && flags !== fs.constants.O_RDONLY;
  const track = <F extends (...a: never[]) => unknown>(f: F, at = 0) => ((...a: Parameters<F>) => (wrote(a[at]), f(...a))) as unknown as F;
  const openSync = ((p: string, ...rest: unknown[]) => {
    if (writing(rest[0])) wrote(p);
    const fd = (fs.openSync as (...a: unknown[]) => number)(p, ...rest);
    if (inFull(p) && disk.fullFor === 'all') fullFds.add(fd);
    return fd;
  }) as typeof fs.openSync;
  const closeSync = ((fd: number) => {
    fullFds.delete(fd);
    fs.closeSync(fd);
  }) as typeof fs.closeSync;
  const writeSync = ((fd: number, ...rest: unknown[]) => {
    if (fullFds.has(fd)) throw enospc();
    return (fs.writeSync as (...a: unknown[]) => number)(fd, ...rest);
  }) as typeof fs.writeSync;
  const promises = {
    ...fs.promises,
    open: (async (p: string, flags?: string | number, mode?: number) => {
      if (writing(flags)) wrote(p);
      return fs.promises.open(p, flags, mode);
    }) as typeof fs.promises.open,
    mkdir: track(fs.promises.mkdir),
    mkdtemp: track(fs.promises.mkdtemp),
    rename: track(fs.promises.rename, 1),
    copyFile: async (from: string, to: string, mode?: number) => {
      wrote(to);
      if (!inFull(to) || disk.fullFor !== 'all') return fs.promises.copyFile(from, to, mode);
      await fs.promises.writeFile(to, '');
      throw enospc();
    },
    writeFile: async (file: string, data: string | Uint8Array, opts?: WriteFileOptions) => {
      wrote(file);
      if (!inFull(file)) return fs.promises.writeFile(file, data, opts);
      await fs.promises.writeFile(file, '', opts);
      throw enospc();
    },
  };
  const mod = {
    ...fs,
    openSync,
    closeSync,
    writeSync,
    promises,
    mkdirSync: track(fs.mkdirSync),
    mkdtempSync: track(fs.mkdtempSync),
    writeFileSync: track(fs.writeFileSync),
    copyFileSync: track(fs.copyFileSync, 1),
    renameSync: track(fs.renameSync, 1),
  };
  return { ...mod, default: mod };
});

const { exportAdapter, importChecked } = await import('../../src-main/store/adapter-ops.js');
const { AdapterLibrary } = await import('../../src-main/store/library.js');
const { exportJobBundle } = await import('../../src-main/engine/job/export-bundle.js');
const { parseTrainOptions } = await import('../../src-main/engine/options/train.js');
const { saveCheckpoint } = await import('../../src-main/engine/train/checkpoint.js');

const FIX = path.resolve(__dirname, '../../../shared/fixtures/hf-reference/llama');
const STORIES = path.resolve(__dirname, '../../../shared/models/stories260K/stories260K.gguf');
let root: string;
let lib: Awaited<ReturnType<typeof AdapterLibrary.open>>;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'graft-export-full-'));
  mkdirSync(FULL);
  lib = await AdapterLibrary.open(path.join(root, 'lib'));
  await importChecked(lib, path.join(FIX, 'adapter'), { name: 'll', basePath: path.join(FIX, 'model') });
  writeFileSync(path.join(root, 'd.jsonl'), Array.from({ length: 8 }, (_, i) => JSON.stringify({ text: `row ${i} of a tiny dataset` })).join('\n') + '\n');
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(FULL, { recursive: true, force: true });
});

async function refusedForSpace(p: Promise<unknown>): Promise<void> {
  const err = (await p.then(
    () => null,
    (e: unknown) => e,
  )) as { code?: string; message?: string } | null;
  expect(err, 'the export succeeded on a full disk').not.toBeNull();
  expect(err!.code).toBe('IO');
  // The folder the user chose, then what failed: never a temp name.
  expect(err!.message).toMatch(new RegExp(`^${FULL.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no space left on the disk`));
  expect(err!.message).not.toMatch(/\.tmp-\d+/);
  expect(readdirSync(FULL), 'left behind in the destination folder').toEqual([]);
}

describe('exports onto a full disk', () => {
  beforeAll(() => {
    disk.tracking = true;
  });
  afterAll(() => {
    disk.tracking = false;
  });

  for (const [format, name] of [['peft', 'a'], ['peft-zip', 'a.zip'], ['gguf', 'a.gguf'], ['merged', 'm']] as const) {
    it(`${format}: an IO error naming the folder, nothing left there`, async () => {
      await refusedForSpace(exportAdapter(lib, 'll', { format, out: path.join(FULL, name), base: path.join(FIX, 'model') }));
    });
  }

  it('gguf: when only the Modelfile does not fit, the GGUF written before it is removed too', async () => {
    disk.fullFor = 'writeFile';
    try {
      await refusedForSpace(exportAdapter(lib, 'll', { format: 'gguf', out: path.join(FULL, 'b.gguf'), base: path.join(FIX, 'model') }));
    } finally {
      disk.fullFor = 'all';
    }
  });

  it('a job bundle: an IO error naming the folder, nothing left there', async () => {
    const data = path.join(root, 'd.jsonl');
    const options = parseTrainOptions({ steps: 2, batch: 1, seqLen: 16 });
    await refusedForSpace(exportJobBundle({ model: STORIES, data, out: path.join(FULL, 'bundle'), options }, path.join(FULL, 'bundle')));
  });

  it('wrote nowhere but the destination folder (never the shared temp folder, never beside the library)', () => {
    expect(disk.writes.length).toBeGreaterThan(10);
    // (mkdir of the destination folder itself, recursive, is no write elsewhere)
    expect(disk.writes.filter((p) => p !== FULL && !p.startsWith(FULL + path.sep))).toEqual([]);
  });
});

describe('an import into a library on a full disk', () => {
  it('names the library folder that needs room, not the staging copy nor the user file', async () => {
    disk.fullFor = 'writeFile';
    const full = await AdapterLibrary.open(path.join(FULL, 'lib'));
    disk.fullFor = 'all';
    const err = (await importChecked(full, path.join(FIX, 'adapter'), { name: 'x' }).then(
      () => null,
      (e: unknown) => e,
    )) as { code?: string; message?: string } | null;
    expect(err?.code).toBe('IO');
    expect(err?.message).toMatch(new RegExp(`^${path.join(FULL, 'lib').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no space left on the disk while writing adapter_config.json`));
    expect(readdirSync(path.join(FULL, 'lib', '.staging'))).toEqual([]);
  });
});

describe('a checkpoint on a full disk', () => {
  it('names the checkpoints folder that needs room and leaves no temp folder there', () => {
    const ck = path.join(FULL, 'checkpoints');
    const t = { shape: [2], data: new Float32Array(2) };
    const state = { lora: new Map([['a', t]]), m: new Map([['a', t]]), v: new Map([['a', t]]) };
    const meta = { version: 1 as const, step: 3, data: { epoch: 0, index: 0 } as never, rng: { seed: 1, epoch: 0 }, tokensSeen: 0, elapsedMs: 0, history: [], run: {} };
    expect(() => saveCheckpoint(ck, state, meta)).toThrow(expect.objectContaining({ code: 'IO', message: expect.stringMatching(/^.*graft-full-disk-\d+\/checkpoints: no space left on the disk while writing step-000003/) }));
    expect(readdirSync(ck)).toEqual([]);
  });
});
