/**
 * The adapter family (issue 16) through the browser host with the real engine and the bundled demo model: the
 * Train screen's method picker (each method's parameter count and trade-off, its own settings), two small
 * non-LoRA runs (Houlsby, prefix tuning) into the library, their method and export there, and Chat columns
 * of mixed methods with a stacked composition; axe-core and screenshots in both themes.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, chromiumAvailable, screensDir } from './env';
import { captureErrors, describeViolations, seriousA11yViolations, startServeIsolated, type Served } from './helpers';

const STORY = (i: number) => JSON.stringify({ text: `Once upon a time, there was a little ${i % 2 ? 'girl' : 'boy'} named Tim. He liked his red ball.` });
const DATASET = Array.from({ length: 24 }, (_, i) => STORY(i)).join('\n') + '\n';

describe.skipIf(!chromiumAvailable())('the adapter family on the Train, Adapters and Chat screens (browser host)', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const go = async (p: Page, id: string) => {
    await p.getByRole('link', { name: id[0].toUpperCase() + id.slice(1), exact: true }).click();
    await expect.poll(() => p.locator('main').getAttribute('data-screen')).toBe(id);
  };
  const params = async (m: string) => Number(await page.getByTestId(`method-count-${m}`).getAttribute('data-params'));

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

  it('adds the demo model and a dataset', async () => {
    await page.getByRole('button', { name: 'Add the demo model' }).click();
    await expect.poll(() => page.getByTestId('model-card').count(), { timeout: 60_000 }).toBe(1);
    await go(page, 'datasets');
    await page.getByLabel('Choose dataset files').setInputFiles({ name: 'tim.jsonl', mimeType: 'application/json', buffer: Buffer.from(DATASET) });
    await expect.poll(() => page.getByTestId('dataset-summary').innerText(), { timeout: 30_000 }).toContain('24 records');
  });

  it("picks a method from the schema's choices with its parameter count and trade-off, and shows only its settings", async () => {
    await go(page, 'train');
    await page.getByLabel('Device').selectOption('cpu');
    const picker = page.getByTestId('method-picker');
    // every method the library holds, each with its count on the demo model
    await expect.poll(() => params('houlsby'), { timeout: 30_000 }).toBeGreaterThan(0);
    for (const m of ['lora', 'qlora', 'dora', 'ia3', 'prefix', 'houlsby', 'pfeiffer', 'parallel', 'bitfit']) expect(await params(m), m).toBeGreaterThan(0);
    expect(await params('ia3')).toBeLessThan(await params('lora'));
    expect(await params('pfeiffer')).toBeLessThan(await params('houlsby'));
    expect(await picker.innerText()).toContain('bottleneck MLPs after attention and after the MLP');
    await picker.getByRole('radio', { name: /Houlsby adapter/ }).check();
    const settings = page.getByTestId('method-settings');
    await settings.getByLabel('Bottleneck width').waitFor();
    expect(await settings.getByLabel('Non-linearity').count()).toBe(1);
    expect(await page.getByLabel('Virtual tokens').count()).toBe(0);
    await expect.poll(() => page.getByTestId('memory-estimate').innerText()).toContain(`Houlsby adapter trains`);
    // the method's own setting changes its count (and the estimate follows it)
    await picker.getByRole('radio', { name: /Prefix tuning/ }).check();
    await page.getByLabel('Virtual tokens').fill('8');
    const at16 = await params('houlsby');
    await expect.poll(() => page.getByTestId('memory-estimate').innerText()).toMatch(/Prefix tuning trains \S+ parameters/);
    await expect.poll(() => params('prefix')).toBeGreaterThan(0);
    expect(await params('houlsby')).toBe(at16);
    expect(await page.getByLabel('Bottleneck width').count()).toBe(0);
  });

  const train = async (method: RegExp, name: string) => {
    await go(page, 'train');
    const again = page.getByRole('button', { name: 'New run' });
    if (await again.count()) await again.click();
    await page.getByTestId('method-picker').getByRole('radio', { name: method }).check();
    await page.getByLabel('Quick').check();
    const advanced = page.getByTestId('advanced');
    if ((await advanced.getAttribute('open')) === null) await page.getByText('Advanced options').click();
    await page.getByLabel('Steps', { exact: true }).fill('12');
    await page.getByLabel('Sequence length').fill('48');
    await page.getByLabel('Learning rate').fill('0.005');
    await page.getByLabel('Adapter name').fill(name);
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(() => page.getByTestId('train-monitor').getAttribute('data-state'), { timeout: 90_000 }).toBe('done');
    expect(await page.getByTestId('train-done').innerText()).toContain(name);
  };

  it('trains LoRA, Houlsby, prefix and IA³ adapters into the library', async () => {
    await train(/^LoRA/, 'tim-lora');
    await train(/Houlsby adapter/, 'tim-houlsby');
    await train(/Prefix tuning/, 'tim-prefix');
    await train(/IA³/, 'tim-ia3');
  });

  it('lists them with their method and exports the Houlsby adapter in AdapterHub’s layout', async () => {
    await go(page, 'adapters');
    const item = page.getByRole('button', { name: /^tim-houlsby/ });
    await expect.poll(() => item.innerText(), { timeout: 30_000 }).toContain('Houlsby adapter');
    expect(await page.getByRole('button', { name: /^tim-prefix/ }).innerText()).toContain('Prefix tuning');
    await item.click();
    await page.getByRole('button', { name: 'Export…' }).click();
    const dialog = page.getByRole('dialog', { name: /Export "tim-houlsby"/ });
    await dialog.getByRole('radio', { name: /AdapterHub/ }).check();
    // under the home folder: the browser host serves only paths inside it
    const parent = mkdtempSync(path.join(homedir(), '.graft-e2e-hub-'));
    try {
      await dialog.getByLabel('Save as').fill(path.join(parent, 'hub'));
      expect(describeViolations(await seriousA11yViolations(page))).toEqual([]);
      await dialog.getByRole('button', { name: 'Export', exact: true }).click();
      await expect.poll(() => dialog.getByRole('status').innerText().catch(() => ''), { timeout: 30_000 }).toContain('Exported to');
      expect(existsSync(path.join(parent, 'hub', 'adapter.safetensors'))).toBe(true);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('compares base | LoRA | Houlsby | prefix in Chat columns, then a stacked column with AdapterDrop, each reply labelled by what wrote it', async () => {
    await go(page, 'chat');
    await page.getByRole('combobox', { name: 'Base model', exact: true }).selectOption({ label: 'stories260K (demo)' });
    await page.getByLabel('Device').selectOption('cpu');
    await page.getByLabel('Prompt format').selectOption('plain');
    await page.getByLabel('Max tokens').fill('12');
    await page.getByRole('button', { name: 'Compare' }).click();
    while ((await page.getByRole('combobox', { name: /^Column \d model$/ }).count()) < 4) await page.getByRole('button', { name: 'Add column' }).click();
    const pick = (i: number, label: string) => page.getByRole('combobox', { name: `Column ${i} model` }).selectOption({ label });
    await pick(1, 'Base model');
    await pick(2, 'tim-lora');
    await pick(3, 'tim-houlsby');
    await pick(4, 'tim-prefix');
    const send = async () => {
      await page.getByLabel('Prompt', { exact: true }).fill('Once upon a time');
      await page.getByRole('button', { name: 'Send' }).click();
      await expect.poll(() => page.getByRole('button', { name: 'Send' }).count(), { timeout: 60_000 }).toBe(1);
      expect(await page.getByRole('alert').allInnerTexts()).toEqual([]);
    };
    const replies = async (turn: number, labels: string[]) => {
      for (const [c, label] of labels.entries()) {
        const card = page.locator('article', { has: page.getByTestId(`reply-${turn}-${c}`) });
        expect(await card.getAttribute('aria-label'), label).toBe(`${label} reply`);
        expect((await page.getByTestId(`reply-${turn}-${c}`).innerText()).trim().length, label).toBeGreaterThan(0);
      }
    };
    await send();
    await replies(0, ['Base model', 'tim-lora', 'tim-houlsby (Houlsby adapter)', 'tim-prefix (Prefix tuning)']);
    // Column 1 becomes IA³ then Houlsby stacked, without adapters in the lowest layer (AdapterDrop)
    await pick(1, 'tim-ia3');
    const compose = page.getByTestId('column-compose-1');
    await compose.getByText('Compose').click();
    await compose.getByRole('button', { name: 'Add an adapter' }).click();
    await compose.getByRole('combobox', { name: 'Column 1 adapter 2' }).selectOption({ label: 'tim-houlsby' });
    const options = compose.getByRole('group', { name: 'Column 1 composition' });
    await options.getByLabel('Several adapters').selectOption('stack');
    await options.getByLabel('AdapterDrop layers').fill('1');
    await send();
    const stacked = 'tim-ia3 (IA³) + tim-houlsby (Houlsby adapter) stacked, AdapterDrop 1';
    await replies(1, [stacked, 'tim-lora', 'tim-houlsby (Houlsby adapter)', 'tim-prefix (Prefix tuning)']);
    // the first turn keeps the label of what wrote it
    await replies(0, ['Base model', 'tim-lora', 'tim-houlsby (Houlsby adapter)', 'tim-prefix (Prefix tuning)']);
  });

  it('passes axe-core on the method picker, the composed columns and the library in both themes, with screenshots', async () => {
    const dir = screensDir();
    const dark = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    captureErrors(dark, errors);
    await dark.goto(served.url);
    const found: string[] = [];
    const shoot = async (p: Page, name: string) => {
      const height = Number(await p.evaluate('document.querySelector("main").scrollHeight + 40'));
      await p.setViewportSize({ width: 1280, height: Math.min(Math.max(900, height), 3000) });
      await p.screenshot({ path: path.join(dir, name) });
      await p.setViewportSize({ width: 1280, height: 900 });
    };
    for (const [theme, p] of [['light', page], ['dark', dark]] as const) {
      await go(p, 'train');
      const again = p.getByRole('button', { name: 'New run' });
      if (await again.count()) await again.click();
      await p.getByTestId('method-picker').getByRole('radio', { name: /Parallel adapter/ }).check();
      await p.getByTestId('method-settings').getByLabel('Output scale').waitFor();
      await p.getByTestId('memory-estimate').getByText('Estimated peak memory').waitFor();
      found.push(...describeViolations(await seriousA11yViolations(p)).map((v) => `train methods (${theme}): ${v}`));
      await shoot(p, `train-methods-${theme}.png`);
      await go(p, 'adapters');
      await p.getByRole('button', { name: /^tim-houlsby/ }).click();
      found.push(...describeViolations(await seriousA11yViolations(p)).map((v) => `adapters (${theme}): ${v}`));
      await shoot(p, `adapters-methods-${theme}.png`);
      await go(p, 'chat');
      if (theme === 'dark') {
        // the saved conversation, with its composed columns as they were
        await p.getByRole('complementary', { name: 'Conversations' }).getByRole('button', { name: /^Once upon a time/ }).click();
      }
      await expect.poll(() => p.getByRole('article', { name: /stacked, AdapterDrop 1 reply$/ }).count(), { timeout: 30_000 }).toBe(1);
      found.push(...describeViolations(await seriousA11yViolations(p)).map((v) => `chat columns (${theme}): ${v}`));
      await shoot(p, `chat-compose-${theme}.png`);
    }
    await dark.close();
    expect(found).toEqual([]);
  });

  it('raised no console errors or unhandled rejections', () => {
    expect(errors).toEqual([]);
  });
});
