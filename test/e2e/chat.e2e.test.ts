/**
 * The Chat screen's single chat through the browser host with the real engine and the bundled demo model:
 * the ChatML fallback warning, streaming, stop, regenerate, a readable engine error that leaves the screen
 * usable, and a conversation saved to disk and reopened after a reload.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, chromiumAvailable } from './env';
import { captureErrors, startServeIsolated, type Served } from './helpers';

describe.skipIf(!chromiumAvailable())('Chat screen (browser host)', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const reply = (turn: number) => page.getByTestId(`reply-${turn}-0`);
  const sendButton = () => page.getByRole('button', { name: 'Send' });

  beforeAll(async () => {
    served = await startServeIsolated();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
    captureErrors(page, errors);
    await page.addInitScript({
      content: "window.addEventListener('unhandledrejection', (e) => console.error('unhandled rejection: ' + String(e.reason)));",
    });
    await page.goto(served.url);
  });

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('chats with the model’s template, saying that it falls back to ChatML', async () => {
    await page.getByRole('button', { name: 'Add the demo model' }).click();
    // Wait for the model's card: the offer's own text names the model before it is added.
    await expect.poll(() => page.getByRole('heading', { name: 'stories260K (demo)' }).count(), { timeout: 60_000 }).toBe(1);
    await page.getByRole('link', { name: 'Chat', exact: true }).click();
    await page.getByRole('combobox', { name: 'Base model', exact: true }).selectOption({ label: 'stories260K (demo)' });
    await page.getByLabel('Device').selectOption('cpu');
    await page.getByLabel('Prompt format').selectOption('template');
    await page.getByLabel('System prompt').fill('You tell short stories.');
    await page.getByLabel('Max tokens').fill('24');
    await page.getByLabel('Seed').fill('7');
    await page.getByLabel('Prompt', { exact: true }).fill('Tell me about a cat.');
    await page.getByLabel('Prompt', { exact: true }).press('Enter');
    await expect.poll(() => sendButton().count(), { timeout: 60_000 }).toBe(1);
    expect((await reply(0).innerText()).trim().length).toBeGreaterThan(0);
    expect(await page.getByRole('status').filter({ hasText: 'Chat template' }).innerText()).toContain('ChatML');
  });

  it('stops a long reply part way', async () => {
    await page.getByLabel('Prompt format').selectOption('plain');
    // The demo model is tiny: 480 tokens take well under a second on a CPU, so Stop is pressed as soon
    // as text shows (polled every 5 ms), and the reply must still end marked as stopped.
    await page.getByLabel('Max tokens').fill('480');
    await page.getByLabel('Prompt', { exact: true }).fill('Once upon a time');
    await sendButton().click();
    await expect.poll(async () => (await reply(1).innerText()).length, { timeout: 60_000, interval: 5 }).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Stop' }).click({ timeout: 5_000 });
    await expect.poll(() => sendButton().count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByRole('article', { name: 'Base model reply' }).last().innerText()).toContain('(stopped)');
  });

  it('regenerates the last reply in place', async () => {
    await page.getByLabel('Max tokens').fill('16');
    await page.getByLabel('Seed').fill('');
    await page.getByLabel('Temperature').fill('1.2');
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await expect.poll(() => sendButton().count(), { timeout: 60_000 }).toBe(1);
    expect(await page.getByRole('article', { name: 'Base model reply' }).count()).toBe(2);
    expect((await reply(1).innerText()).trim().length).toBeGreaterThan(0);
    expect(await reply(1).innerText()).not.toContain('(stopped)');
  });

  it('shows an engine error as a readable message and stays usable', async () => {
    await page.getByRole('button', { name: 'Type a path instead' }).click();
    await page.getByLabel('Base model', { exact: true }).fill('/nonexistent/model.gguf');
    await page.getByLabel('Prompt', { exact: true }).fill('Hello');
    await sendButton().click();
    const alert = page.getByRole('alert').first();
    await expect.poll(() => alert.innerText().catch(() => ''), { timeout: 30_000 }).toContain('/nonexistent/model.gguf');
    await page.getByRole('button', { name: "Choose from the Models screen's list" }).click();
    await page.getByLabel('Prompt', { exact: true }).fill('Once upon a time');
    await sendButton().click();
    await expect.poll(() => sendButton().count(), { timeout: 60_000 }).toBe(1);
    expect((await reply(3).innerText()).trim().length).toBeGreaterThan(0);
  });

  it('saves the conversation atomically and reopens it after a reload', async () => {
    const dir = path.join(served.dataDir, 'conversations');
    expect(existsSync(dir)).toBe(true);
    // The last save may still be under way when Send comes back: its temp file must then be renamed away.
    await expect.poll(() => readdirSync(dir).filter((f) => f.includes('.tmp-')), { timeout: 10_000 }).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    await page.reload();
    await page
      .getByRole('complementary', { name: 'Conversations' })
      .getByRole('button', { name: /^Tell me about a cat/ })
      .click();
    await expect.poll(() => page.getByRole('article', { name: 'Base model reply' }).count()).toBe(4);
    expect(await page.getByLabel('System prompt').inputValue()).toBe('You tell short stories.');
    await page.getByRole('button', { name: 'New conversation' }).click();
    expect(await page.getByRole('article').count()).toBe(0);
  });

  it('raised no console errors or unhandled rejections', () => {
    expect(errors).toEqual([]);
  });
});
