/**
 * Issue 18 item 6, through `graft serve` and Chromium: an adapter folder picked on "this computer" is uploaded
 * over the page's socket and imported into the library (a folder, and bare safetensors + config); an export
 * written on the host is downloaded by the browser byte for byte (a zip file, and a folder as one zip); and the
 * socket those requests travel on refuses a page without the token.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, ROOT, chromiumAvailable } from './env';
import { captureErrors, describeViolations, seriousA11yViolations, startServeIsolated, type Served } from './helpers';

const MODEL = path.join(ROOT, 'resources/demo/stories260K.gguf');

describe.skipIf(!chromiumAvailable())('browser downloads and uploads (issue 18 item 6)', () => {
  let home: string;
  let adapterDir: string;
  let served: Served;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  const openAdapter = async (name: string) => {
    const item = page.getByRole('list', { name: 'Adapters in the library' }).getByRole('button', { name: new RegExp(name) });
    await expect.poll(() => item.count(), { timeout: 30_000 }).toBe(1);
    await item.click();
    await expect.poll(() => page.getByRole('heading', { level: 2, name }).count()).toBe(1);
  };

  const uploadAndImport = async (input: 'Upload an adapter folder' | 'Upload adapter files', files: string | string[], name: string) => {
    await page.getByRole('button', { name: 'Import…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import an adapter' });
    await dialog.getByLabel(input).setInputFiles(files);
    const count = typeof files === 'string' ? Number(spawnSync('find', [files, '-type', 'f'], { encoding: 'utf8' }).stdout.trim().split('\n').length) : files.length;
    await expect.poll(() => dialog.getByTestId('upload-picked').innerText()).toMatch(new RegExp(`^${count} files picked`));
    await dialog.getByLabel('Name in the library (optional)').fill(name);
    await dialog.getByLabel('Check against base model (optional)').selectOption({ label: 'stories260K (demo)' });
    await dialog.getByRole('button', { name: 'Import', exact: true }).click();
    // Closed, or open with a warning (bare files record no architecture, so only shapes were checked).
    const outcome = async () => ((await dialog.count()) === 0 ? 'closed' : (await dialog.getByText('Imported, but:').count()) ? 'warned' : await dialog.innerText());
    await expect.poll(outcome, { timeout: 30_000 }).toMatch(/^(closed|warned)$/);
    if ((await outcome()) === 'warned') {
      // The warning names what was picked, not the host's upload folder.
      expect(await dialog.getByText('Imported, but:').innerText()).toMatch(/^Imported, but: the uploaded files does not say which architecture/);
      await dialog.getByRole('button', { name: 'Close' }).click();
    }
    await openAdapter(name);
  };

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'graft-transfers-e2e-'));
    // An adapter trained elsewhere: two steps of `graft train` into a folder of "this computer".
    const data = path.join(home, 'stories.txt');
    writeFileSync(data, Array.from({ length: 8 }, (_, i) => `Zara saw a big ball, day ${i}. Zara was happy.`).join('\n\n') + '\n');
    adapterDir = path.join(home, 'on-this-computer', 'zara-adapter');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/graft.mjs'), 'train', '--model', MODEL, '--data', data, '--out', adapterDir, '--steps', '2', '--batch', '2', '--seq-len', '32', '--rank', '4', '--device', 'cpu'], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, GRAFT_LIBRARY: path.join(home, 'cli-library'), GRAFT_DATA_DIR: path.join(home, 'cli-data') },
    });
    if (r.status !== 0) throw new Error(`graft train failed:\n${r.stderr}`);
    served = await startServeIsolated({ HOME: home });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'light', acceptDownloads: true });
    captureErrors(page, errors);
    await page.goto(served.url);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('uploads an adapter folder, and bare safetensors + config, into the library', async () => {
    await page.getByRole('region', { name: 'Start with the demo model?' }).getByRole('button', { name: 'Add the demo model' }).click();
    await expect.poll(() => page.getByTestId('model-card').count(), { timeout: 30_000 }).toBe(1);
    await page.getByRole('link', { name: 'Adapters', exact: true }).click();
    await uploadAndImport('Upload an adapter folder', adapterDir, 'Uploaded folder');
    expect(describeViolations(await seriousA11yViolations(page))).toEqual([]);
    await uploadAndImport('Upload adapter files', [path.join(adapterDir, 'adapter_model.safetensors'), path.join(adapterDir, 'adapter_config.json')], 'Uploaded files');
    // The uploads are removed from the host once imported: the library holds its own copy.
    expect(spawnSync('find', [path.join(served.dataDir, 'uploads'), '-type', 'f'], { encoding: 'utf8' }).stdout.trim()).toBe('');
  });

  it('downloads an export written on the host, byte for byte: a zip, and a folder as one zip', async () => {
    const exports = path.join(home, 'exports');
    mkdirSync(exports);
    const exportAs = async (format: RegExp, out: string) => {
      await page.getByRole('button', { name: 'Export…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Export "Uploaded folder"' });
      await dialog.getByRole('radio', { name: format }).check();
      await dialog.getByLabel('Save as').fill(out);
      await dialog.getByRole('button', { name: 'Export', exact: true }).click();
      await expect.poll(() => dialog.getByRole('status').innerText().catch(() => ''), { timeout: 30_000 }).toContain(out);
      const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: /^Download to this computer/ }).click()]);
      const saved = readFileSync((await download.path())!);
      await dialog.getByRole('button', { name: 'Close' }).click();
      return { name: download.suggestedFilename(), saved };
    };
    await openAdapter('Uploaded folder');
    const zip = path.join(exports, 'uploaded.zip');
    const a = await exportAs(/PEFT zip/, zip);
    expect(a.name).toBe('uploaded.zip');
    expect(a.saved.equals(readFileSync(zip))).toBe(true);

    const folder = path.join(exports, 'uploaded-peft');
    const b = await exportAs(/PEFT folder/, folder);
    expect(b.name).toBe('uploaded-peft.zip');
    const entries = unzipSync(new Uint8Array(b.saved));
    expect(Object.keys(entries).sort()).toEqual(['uploaded-peft/adapter_config.json', 'uploaded-peft/adapter_model.safetensors', 'uploaded-peft/graft.json']);
    expect(Buffer.from(entries['uploaded-peft/adapter_model.safetensors']).equals(readFileSync(path.join(folder, 'adapter_model.safetensors')))).toBe(true);
    // The weights are the uploaded ones, unchanged by the trip through the host.
    expect(Buffer.from(entries['uploaded-peft/adapter_model.safetensors']).equals(readFileSync(path.join(adapterDir, 'adapter_model.safetensors')))).toBe(true);
  });

  it('refuses the socket to a page without the token, and a made-up download link', async () => {
    const other = await browser.newPage();
    try {
      await other.goto(new URL(served.url).origin + '/');
      const tryToken = (token: string) =>
        other.evaluate(`new Promise((r) => {
          const ws = new WebSocket('ws://' + location.host + '/graft-ws', ${JSON.stringify(token)} ? ['graft', 'graft-token.' + ${JSON.stringify(token)}] : ['graft']);
          ws.onopen = () => { ws.close(); r('open'); };
          ws.onclose = () => r('refused');
        })`);
      expect(await tryToken('')).toBe('refused');
      expect(await tryToken('not-the-token')).toBe('refused');
      // The same page with this launch's token is let in: the refusals are the guard's, not a broken socket.
      expect(await tryToken(new URL(served.url).searchParams.get('token')!)).toBe('open');
      const made = (await other.evaluate(`fetch('/graft-download/made-up').then((r) => r.status)`)) as number;
      expect(made).toBe(404);
    } finally {
      await other.close();
    }
  });

  it('raised no console errors or unhandled rejections', () => {
    expect(errors).toEqual([]);
  });
});
