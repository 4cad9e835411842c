/**
 * The Models, Datasets and Train screens through the browser host with the real engine and the bundled demo
 * model: first-run offer, dataset import with validation and preview, a training run with live charts, pause,
 * resume and reattachment after a reload; then axe-core on all five screens and screenshots in both themes.
 */
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, ROOT, chromiumAvailable, screensDir } from './env';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { startFakeHub, type FakeHub } from '../services/fake-hub';
import { captureErrors, describeViolations, seriousA11yViolations, startServeIsolated, type Served } from './helpers';

const SCREENS = ['models', 'datasets', 'train', 'adapters', 'chat'];
const STORY = (i: number) => JSON.stringify({ text: `Once upon a time, there was a little ${i % 2 ? 'girl' : 'boy'} named Tim. He liked his red ball.` });
const DATASET = [STORY(0), '{"text": ', ...Array.from({ length: 30 }, (_, i) => STORY(i + 1)), '{"neither": true}'].join('\n') + '\n';

describe.skipIf(!chromiumAvailable())('Models, Datasets and Train screens (browser host)', () => {
  let served: Served;
  let hub: FakeHub;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  const go = async (p: Page, id: string) => {
    await p.getByRole('link', { name: id[0].toUpperCase() + id.slice(1), exact: true }).click();
    await expect.poll(() => p.locator('main').getAttribute('data-screen')).toBe(id);
  };

  beforeAll(async () => {
    // A local stand-in for the Hugging Face Hub serving the demo model as a repo.
    hub = await startFakeHub({ 'karpathy/stories260K': { 'stories260K.gguf': readFileSync(path.join(ROOT, 'resources/demo/stories260K.gguf')) } });
    served = await startServeIsolated({ GRAFT_HF_ENDPOINT: hub.endpoint });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    captureErrors(page, errors);
    await page.goto(served.url);
  });

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    await hub?.close();
  });

  it('offers the demo model on first run and shows what the engine reads from it', async () => {
    const offer = page.getByRole('region', { name: 'Start with the demo model?' });
    await offer.getByRole('button', { name: 'Add the demo model' }).click();
    const card = page.getByTestId('model-card');
    await expect.poll(() => card.count(), { timeout: 30_000 }).toBe(1);
    const text = await card.innerText();
    expect(text).toContain('stories260K (demo)');
    expect(text).toContain('LlamaForCausalLM');
    expect(text).toMatch(/Parameters\s+2\d\dK/);
    expect(text).toMatch(/Weights dtype\s+F32 · gguf/);
    // At the Balanced preset (batch 4 × 512 tokens), as the Train form runs it: over a GB of activations even here.
    expect(text).toMatch(/QLoRA \(4-bit base\)\s+[\d.]+ [KMG]B/);
    expect(await offer.count()).toBe(0);
    // A path that is not a model gets a readable error, and the screen keeps working.
    await page.getByLabel(/Path of a Hugging Face folder/).fill('/nonexistent/model.gguf');
    await page.getByRole('button', { name: 'Add model' }).click();
    // Outside the folders `graft serve` serves, the path is refused before it is opened (issue 15's confinement).
    await expect.poll(() => page.getByRole('alert').innerText()).toContain('/nonexistent/model.gguf: outside the folders served to the browser');
  });

  it('downloads a model from the (fake) Hub with progress, resuming after a broken connection', async () => {
    hub.throttle = 32 * 1024;
    hub.breakAfter = { file: 'stories260K.gguf', bytes: 400_000 };
    await page.getByLabel('Repo id').fill('karpathy/stories260K');
    await page.getByRole('button', { name: 'Download', exact: true }).click();
    const row = page.getByTestId('download').first();
    await expect.poll(() => row.innerText(), { timeout: 30_000 }).toContain('the download broke off');
    await page.getByRole('button', { name: 'Download', exact: true }).click();
    const latest = page.getByTestId('download').first();
    await expect.poll(() => latest.innerText(), { timeout: 30_000 }).toMatch(/^karpathy\/stories260K\s+done/);
    expect(await latest.innerText()).toMatch(/1\.\d MB of 1\.\d MB · .* resumed/);
    await expect.poll(() => page.getByTestId('model-card').count()).toBe(2);
    // A reopened page shows the session's downloads again.
    await page.reload();
    await expect.poll(() => page.getByTestId('download').count(), { timeout: 30_000 }).toBe(2);
    expect(await page.getByTestId('model-card').nth(1).innerText()).toContain('Hub: karpathy/stories260K');
    hub.throttle = null;
  });

  it('imports a dataset, reports bad lines by number and previews the trained tokens', async () => {
    await go(page, 'datasets');
    await page.getByLabel('Choose dataset files').setInputFiles({ name: 'tim.jsonl', mimeType: 'application/json', buffer: Buffer.from(DATASET) });
    await expect.poll(() => page.getByTestId('dataset-summary').innerText(), { timeout: 30_000 }).toContain('33 records');
    expect(await page.getByTestId('dataset-summary').innerText()).toMatch(/Format text \(jsonl\).*31 usable.*2 with errors/);
    const issues = await page.getByTestId('dataset-issues').locator('tbody tr td:first-child').allInnerTexts();
    expect(issues).toEqual(['2', '33']);
    await expect.poll(() => page.getByTestId('preview-example').count()).toBe(5);
    expect(await page.getByTestId('preview-example').first().locator('mark').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('preview-example').first().innerText()).toContain('little boy named Tim');
    expect(Number(await page.getByTestId('histogram').getAttribute('data-points'))).toBeGreaterThan(0);
    // Dropping a file on the drop zone imports it too (the page reads it: browsers give no paths).
    const dropped = await page.evaluateHandle(
      `(() => { const dt = new DataTransfer(); dt.items.add(new File([${JSON.stringify(STORY(7) + '\n' + STORY(8) + '\n')}], 'dropped.jsonl')); return dt; })()`,
    );
    await page.getByRole('group', { name: 'Drop dataset files here' }).dispatchEvent('drop', { dataTransfer: dropped });
    await expect.poll(() => page.getByTestId('dataset-summary').innerText(), { timeout: 30_000 }).toContain('2 records');
    expect(await page.getByRole('button', { name: /^dropped\.jsonl/ }).getAttribute('aria-current')).toBe('true');
    await page.getByRole('button', { name: /^tim\.jsonl/ }).click();
    await expect.poll(() => page.getByTestId('dataset-summary').innerText()).toContain('33 records');
    // Overriding the detected format re-checks the file with the chosen reader.
    await page.getByLabel('Format').selectOption('alpaca');
    await expect.poll(() => page.getByTestId('dataset-summary').innerText()).toContain('Format alpaca');
    await page.getByLabel('Format').selectOption('auto');
    await expect.poll(() => page.getByTestId('dataset-summary').innerText()).toContain('Format text');
  });

  it('trains with live charts, pauses and resumes, and reattaches after a reload', async () => {
    await go(page, 'train');
    // Keyboard order follows the form: model, dataset, name.
    await page.getByLabel('Base model').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.getAttribute("name")')).toBe('dataset');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.getAttribute("name")')).toBe('adapter-name');
    await page.getByLabel('Device').selectOption('cpu');
    await expect.poll(() => page.getByTestId('memory-estimate').innerText(), { timeout: 30_000 }).toMatch(/Estimated peak memory: [\d.]+ MB\s+of [\d.]+ GB free on this machine \(training on the CPU: .*\)/);
    await page.getByLabel('Quick').check();
    await page.getByText('Advanced options').click();
    await page.getByLabel('Steps', { exact: true }).fill('40');
    await page.getByLabel('Sequence length').fill('64');
    await page.getByRole('combobox', { name: /^Dataset/ }).selectOption({ label: 'tim.jsonl' });
    await page.getByLabel('Adapter name').fill('tim-e2e');
    await page.getByRole('button', { name: 'Start training' }).click();
    const monitor = page.getByTestId('train-monitor');
    const points = async () => Number(await page.getByTestId('loss-chart').getAttribute('data-points'));
    await expect.poll(points, { timeout: 60_000 }).toBeGreaterThan(2);
    // The nav shows the run's progress on every screen.
    await expect.poll(() => page.getByTestId('train-badge').innerText()).toMatch(/^\d+%$/);
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => monitor.getAttribute('data-state'), { timeout: 30_000 }).toBe('paused');
    const frozen = await points();
    await page.waitForTimeout(400);
    expect(await points()).toBe(frozen);
    // The run lives in the engine, not the page: a reload reattaches to it, still paused, with its history.
    await page.reload();
    await expect.poll(() => page.getByTestId('train-monitor').getAttribute('data-state'), { timeout: 30_000 }).toBe('paused');
    expect(await points()).toBeGreaterThanOrEqual(frozen);
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => page.getByTestId('train-monitor').getAttribute('data-state'), { timeout: 90_000 }).toBe('done');
    expect(await page.getByTestId('train-status').innerText()).toMatch(/Finished — step 40 of 40 · loss \d/);
    expect(Number(await page.getByTestId('lr-chart').getAttribute('data-points'))).toBe(40);
    expect(Number(await page.getByTestId('speed-chart').getAttribute('data-points'))).toBe(40);
    expect(await page.getByTestId('train-done').innerText()).toContain('tim-e2e');
  });

  it("exports the form's run as a job bundle from a dialog (issue 19)", async () => {
    await go(page, 'train');
    await page.getByRole('button', { name: 'New run' }).click();
    await page.getByRole('combobox', { name: /^Dataset/ }).selectOption({ label: 'tim.jsonl' });
    await page.getByLabel('Adapter name').fill('tim-cluster');
    await page.getByRole('button', { name: 'Export as job bundle…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Export as a job bundle' });
    // Under the home folder: the browser host serves only paths inside the folders it was given.
    const parent = mkdtempSync(path.join(homedir(), '.graft-e2e-job-'));
    const out = path.join(parent, 'tim-cluster-job');
    await dialog.getByLabel('New folder for the bundle').fill(out);
    await dialog.getByRole('button', { name: 'Export bundle' }).click();
    await expect.poll(() => dialog.getByRole('status').innerText().catch(() => ''), { timeout: 30_000 }).toMatch(/^Bundle [0-9a-f]{16} written to .*tim-cluster-job: \d+ steps over \d+ rows/);
    expect(describeViolations(await seriousA11yViolations(page))).toEqual([]);
    const manifest = JSON.parse(readFileSync(path.join(out, 'graft-job.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'tim-cluster', dataset: { name: 'tim.jsonl' }, base: { arch: 'LlamaForCausalLM', inBundle: true } });
    // Again into the same folder: refused, and said in the dialog.
    await dialog.getByRole('button', { name: 'Export bundle' }).click();
    await expect.poll(() => dialog.getByRole('alert').innerText().catch(() => '')).toContain('is not empty');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => dialog.count()).toBe(0);
    rmSync(parent, { recursive: true, force: true });
  });

  it('passes axe-core (no serious or critical violations) on every screen and saves both themes', async () => {
    const dir = screensDir();
    const dark = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    captureErrors(dark, errors);
    await dark.goto(served.url);
    const found: string[] = [];
    for (const [theme, p] of [['light', page], ['dark', dark]] as const) {
      for (const id of SCREENS) {
        await go(p, id);
        await p.getByRole('heading', { level: 1 }).waitFor();
        await p.waitForTimeout(300); // let lists and charts load
        found.push(...describeViolations(await seriousA11yViolations(p)).map((v) => `${id} (${theme}): ${v}`));
        // The screen scrolls inside <main>: grow the viewport to its height so the picture shows all of it.
        const height = Number(await p.evaluate('document.querySelector("main").scrollHeight + 40'));
        await p.setViewportSize({ width: 1280, height: Math.min(Math.max(900, height), 3000) });
        await p.screenshot({ path: path.join(dir, `${id}-${theme}.png`) });
        await p.setViewportSize({ width: 1280, height: 900 });
      }
      // The Train screen's form (with the advanced panel open), not only the finished run's monitor.
      await go(p, 'train');
      await p.getByRole('button', { name: 'New run' }).click();
      await p.getByText('Advanced options').click();
      await p.getByTestId('memory-estimate').getByText('Estimated peak memory').waitFor();
      found.push(...describeViolations(await seriousA11yViolations(p)).map((v) => `train form (${theme}): ${v}`));
      await p.setViewportSize({ width: 1280, height: 1500 });
      await p.screenshot({ path: path.join(dir, `train-form-${theme}.png`) });
      await p.setViewportSize({ width: 1280, height: 900 });
    }
    await dark.close();
    expect(found).toEqual([]);
  });

  it('raised no console errors or unhandled rejections', () => {
    expect(errors).toEqual([]);
  });
});
