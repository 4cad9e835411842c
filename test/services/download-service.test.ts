/**
 * Acceptance 4 through the app's own channels and the CLI: a local fake Hub serves the stories260K repo; an
 * interrupted download reports the break, a restart resumes with Range and verifies the SHA-256, the model is
 * registered; a wrong checksum is reported as an error event.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DownloadProgress } from '../../src-main/ipc/models';
import { dispatch } from '../../src-main/ipc/dispatch';
import { createHandlers } from '../../src-main/ipc/handlers';
import type { HandlerTable } from '../../src-main/ipc/contract';
import { createServices, type Services } from '../../src-main/services/index';
import { sha256, startFakeHub, type FakeHub } from './fake-hub';

const ROOT = new URL('../../', import.meta.url).pathname;
const GGUF = readFileSync(path.join(ROOT, 'resources/demo/stories260K.gguf'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'graft-dl-'));
const saved = { ep: process.env.GRAFT_HF_ENDPOINT, data: process.env.GRAFT_DATA_DIR };
let hub: FakeHub;
let services: Services;
let table: HandlerTable;

beforeAll(async () => {
  hub = await startFakeHub({
    'karpathy/stories260K': { 'stories260K.gguf': GGUF, 'README.md': Buffer.from('# stories260K\n') },
    'someone/corrupt': { 'model.gguf': GGUF },
  });
  // Nothing listens there: the address saved in the settings must win over the environment's.
  process.env.GRAFT_HF_ENDPOINT = 'http://127.0.0.1:9';
  process.env.GRAFT_DATA_DIR = path.join(tmp, 'data');
  services = createServices({ name: 'graft', version: 'test', platform: process.platform });
  table = createHandlers(services);
  const bad = await dispatch(table, 'settings.update', { hfEndpoint: 'ftp://nope' }, { shell: 'browser' });
  expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', where: 'hfEndpoint' } });
  const saved = await dispatch(table, 'settings.update', { hfEndpoint: hub.endpoint + '/' }, { shell: 'browser' });
  expect(saved).toMatchObject({ ok: true, value: { hfEndpoint: hub.endpoint } });
});

afterAll(async () => {
  await services.dispose();
  await hub.close();
  for (const [k, v] of [['GRAFT_HF_ENDPOINT', saved.ep], ['GRAFT_DATA_DIR', saved.data]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(tmp, { recursive: true, force: true });
});

async function downloadOnce(repo: string): Promise<DownloadProgress[]> {
  const events: DownloadProgress[] = [];
  const off = services.events.on('models.download', (p) => events.push(p));
  const r = await dispatch(table, 'models.download', { repo }, { shell: 'browser' });
  if (!r.ok) throw new Error(r.error.message);
  await expect.poll(() => events.at(-1)?.state, { timeout: 30_000, interval: 50 }).toMatch(/done|error|cancelled/);
  off();
  return events;
}

describe('models.download against a local fake Hub', () => {
  it('reports a broken connection, then resumes, verifies and registers the model', async () => {
    hub.throttle = 16 * 1024;
    hub.breakAfter = { file: 'stories260K.gguf', bytes: 500_000 };
    const first = await downloadOnce('karpathy/stories260K');
    expect(first.at(-1)).toMatchObject({ state: 'error', error: { code: 'IO', message: expect.stringContaining('broke off') } });

    hub.requests = [];
    const second = await downloadOnce('karpathy/stories260K');
    const done = second.at(-1)!;
    expect(done.error).toBeUndefined();
    expect(done).toMatchObject({ state: 'done', bytes: GGUF.length, total: GGUF.length });
    expect(done.resumedBytes).toBeGreaterThanOrEqual(500_000);
    expect(hub.requests[0][1]).toMatch(/^bytes=\d+-$/);
    // Progress carries speed and an ETA while bytes flow, and a verifying phase before the file is kept.
    const moving = second.filter((e) => e.state === 'downloading' && e.speed > 0);
    expect(moving.length).toBeGreaterThan(0);
    expect(moving.some((e) => e.etaMs !== null && e.etaMs > 0)).toBe(true);
    expect(second.some((e) => e.state === 'verifying')).toBe(true);

    const file = path.join(tmp, 'data', 'models', 'karpathy--stories260K', 'stories260K.gguf');
    expect(sha256(readFileSync(file))).toBe(sha256(GGUF));
    const list = await dispatch(table, 'models.list', undefined, { shell: 'browser' });
    const models = list.ok ? (list.value as { models: { id: string; source: string; repo?: string; path: string; info: { architecture: string } | null }[] }).models : [];
    const m = models.find((x) => x.id === done.modelId);
    // A page opened later sees the downloads of this session with their last progress.
    const listed = list.ok ? (list.value as { downloads: DownloadProgress[] }).downloads : [];
    expect(listed.map((d) => d.state)).toEqual(['error', 'done']);
    expect(m).toMatchObject({ source: 'hub', repo: 'karpathy/stories260K', path: file, info: { architecture: 'LlamaForCausalLM' } });
  });

  it('reports a checksum mismatch as an error event', async () => {
    hub.throttle = null;
    hub.wrongOid = '0'.repeat(64);
    try {
      const events = await downloadOnce('someone/corrupt');
      expect(events.at(-1)).toMatchObject({ state: 'error', error: { code: 'BAD_FILE', message: expect.stringContaining('checksum mismatch') } });
    } finally {
      hub.wrongOid = null;
    }
    expect(existsSync(path.join(tmp, 'data', 'models', 'someone--corrupt', 'model.gguf'))).toBe(false);
  });

  it('graft models download fetches and verifies from the CLI', async () => {
    const out = path.join(tmp, 'cli');
    const { stderr } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/graft.mjs'), 'models', 'download', 'karpathy/stories260K', '--out', out], {
      env: { ...process.env, GRAFT_HF_ENDPOINT: hub.endpoint },
    });
    expect(stderr).toContain(`downloaded and verified 1 files into ${out}`);
    expect(sha256(readFileSync(path.join(out, 'stories260K.gguf')))).toBe(sha256(GGUF));
  });
});
