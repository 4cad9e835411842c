/**
 * A reply keeps the adapter and scale that wrote it (issue 18 item 5): switching the column from an adapter to
 * the base model must not relabel the replies written before, on screen or after reopening the conversation.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, ROOT, chromiumAvailable } from './env';
import { captureErrors, startServeIsolated, type Served } from './helpers';

const MODEL = path.join(ROOT, 'resources/demo/stories260K.gguf');

describe.skipIf(!chromiumAvailable())('Chat history keeps who wrote each reply', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const work = mkdtempSync(path.join(os.tmpdir(), 'graft-e2e-history-'));
  const graft = (...args: string[]) => execFileSync(process.execPath, [path.join(ROOT, 'bin/graft.mjs'), ...args], { encoding: 'utf8' });
  const send = async (text: string) => {
    await page.getByLabel('Prompt', { exact: true }).fill(text);
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Send' }).count(), { timeout: 60_000 }).toBe(1);
  };
  const labels = () => page.getByRole('article').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));

  beforeAll(async () => {
    served = await startServeIsolated();
    // A small adapter in this server's library (a few seconds of training on the demo model).
    writeFileSync(path.join(work, 'tom.txt'), 'Tom had a red ball. Tom was happy.\n\nTom saw a dog. Tom was glad.\n');
    graft('train', '--model', MODEL, '--data', path.join(work, 'tom.txt'), '--out', path.join(work, 'tom'), '--steps', '4', '--seq-len', '32', '--device', 'cpu');
    graft('adapters', 'import', path.join(work, 'tom'), '--library', path.join(served.dataDir, 'library'), '--name', 'tom-stories');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
    captureErrors(page, errors);
    await page.goto(served.url);
  }, 180_000);

  it('opens Chat on the demo model', async () => {
    await page.getByRole('button', { name: 'Add the demo model' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'stories260K (demo)' }).count(), { timeout: 60_000 }).toBe(1);
    await page.getByRole('link', { name: 'Chat', exact: true }).click();
    await page.getByRole('combobox', { name: 'Base model', exact: true }).selectOption({ label: 'stories260K (demo)' });
    await page.getByLabel('Device').selectOption('cpu');
    await page.getByLabel('Max tokens').fill('8');
  });

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('labels each reply with the column as it was when the reply was written', async () => {
    const talkTo = page.getByRole('combobox', { name: 'Model or adapter' });
    await talkTo.selectOption({ label: 'tom-stories' });
    await page.getByLabel('Column 1 adapter scale').fill('0.5');
    await send('Tell me about Tom.');
    await talkTo.selectOption({ label: 'Base model' });
    await send('And now?');
    expect(await labels()).toEqual(['tom-stories ×0.5 reply', 'Base model reply']);
  });

  it('keeps the labels when the conversation is reopened', async () => {
    await page.reload();
    await page
      .getByRole('complementary', { name: 'Conversations' })
      .getByRole('button', { name: /^Tell me about Tom/ })
      .click();
    await expect.poll(() => page.getByRole('article').count()).toBe(2);
    expect(await labels()).toEqual(['tom-stories ×0.5 reply', 'Base model reply']);
  });

  it('raised no console errors', () => {
    expect(errors).toEqual([]);
  });
});
