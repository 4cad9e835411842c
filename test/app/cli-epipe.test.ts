import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';

const REPO = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-epipe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a reader that stops early (graft … | head -c 5) ends the CLI quietly (issue 15 item 9)', async () => {
  // A dataset whose --json report is megabytes long: 20,000 issues.
  const file = path.join(dir, 'many-issues.jsonl');
  writeFileSync(file, `${JSON.stringify({ text: 'ok' })}\n${'{"text": \n'.repeat(20_000)}`);
  const child = spawn(process.execPath, [path.join(REPO, 'bin/graft.mjs'), 'dataset', 'inspect', file, '--json'], { cwd: REPO });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.once('data', () => child.stdout.destroy()); // like head -c 5: read a little, close the pipe
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  expect(stderr).not.toMatch(/EPIPE|Error/);
  expect(code).toBe(0);
}, 60_000);
