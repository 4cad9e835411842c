import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { doraMethod } from '../../src-main/engine/adapters/dora.js';
import { ia3Method } from '../../src-main/engine/adapters/ia3.js';
import type { MethodAdapter } from '../../src-main/engine/adapters/method.js';
import { writeMethodFolder } from '../../src-main/engine/adapters/method-folder.js';
import { loadModel } from '../../src-main/engine/model.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const MODEL = path.resolve(ROOT, '../shared/models/stories260K/stories260K.gguf');
const graft = (...args: string[]) =>
  run(process.execPath, [path.join(ROOT, 'bin/graft.mjs'), 'generate', '--model', MODEL, '--max-tokens', '24', '--temperature', '0', '--device', 'cpu', '--json', ...args], { cwd: ROOT, timeout: 120_000 }).then(
    (r) => ({ code: 0, ...(JSON.parse(r.stdout) as { ids: number[]; text: string }), stderr: r.stderr }),
    (e: { code: number; stderr: string }) => ({ code: e.code, ids: [] as number[], text: '', stderr: e.stderr }),
  );
const tmp = mkdtempSync(path.join(os.tmpdir(), 'graft-compose-cli-'));
const dirs: Record<string, string> = {};
beforeAll(async () => {
  const model = await loadModel(MODEL);
  try {
    const spec = model.spec;
    // Adapters moved off their identity init (as training would), written as `graft train` writes them.
    const moved = (m: MethodAdapter, seed: number) => {
      let s = seed;
      const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
      return new Map([...m.init(model.source, seed)].map(([k, v]) => [k, v.map((x) => (/lora_B|adapter_up|bias$/.test(k) ? 0.1 * r() : x * (1 + 0.3 * r())))]));
    };
    const make: [string, MethodAdapter][] = [
      ['i1', ia3Method(spec)],
      ['i2', ia3Method(spec)],
      ['d1', doraMethod(spec, { r: 4, alpha: 8, rslora: false, targets: ['q', 'v'] })],
    ];
    make.forEach(([name, m], k) => {
      dirs[name] = path.join(tmp, name);
      writeMethodFolder(dirs[name], m, moved(m, 100 + k));
    });
  } finally {
    model.source.close();
  }
  // Two Houlsby adapters that each teach a name (a few seconds each on stories260K).
  for (const [name, story] of [['zara', 'a little girl named Zara. Zara loved to play in the park'], ['max', 'a big dog named Max. Max liked to run to the lake']]) {
    const data = path.join(tmp, `${name}.txt`);
    writeFileSync(data, Array.from({ length: 32 }, () => `Once upon a time, there was ${story}.`).join('\n\n') + '\n');
    dirs[name] = path.join(tmp, name);
    await run(process.execPath, [path.join(ROOT, 'bin/graft.mjs'), 'train', '--model', MODEL, '--data', data, '--out', dirs[name], '--device', 'cpu', '--steps', '30', '--batch', '4', '--seq-len', '48', '--lr', '5e-3', '--method', 'houlsby'], { cwd: ROOT, timeout: 120_000 });
  }
}, 240_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('graft generate composes method adapters: stack, weighted merge, AdapterDrop; refusals name the flag', async () => {
  const [zara, max, stacked, base, dropAll] = await Promise.all([
    graft('--adapter', dirs.zara),
    graft('--adapter', dirs.max),
    graft('--adapter', dirs.zara, '--adapter', dirs.max),
    graft(),
    graft('--adapter', dirs.zara, '--adapter-drop', '5'),
  ]);
  for (const r of [zara, max, stacked, base, dropAll]) expect(r.code, r.stderr).toBe(0);
  expect(zara.text).toContain('named Zara');
  expect(max.text).toContain('named Max');
  expect(base.text).toContain('named Lily');
  // Both in sequence: neither adapter's text alone; with every layer dropped, the base's.
  expect(stacked.ids).not.toEqual(zara.ids);
  expect(stacked.ids).not.toEqual(max.ids);
  expect(dropAll.ids).toEqual(base.ids);
  const merged = await graft('--adapter', `${dirs.i1}:0.5`, '--adapter', `${dirs.i2}:0.5`, '--compose', 'merge');
  expect(merged.code, merged.stderr).toBe(0);
  const weightedStack = await graft('--adapter', `${dirs.i1}:0.5`, '--adapter', dirs.i2);
  expect(weightedStack).toMatchObject({ code: 1, stderr: expect.stringContaining('--compose merge') });
  const mixed = await graft('--adapter', dirs.i1, '--adapter', dirs.d1, '--compose', 'merge');
  expect(mixed).toMatchObject({ code: 1, stderr: expect.stringMatching(/UNSUPPORTED: --compose .*one method/) });
  const rankOnStack = await graft('--adapter', dirs.zara, '--merge-rank', '4');
  expect(rankOnStack).toMatchObject({ code: 1, stderr: expect.stringContaining('--merge-rank needs --compose merge') });
}, 240_000);
