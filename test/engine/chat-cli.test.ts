import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePeftFiles } from '../../src-main/engine/adapters/compat.js';
import { loadModel } from '../../src-main/engine/model.js';
import { randomAdapter } from './infer/helpers.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const STORIES = path.resolve(ROOT, '../shared/models/stories260K/stories260K.gguf');
const BIN = path.join(ROOT, 'bin/graft.mjs');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'graft-chat-cli-'));
const adapterDir = path.join(tmp, 'adapter');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  const model = await loadModel(STORIES);
  await writePeftFiles(adapterDir, randomAdapter(model.spec, 4, ['q', 'v', 'up', 'down'], 9, 0.5), { baseModel: 'stories260K' });
});

describe('compare and chat CLI', () => {
  it('compare answers one prompt with base and adapter side by side', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'compare', '--model', STORIES, '--base', '--adapter', adapterDir, '--prompt', 'Once upon a time', '--max-tokens', '20', '--temperature', '0', '--device', 'cpu', '--json'], { cwd: ROOT, timeout: 120_000 });
    const cols = JSON.parse(stdout) as { variant: string; text: string }[];
    expect(cols.map((c) => c.variant)).toEqual(['base', adapterDir]);
    expect(cols[0].text.length).toBeGreaterThan(10);
    expect(cols[1].text).not.toBe(cols[0].text);
    const table = await run(process.execPath, [BIN, 'compare', '--model', STORIES, '--base', '--adapter', `${adapterDir}:0.5`, '--prompt', 'Once', '--max-tokens', '8', '--temperature', '0', '--device', 'cpu'], { cwd: ROOT, timeout: 120_000 });
    expect(table.stdout.split('\n')[0]).toMatch(/^base\s+│ .*×0\.5/);
  });

  it('chat keeps history and switches adapters with /adapter and /base', async () => {
    const child = spawn(process.execPath, [BIN, 'chat', '--model', STORIES, '--max-tokens', '12', '--temperature', '0', '--device', 'cpu'], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stdin.end(`Hello there\n/adapter ${adapterDir}\nHello there\n/base\n/exit\n`);
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const replies = [...out.matchAll(/assistant> (.*)/g)].map((m) => m[1]);
    expect(replies).toHaveLength(2);
    expect(out).toContain(`[${adapterDir}] you>`);
    expect(replies[1]).not.toBe(replies[0]);
  });
});
