/** Launches the built desktop app with Playwright's Electron driver, where Electron's binary is installed. */
import path from 'node:path';
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ROOT, electronBinary, requireBuilt, screensDir } from './env';

const bin = electronBinary();

describe('Electron app', () => {
  if ('missing' in bin) {
    // Skipped only where Electron's binary is absent (its download is blocked here); the title says why and how to fetch it.
    it.skip(`skipped: ${bin.missing}`, () => undefined);
    return;
  }

  it('opens a sandboxed window whose status bar shows the engine device', async () => {
    requireBuilt('out/main/index.js');
    const args = [ROOT];
    if (process.getuid?.() === 0) args.unshift('--no-sandbox'); // Chromium refuses to run as root otherwise
    if (process.platform === 'linux' && !process.env.DISPLAY) args.unshift('--ozone-platform=headless');
    const app = await electron.launch({ executablePath: bin.path, args, cwd: ROOT });
    try {
      const win = await app.firstWindow();
      await expect.poll(() => win.getByTestId('engine-state').innerText(), { timeout: 60_000 }).toBe('engine ready');
      await expect.poll(() => win.getByTestId('device').innerText(), { timeout: 60_000 }).toMatch(/CPU|GPU/);
      // The preload exposes invoke and subscribe, and nothing of Node reaches the page (string expressions:
      // they run in the page, whose DOM types this Node-typed project does not load).
      expect(await win.evaluate('Object.keys(window.graft ?? {}).sort()')).toEqual(['invoke', 'subscribe']);
      expect(await win.evaluate('[typeof require, typeof process, typeof module]')).toEqual(['undefined', 'undefined', 'undefined']);
      await win.screenshot({ path: path.join(screensDir(), 'electron.png') });
    } finally {
      await app.close();
    }
  });
});
