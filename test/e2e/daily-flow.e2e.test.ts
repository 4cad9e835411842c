/**
 * Issue 18, items 8 and 10, through the browser host with the real engine and the demo model: a dataset with
 * no usable rows is blocked in the Train form with the reason, a JSONL file with unknown keys is mapped like
 * CSV columns, each run keeps its page in the list of past runs, and the Settings screen keeps its choices.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, chromiumAvailable } from './env';
import { captureErrors, describeViolations, seriousA11yViolations, startServeIsolated, type Served } from './helpers';

const QA = Array.from({ length: 12 }, (_, i) => JSON.stringify({ q: `Where is Tim on day ${i}?`, a: `In the park with his red ball, day ${i}.` })).join('\n') + '\n';
const BROKEN = ['{"text": ', '{"text": 3}'].join('\n') + '\n';

describe.skipIf(!chromiumAvailable())('the daily flow (issue 18: dataset guard, settings)', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  const go = async (id: string) => {
    await page.getByRole('link', { name: id[0].toUpperCase() + id.slice(1), exact: true }).click();
    await expect.poll(() => page.locator('main').getAttribute('data-screen')).toBe(id);
  };
  const importDataset = async (name: string, content: string) => {
    await go('datasets');
    await page.getByLabel('Choose dataset files').setInputFiles({ name, mimeType: 'application/json', buffer: Buffer.from(content) });
    await expect.poll(() => page.getByRole('button', { name: new RegExp(`^${name.replace('.', '\\.')}`) }).getAttribute('aria-current'), { timeout: 30_000 }).toBe('true');
  };

  beforeAll(async () => {
    served = await startServeIsolated();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    captureErrors(page, errors);
    await page.goto(served.url);
  });

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  it('blocks a dataset with no usable rows in the Train form, with the reason (item 8)', async () => {
    await page.getByRole('region', { name: 'Start with the demo model?' }).getByRole('button', { name: 'Add the demo model' }).click();
    await expect.poll(() => page.getByTestId('model-card').count(), { timeout: 30_000 }).toBe(1);
    await importDataset('broken.jsonl', BROKEN);
    await expect.poll(() => page.getByTestId('dataset-summary').innerText(), { timeout: 30_000 }).toMatch(/0 usable/);
    await go('train');
    await page.getByLabel('Dataset').selectOption({ label: 'broken.jsonl' });
    const blocked = page.getByTestId('dataset-blocked');
    await expect.poll(() => blocked.innerText(), { timeout: 30_000 }).toMatch(/^The dataset has no usable rows: all 2 records of broken\.jsonl are dropped \(line 1: .*, and 1 more\)/);
    expect(await page.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(true);
    expect(describeViolations(await seriousA11yViolations(page))).toEqual([]);
  });

  it('maps the keys of a JSONL file it cannot recognise like CSV columns, in GUI words (item 8)', async () => {
    await importDataset('qa.jsonl', QA);
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.innerText(), { timeout: 30_000 }).toContain('choose "Format", or map its keys with "Text column", or "Prompt column" and "Response column"');
    expect(await alert.innerText()).not.toMatch(/--\w|\{\w+\}/);
    await page.getByLabel('Prompt column').fill('q');
    await page.getByLabel('Response column').fill('a');
    await page.getByRole('button', { name: 'Apply columns' }).click();
    await expect.poll(() => page.getByTestId('dataset-summary').innerText(), { timeout: 30_000 }).toMatch(/12 usable/);
    await go('train');
    await page.getByLabel('Dataset').selectOption({ label: 'qa.jsonl' });
    await page.getByTestId('memory-estimate').getByText('Estimated peak memory').waitFor();
    // Rows that keep no trained token at this sequence length are no usable rows either.
    await page.getByText('Advanced options').click();
    await page.getByLabel('Sequence length').fill('16');
    await expect.poll(() => page.getByTestId('dataset-blocked').innerText(), { timeout: 30_000 }).toMatch(/has no usable rows: all 12 records of qa\.jsonl are dropped \(line 1: .*sequence length 16/);
    expect(await page.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(true);
    await page.getByLabel('Sequence length').fill('128');
    await expect.poll(() => page.getByTestId('dataset-blocked').count(), { timeout: 30_000 }).toBe(0);
    expect(await page.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(false);
  });

  it('keeps each run on its own page, listed with final loss, date and adapter (item 10)', async () => {
    const train = async (name: string) => {
      await page.getByLabel('Device').selectOption('cpu');
      await page.getByLabel('Quick').check();
      const advanced = page.getByText('Advanced options');
      if (!(await page.getByLabel('Steps', { exact: true }).isVisible())) await advanced.click();
      await page.getByLabel('Steps', { exact: true }).fill('4');
      await page.getByLabel('Sequence length').fill('128');
      await page.getByRole('combobox', { name: /^Dataset/ }).selectOption({ label: 'qa.jsonl' });
      await page.getByLabel('Adapter name').fill(name);
      await page.getByRole('button', { name: 'Start training' }).click();
      const state = () => page.getByTestId('train-monitor').getAttribute('data-state');
      await expect.poll(state, { timeout: 90_000 }).toMatch(/^(done|error)$/);
      if ((await state()) === 'error') expect(await page.getByTestId('train-monitor').getByRole('alert').innerText()).toBe('');
    };
    await go('train');
    await train('first-run');
    await page.getByRole('button', { name: 'New run' }).click();
    await train('second-run');
    const rows = page.getByTestId('past-run');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(2);
    expect(await rows.nth(0).innerText()).toMatch(/second-run[\s\S]*\d{4}[\s\S]*\d\.\d{4}\s+second-run\s+Finished at step 4/);
    expect(await rows.nth(1).innerText()).toMatch(/first-run[\s\S]*\d\.\d{4}\s+first-run\s+Finished at step 4/);
    // The first run's page is still there after the second ran: its charts and its adapter.
    await rows.nth(1).getByRole('link', { name: 'first-run' }).first().click();
    await expect.poll(() => page.getByTestId('train-monitor').locator('h2').innerText(), { timeout: 30_000 }).toBe('first-run');
    expect(Number(await page.getByTestId('lr-chart').getAttribute('data-points'))).toBe(4);
    expect(await page.getByTestId('train-done').innerText()).toContain('first-run');
    expect(await page.getByRole('button', { name: 'New run' }).count()).toBe(0);
    expect(describeViolations(await seriousA11yViolations(page))).toEqual([]);
    // Kept across a reload (it is the app's history, not the page's).
    await page.reload();
    await expect.poll(() => page.getByTestId('train-monitor').locator('h2').innerText(), { timeout: 30_000 }).toBe('first-run');
    await page.getByRole('link', { name: '← Train screen' }).click();
    await expect.poll(() => page.getByTestId('train-monitor').locator('h2').innerText()).toBe('second-run');
  });

  it('has a Settings screen: folders shown, theme, default device and CPU threads kept (item 10)', async () => {
    await go('settings');
    const folders = await page.getByTestId('folders').innerText();
    expect(folders).toMatch(/Adapter library\s+\/\S+/);
    expect(folders).toMatch(/Data \(models, datasets, runs, settings\)\s+\/\S+/);
    expect(describeViolations(await seriousA11yViolations(page))).toEqual([]);
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('light');
    await page.getByLabel('Dark').check();
    await expect.poll(() => page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    expect(describeViolations(await seriousA11yViolations(page))).toEqual([]);
    await page.getByLabel('Default device').selectOption('cpu');
    await page.getByLabel(/^CPU threads/).fill('2');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'saved' }).innerText()).toBe('CPU threads saved.');
    // Kept by the app, not the page: after a reload (the OS still says light) the choices are back.
    await page.reload();
    await expect.poll(() => page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    expect(await page.getByLabel('Dark').isChecked()).toBe(true);
    expect(await page.getByLabel('Default device').inputValue()).toBe('cpu');
    expect(await page.getByLabel(/^CPU threads/).inputValue()).toBe('2');
    await page.getByLabel('Same as the system').check();
    await expect.poll(() => page.evaluate('document.documentElement.dataset.theme')).toBe('light');
    await page.getByLabel(/^CPU threads/).fill('');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'saved' }).innerText()).toBe('CPU threads saved.');
  });

  it('raised no console errors or unhandled rejections', () => {
    expect(errors).toEqual([]);
  });
});
