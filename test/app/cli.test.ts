import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = new URL('../../bin/graft.mjs', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

async function graft(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('graft CLI', () => {
  it('--version prints the package version', async () => {
    const r = await graft('--version');
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('--help lists the registered subcommands', async () => {
    const r = await graft('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: graft /m);
    expect(r.stdout).toMatch(/^\s+serve \[options\]/m);
  });

  it('serve rejects a bad port with the flag named', async () => {
    const r = await graft('serve', '--port', 'eighty');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('graft: BAD_INPUT: --port must be an integer from 0 to 65535, got "eighty"');
  });

  it('serve explains a missing renderer build', async () => {
    const r = await graft('serve', '--renderer', '/nonexistent/renderer', '--port', '0');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('graft: NOT_FOUND: No built renderer in /nonexistent/renderer: run `npm run build` first');
  });
});
