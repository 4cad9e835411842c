import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdapterLibrary } from '../../src-main/store/library.js';
import { importAdapter } from '../../src-main/store/import.js';
import { listTrash } from '../../src-main/store/trash.js';

const REPO = path.resolve(__dirname, '../..');
const ADAPTER = path.resolve(REPO, '../shared/fixtures/hf-reference/llama/adapter');
const CHILD = path.join(__dirname, 'helpers/crash-child.ts');
const config = readFileSync(path.join(ADAPTER, 'adapter_config.json'));
const weights = readFileSync(path.join(ADAPTER, 'adapter_model.safetensors'));
const LOCK = { staleMs: 2000, waitMs: 20_000 };

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'graft-crash-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Start a child, let it work for `workMs` after it is ready, then SIGKILL it. */
async function runAndKill(lib: string, mode: string, workMs: number): Promise<void> {
  await Promise.all(await startAll(lib, [mode], workMs));
}

/** Start one child per mode; each resolves once it has been SIGKILLed `workMs` after all are ready. */
async function startAll(lib: string, modes: string[], workMs: number): Promise<Promise<void>[]> {
  const children = await Promise.all(modes.map((m) => start(lib, m)));
  await new Promise((r) => setTimeout(r, workMs));
  return children.map((kill) => kill());
}

async function start(lib: string, mode: string): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, lib, ADAPTER, mode], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal === 'SIGKILL' ? null : _code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', () => reject(new Error(`child exited before ready: ${stderr}`)));
  });
  return async () => {
    child.kill('SIGKILL');
    const code = await exited;
    if (code !== null) throw new Error(`child died on its own (code ${code}): ${stderr}`);
  };
}

/** The library must read cleanly and every adapter in it must be complete. */
async function checkIntact(libRoot: string): Promise<AdapterLibrary> {
  const lib = await AdapterLibrary.open(libRoot, LOCK);
  const { entries, problems } = await lib.list();
  expect(problems).toEqual([]);
  for (const e of entries) {
    expect(Buffer.compare(readFileSync(path.join(e.dir, 'adapter_config.json')), config)).toBe(0);
    expect(Buffer.compare(readFileSync(path.join(e.dir, 'adapter_model.safetensors')), weights)).toBe(0);
    expect(readdirSync(e.dir).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'graft.json']);
  }
  expect(readdirSync(lib.stagingDir)).toEqual([]);
  return lib;
}

describe('crash safety (acceptance 6)', () => {
  for (const mode of ['import', 'rename', 'mixed']) {
    it(`survives SIGKILL at random points during ${mode}`, async () => {
      const libRoot = path.join(root, mode);
      const setup = await AdapterLibrary.open(libRoot, LOCK);
      await importAdapter(setup, ADAPTER, { name: 'target' });
      await importAdapter(setup, ADAPTER, { name: 'victim' });
      let before = 2;
      for (let round = 0; round < 6; round++) {
        await runAndKill(libRoot, mode, Math.floor(Math.random() * 150));
        const lib = await checkIntact(libRoot);
        const { entries } = await lib.list();
        const names = entries.map((e) => e.meta.name);
        // the renamed adapter is there exactly once, under its old or its new name
        expect(names.filter((n) => n === 'target' || n === 'target-renamed')).toHaveLength(1);
        // the trashed-and-restored adapter is in exactly one place
        const inTrash = (await listTrash(lib)).entries.filter((e) => e.meta.name === 'victim').length;
        expect(names.filter((n) => n === 'victim').length + inTrash).toBe(1);
        expect(entries.length).toBeGreaterThanOrEqual(before);
        before = entries.length;
        // a lock left by the killed process goes stale and the library stays usable
        const t = await lib.get(names.includes('target') ? 'target' : 'target-renamed');
        await lib.setNotes(t.meta.id, `round ${round}`);
        expect((await lib.get(t.meta.id)).meta.notes).toBe(`round ${round}`);
      }
      if (mode !== 'rename') expect(before).toBeGreaterThan(2);
    }, 180_000);
  }

  it('two processes importing under one name at once get distinct names and intact folders', async () => {
    const libRoot = path.join(root, 'two');
    await AdapterLibrary.open(libRoot, LOCK);
    await Promise.all(await startAll(libRoot, ['import-same', 'import-same'], 1500));
    const lib = await checkIntact(libRoot);
    const names = (await lib.list()).entries.map((e) => e.meta.name);
    expect(names.length).toBeGreaterThan(4);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('same');
    expect(names).toContain('same 2');
  }, 60_000);
});
