/** The Settings screen's preferences (issue 18 item 10): kept in settings.json, checked, and the folders shown. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SettingsService } from '../../src-main/services/settings';
import type { SettingsUpdate } from '../../src-main/ipc/app';

let dir: string;
const saved = process.env.GRAFT_LIBRARY;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'graft-settings-'));
  process.env.GRAFT_LIBRARY = path.join(dir, 'lib');
});
afterEach(() => {
  if (saved === undefined) delete process.env.GRAFT_LIBRARY;
  else process.env.GRAFT_LIBRARY = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe('settings', () => {
  it('defaults to the system theme, automatic device and threads, and keeps changes across restarts', () => {
    const s = new SettingsService(dir);
    expect(s.get()).toMatchObject({ theme: 'system', defaultDevice: 'auto', cpuThreads: null });
    s.update({ theme: 'dark', defaultDevice: 'cpu', cpuThreads: 3 });
    expect(new SettingsService(dir).get()).toMatchObject({ theme: 'dark', defaultDevice: 'cpu', cpuThreads: 3, hfEndpoint: null });
    // Fields left out stay as they are; null goes back to automatic.
    expect(s.update({ cpuThreads: null })).toMatchObject({ theme: 'dark', defaultDevice: 'cpu', cpuThreads: null });
  });

  it('refuses values the screen does not offer, changing nothing', () => {
    const s = new SettingsService(dir);
    for (const bad of [{ theme: 'blue' }, { defaultDevice: 'tpu' }, { cpuThreads: 0 }, { cpuThreads: 2.5 }] as unknown as SettingsUpdate[]) {
      expect(() => s.update(bad)).toThrow(/must be/);
    }
    expect(new SettingsService(dir).get()).toMatchObject({ theme: 'system', defaultDevice: 'auto', cpuThreads: null });
  });

  it('shows the library and data folders', () => {
    expect(new SettingsService(dir).folders()).toEqual({ library: path.join(dir, 'lib'), data: dir });
  });
});
