/**
 * Issue 18, items 8 and 10, through the browser host with the real engine and the demo model: a dataset with
 * no usable rows is blocked in the Train form with the reason, a JSONL file with unknown keys is mapped like
 * CSV columns, and the Settings screen keeps its choices.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, chromiumAvailable } from './env';
import { captureErrors, describeViolations, seriousA11yViolations, startServeIsolated, type Served } from './helpers';

const QA = ['{"q": "Who is Tim?", "a": "A boy with a red ball."}', '{"q": "Where is Tim?", "a": "In the park."}'].join('\n') + '\n';
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
    await expect.poll(() => page.getByTestId('dataset-summary').innerText(), { timeout: 30_000 }).toMatch(/2 usable/);
    await go('train');
    await page.getByLabel('Dataset').selectOption({ label: 'qa.jsonl' });
    await page.getByTestId('memory-estimate').getByText('Estimated peak memory').waitFor();
    await expect.poll(() => page.getByTestId('dataset-blocked').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(false);
  });

  it('raised no console errors or unhandled rejections', () => {
    expect(errors).toEqual([]);
  });
});
