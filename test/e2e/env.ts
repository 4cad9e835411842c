/** Where the e2e tests find their browser and Electron, and what they do when one is missing. */
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCREENS_DIR = path.join(ROOT, 'test-results', 'screens');

/** CI sets this: a missing browser there is a failure, not a skip. */
export const E2E_REQUIRED = process.env.GRAFT_E2E_REQUIRED === '1';

export const CHROMIUM = process.env.GRAFT_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_MISSING_HELP =
  `Chromium not found at ${CHROMIUM}, so the browser e2e tests are skipped. ` +
  'Install it (Debian/Ubuntu: `sudo apt-get install chromium`) or point GRAFT_CHROMIUM at a Chrome/Chromium binary.';

/** Flags for a quiet, offline, throwaway headless Chromium (root in CI needs --no-sandbox). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export function chromiumAvailable(): boolean {
  const found = existsSync(CHROMIUM);
  if (!found && E2E_REQUIRED) throw new Error(`GRAFT_E2E_REQUIRED=1 but ${CHROMIUM_MISSING_HELP}`);
  if (!found) console.warn(CHROMIUM_MISSING_HELP);
  return found;
}

/** Electron's binary path, or why there is none (its download is skipped by npm here). */
export function electronBinary(): { path: string } | { missing: string } {
  try {
    const p = createRequire(import.meta.url)('electron') as unknown;
    if (typeof p === 'string' && existsSync(p)) return { path: p };
    return { missing: `Electron's binary is not at ${String(p)}` };
  } catch (err) {
    return {
      missing:
        `Electron's binary is not installed (${(err as Error).message.split('\n')[0]}). ` +
        "package.json's allowScripts keeps npm from running its download script (installs must work with only the " +
        "npm registry); on a machine that can reach Electron's downloads, `npm start` fetches it, or run " +
        '`node node_modules/electron/install.js`.',
    };
  }
}

export function screensDir(): string {
  mkdirSync(SCREENS_DIR, { recursive: true });
  return SCREENS_DIR;
}

export function requireBuilt(file: string): string {
  const p = path.join(ROOT, file);
  if (!existsSync(p)) throw new Error(`${file} is missing: run \`npm run build\` before the e2e tests (npm test does)`);
  return p;
}
