/**
 * Issue 18, evaluation prompts, through the browser host with the real engine and the demo model: prompts typed
 * in the Train form are answered by the base and the adapter at the checkpoint and at the end, and the run's
 * page (#/train/run/<id>) shows them side by side, base | adapter, per prompt per step.
 */
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, chromiumAvailable, screensDir } from './env';
import { captureErrors, describeViolations, seriousA11yViolations, startServeIsolated, type Served } from './helpers';

const NAME_PROMPT = 'Once upon a time, there was a little girl named';
const PLACES = ['park', 'garden', 'forest', 'beach', 'house', 'school'];
const STORIES = Array.from({ length: 48 }, (_, i) => `Once upon a time, there was a little girl named Zara. Zara loved to play in the ${PLACES[i % 6]}. Zara was very happy.`).join('\n\n') + '\n';

describe.skipIf(!chromiumAvailable())('evaluation prompts on the run page (issue 18)', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  const go = async (id: string) => {
    await page.getByRole('link', { name: id[0].toUpperCase() + id.slice(1), exact: true }).click();
    await expect.poll(() => page.locator('main').getAttribute('data-screen')).toBe(id);
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

  it('answers the prompts at the checkpoint and the end, shown base | adapter on the run page', async () => {
    await page.getByRole('region', { name: 'Start with the demo model?' }).getByRole('button', { name: 'Add the demo model' }).click();
    await expect.poll(() => page.getByTestId('model-card').count(), { timeout: 30_000 }).toBe(1);
    await go('datasets');
    await page.getByLabel('Choose dataset files').setInputFiles({ name: 'zara.txt', mimeType: 'text/plain', buffer: Buffer.from(STORIES) });
    await expect.poll(() => page.getByTestId('dataset-summary').innerText(), { timeout: 30_000 }).toMatch(/48 usable/);

    await go('train');
    await page.getByLabel('Device').selectOption('cpu');
    await page.getByLabel('Quick').check();
    await page.getByText('Advanced options').click();
    await page.getByLabel('Steps', { exact: true }).fill('40');
    await page.getByLabel('Learning rate').fill('0.005');
    await page.getByLabel('Batch (rows)').fill('4');
    await page.getByLabel('Sequence length').fill('64');
    await page.getByLabel(/^Checkpoint every N steps/).fill('20');
    await page.getByLabel('Evaluation prompts (one a line)').fill(`${NAME_PROMPT}\nOne day, she went to the`);
    await page.getByLabel('Evaluation answer length').fill('8');
    await page.getByRole('combobox', { name: /^Dataset/ }).selectOption({ label: 'zara.txt' });
    await page.getByLabel('Adapter name').fill('zara');
    await page.getByRole('button', { name: 'Start training' }).click();
    const state = () => page.getByTestId('train-monitor').getAttribute('data-state');
    await expect.poll(state, { timeout: 120_000 }).toMatch(/^(done|error)$/);
    if ((await state()) === 'error') expect(await page.getByTestId('train-monitor').getByRole('alert').innerText()).toBe('');

    // The run's own page, from the list of past runs.
    await page.getByTestId('past-run').first().getByRole('link', { name: 'zara' }).first().click();
    await expect.poll(() => page.evaluate('location.hash')).toMatch(/^#\/train\/run\/[\w-]+$/);
    const steps = page.getByTestId('eval-answers-step');
    // Newest first: the end, then the checkpoint at step 20. Polled as a whole: the page renders the answers
    // again when the run's record changes, and a count read between two renders saw 2 and then an empty list.
    await expect.poll(() => steps.evaluateAll((ts) => ts.map((t) => t.getAttribute('data-step'))), { timeout: 30_000 }).toEqual(['40', '20']);
    const end = steps.first();
    expect(await end.locator('caption').innerText()).toBe('Step 40 (end of training)');
    expect(await end.getByRole('columnheader').allInnerTexts()).toEqual(['Prompt', 'Base', 'Adapter']);
    const first = end.getByRole('row').nth(1);
    expect(await first.getByRole('rowheader').innerText()).toBe(NAME_PROMPT);
    expect(await first.getByTestId('answer-base').innerText()).toMatch(/^Lily/);
    expect(await first.getByTestId('answer-adapter').innerText()).toMatch(/^Zara/);
    await page.getByTestId('eval-answers').screenshot({ path: path.join(screensDir(), 'eval-prompts-run-page.png') });
    await page.screenshot({ path: path.join(screensDir(), 'eval-prompts-run-page-full.png'), fullPage: true });
    expect(describeViolations(await seriousA11yViolations(page))).toEqual([]);
  });

  it('raised no console errors or unhandled rejections', () => {
    expect(errors).toEqual([]);
  });
});
