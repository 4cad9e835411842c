/** Shared pieces of the browser e2e tests: `graft serve` in a throwaway data folder, error capture, axe-core. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, requireBuilt } from './env';

export interface Served {
  proc: ChildProcess;
  url: string;
  /** The user data folder and adapter library of this server (removed by stop()). */
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts `graft serve --port 0` with its own user data folder and library, and resolves with the URL it prints. */
export function startServeIsolated(extraEnv: Record<string, string> = {}): Promise<Served> {
  const rendererDir = path.dirname(requireBuilt('out/renderer/index.html'));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'graft-e2e-'));
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin/graft.mjs'), 'serve', '--port', '0', '--renderer', rendererDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GRAFT_DATA_DIR: dataDir, GRAFT_LIBRARY: path.join(dataDir, 'library'), XDG_CONFIG_HOME: path.join(dataDir, 'xdg'), ...extraEnv },
  });
  const stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(out);
      if (m) resolve({ proc, url: m[1], dataDir, stop });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`graft serve exited with ${code} before printing a URL:\n${out}`)));
  });
}

/** Collects page errors, console errors and unhandled rejections; the test asserts the list stays empty. */
export function captureErrors(page: Page, into: string[] = []): string[] {
  page.on('pageerror', (e) => into.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') into.push(`console: ${m.text()}`);
  });
  return into;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core on the page as it is now and returns the serious and critical violations. The script is
 * evaluated through the DevTools protocol, which the page's CSP (script-src 'self') does not govern.
 */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const result = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => ({ target: n.target, failureSummary: n.failureSummary })) })))",
  )) as AxeViolation[];
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** One line per violation, for a readable assertion failure. */
export function describeViolations(vs: AxeViolation[]): string[] {
  return vs.map((v) => `${v.impact} ${v.id}: ${v.help} @ ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
}
