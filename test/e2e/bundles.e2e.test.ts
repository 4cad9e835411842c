/** The built bundles (npm run build) are what the app ships: check they load and work outside the dev setup. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerClient } from '../../src-main/services/worker/client';
import { EventHub } from '../../src-main/services/events';
import { requireBuilt } from './env';

describe('built bundles', () => {
  const client = new WorkerClient(new EventHub(), requireBuilt('out/main/engine-worker.js'));
  afterAll(() => client.stop());

  it('the bundled engine worker answers engine.device', async () => {
    const device = await client.call('device', 'cpu');
    expect(device).toMatchObject({ kind: 'cpu', ep: 'cpu' });
    expect(device.name).toContain(os.cpus()[0].model.trim());
  });

  it('the preload is CommonJS (sandboxed preloads cannot be ES modules) and exposes only window.graft', () => {
    const preload = readFileSync(requireBuilt('out/preload/index.cjs'), 'utf8');
    expect(preload).toMatch(/require\(["']electron["']\)/);
    expect(preload).not.toMatch(/^\s*import\s/m);
    expect(preload.match(/exposeInMainWorld\(/g)).toHaveLength(1);
    expect(preload).toContain('exposeInMainWorld("graft"');
  });

  it('the renderer page carries a CSP that forbids inline and remote scripts', () => {
    const html = readFileSync(requireBuilt('out/renderer/index.html'), 'utf8');
    expect(html).toMatch(/http-equiv="Content-Security-Policy"[\s\S]*script-src 'self';/);
    expect(html).toMatch(/<script type="module" crossorigin src="\.\/assets\/index-[\w-]+\.js"><\/script>/);
  });
});
