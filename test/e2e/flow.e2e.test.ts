/**
 * Acceptance 1, the whole customization flow as a person does it: `graft serve` (browser host) as a real
 * process, Debian's Chromium driven by Playwright, the real engine on CPU and the tiny stories260K model.
 * Import a dataset of stories about a girl named Zara → see its preview → train 30 steps while the loss chart
 * grows → the adapter appears in the library → export it as a PEFT zip and import it back → compare the base
 * and the adapter side by side: both columns stream, and they answer differently.
 * Any console error or unhandled rejection in the page fails the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING_HELP, ROOT, chromiumAvailable, requireBuilt, screensDir } from './env';
import { describeViolations, seriousA11yViolations } from './helpers';

const hasChromium = chromiumAvailable();
// The README's pictures are refreshed only on request (GRAFT_UPDATE_DOCS=1), so test runs leave the tree clean.
const DOCS = process.env.GRAFT_UPDATE_DOCS === '1' ? path.join(ROOT, 'docs') : screensDir();
/** The name the Models screen gives the bundled demo model. */
const DEMO_MODEL = 'stories260K (demo)';

/** Short stories in the model's own style, each introducing a girl with a name it has never used. */
function zaraStories(): string {
  const places = ['park', 'garden', 'forest', 'beach', 'house', 'school'];
  const things = ['ball', 'kite', 'cat', 'flower', 'box', 'bird'];
  const stories: string[] = [];
  for (let i = 0; i < 48; i++) {
    const p = places[i % places.length];
    const t = things[(i * 5) % things.length];
    stories.push(
      `Once upon a time, there was a little girl named Zara. Zara loved to play in the ${p}. One day, Zara saw a big ${t}. Zara was very happy.`,
    );
  }
  return stories.join('\n\n') + '\n';
}

/** `graft serve` with its own library and user-data folders, so the test sees only what it makes. */
function startServe(home: string): Promise<{ proc: ChildProcess; url: string }> {
  const rendererDir = path.dirname(requireBuilt('out/renderer/index.html'));
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin/graft.mjs'), 'serve', '--port', '0', '--renderer', rendererDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      GRAFT_DATA_DIR: path.join(home, 'data'),
      GRAFT_LIBRARY: path.join(home, 'library'),
      XDG_CONFIG_HOME: path.join(home, 'config'),
      HOME: home,
    },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(out);
      if (m) resolve({ proc, url: m[1] });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`graft serve exited with ${code} before printing a URL:\n${out}`)));
  });
}

async function go(page: Page, screen: string, heading: string): Promise<void> {
  await page.getByRole('link', { name: heading, exact: true }).click();
  await expect.poll(() => page.locator('main').getAttribute('data-screen')).toBe(screen);
}

describe.skipIf(!hasChromium)('the whole flow in the browser (acceptance 1)', () => {
  let home: string;
  let serve: { proc: ChildProcess; url: string };
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const adapterName = 'Zara stories';

  beforeAll(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), 'graft-flow-'));
    writeFileSync(path.join(home, 'zara.txt'), zaraStories());
    serve = await startServe(home);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1360, height: 860 }, colorScheme: 'light' });
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console.error: ${m.text()}`);
    });
    // Chromium reports unhandled rejections as page errors; this makes sure none slips by as a warning.
    await page.addInitScript({
      content: "window.addEventListener('unhandledrejection', (e) => console.error('unhandled rejection: ' + String(e.reason)));",
    });
    await page.goto(serve.url);
  });

  afterAll(async () => {
    await browser?.close();
    if (serve?.proc.exitCode === null) {
      const exited = new Promise((r) => serve.proc.once('exit', r));
      serve.proc.kill('SIGTERM');
      await exited;
    }
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('adds the demo model (stories260K)', async () => {
    await expect.poll(() => page.getByTestId('engine-state').innerText(), { timeout: 60_000 }).toBe('engine ready');
    await go(page, 'models', 'Models');
    await page.getByRole('button', { name: 'Add the demo model' }).click();
    // Wait for the model's card: the offer's own text names the model before it is added.
    await expect.poll(() => page.getByRole('heading', { name: DEMO_MODEL }).count(), { timeout: 60_000 }).toBe(1);
  });

  it('imports a dataset and shows its preview', async () => {
    await go(page, 'datasets', 'Datasets');
    await page.getByLabel('…or the path of a file on this machine').fill(path.join(home, 'zara.txt'));
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const example = page.getByTestId('preview-example').first();
    await expect.poll(() => example.innerText().catch(() => ''), { timeout: 60_000 }).toContain('Zara');
    expect(await page.getByTestId('dataset-summary').innerText()).toMatch(/\d/);
  });

  it('trains 30 steps while the loss chart grows, and the adapter appears in the library', async () => {
    await go(page, 'train', 'Train');
    await trainThroughTrainScreen(page, adapterName, 'zara.txt');
    await page.screenshot({ path: path.join(DOCS, 'train.png') });
    // "chat with it" opens Chat on the new adapter and its base model, not on the base alone (issue 18 item 7).
    await page.getByRole('link', { name: 'chat with it' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1, name: 'Chat' }).count()).toBe(1);
    const talkTo = page.getByRole('combobox', { name: 'Model or adapter' });
    await expect.poll(() => talkTo.locator('option:checked').innerText()).toBe(adapterName);
    await expect.poll(() => page.getByRole('combobox', { name: 'Base model', exact: true }).locator('option:checked').innerText()).toBe(DEMO_MODEL);
    await go(page, 'adapters', 'Adapters');
    const item = page.getByRole('list', { name: 'Adapters in the library' }).getByRole('button', { name: new RegExp(adapterName) });
    await expect.poll(() => item.count(), { timeout: 30_000 }).toBe(1);
    await item.click();
    await expect.poll(() => page.getByRole('heading', { level: 2, name: adapterName }).count()).toBe(1);
    // The details show the training's own loss curve.
    await expect.poll(() => page.getByTestId('adapter-loss-curve').count()).toBe(1);
  });

  it('exports the adapter as a PEFT zip and imports it back', async () => {
    const zip = path.join(home, 'exports', 'zara.zip');
    mkdirSync(path.dirname(zip), { recursive: true });
    await page.getByRole('button', { name: 'Export…' }).click();
    const exportDialog = page.getByRole('dialog', { name: `Export "${adapterName}"` });
    await exportDialog.getByRole('radio', { name: /PEFT zip/ }).check();
    await exportDialog.getByLabel('Save as').fill(zip);
    await exportDialog.getByRole('button', { name: 'Export', exact: true }).click();
    await expect
      .poll(
        () =>
          exportDialog
            .getByRole('status')
            .innerText()
            .catch(() => ''),
        { timeout: 30_000 },
      )
      .toContain(zip);
    expect(existsSync(zip)).toBe(true);
    await exportDialog.getByRole('button', { name: 'Close' }).click();

    await page.getByRole('button', { name: 'Import…' }).click();
    const importDialog = page.getByRole('dialog', { name: 'Import an adapter' });
    await importDialog.getByLabel('File or folder on this machine').fill(zip);
    expect(await importDialog.getByTestId('import-kind').innerText()).toContain('.zip');
    await importDialog.getByLabel('Name in the library (optional)').fill('Zara (re-imported)');
    await importDialog.getByLabel('Check against base model (optional)').selectOption({ label: DEMO_MODEL });
    await importDialog.getByRole('button', { name: 'Import', exact: true }).click();
    // The dialog's text when it stays open (an error it shows) is what a failure should report.
    await expect.poll(async () => ((await importDialog.count()) === 0 ? 'closed' : await importDialog.innerText()), { timeout: 30_000 }).toBe('closed');
    await expect.poll(() => page.getByRole('heading', { level: 2, name: 'Zara (re-imported)' }).count()).toBe(1);
  });

  it('compares the base and the re-imported adapter: both columns stream, and they differ', async () => {
    await go(page, 'chat', 'Chat');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByLabel('Column 1 model').selectOption({ label: 'Base model' });
    await page.getByLabel('Column 2 model').selectOption({ label: 'Zara (re-imported)' });
    await page.getByLabel('Device').selectOption('cpu');
    await page.getByLabel('Prompt format').selectOption('plain');
    await page.getByLabel('Temperature').fill('0');
    await page.getByLabel('Max tokens').fill('200');

    // Record what both columns show on every DOM change while the run is live (aria-busy), to prove the
    // tokens arrived in both while generation was still going, not all at the end.
    // (String expressions: they run in the page, whose DOM types this Node-typed project does not load.)
    await page.evaluate(`(() => {
      window.__seen = [];
      const read = () => {
        const a = document.querySelector('[data-testid="reply-0-0"]');
        const b = document.querySelector('[data-testid="reply-0-1"]');
        if (!a || !b) return;
        const busy = a.closest('article')?.getAttribute('aria-busy') === 'true';
        window.__seen.push({ busy, a: a.textContent ?? '', b: b.textContent ?? '' });
      };
      new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    })()`);
    await page.getByLabel('Prompt', { exact: true }).fill('Once upon a time, there was a little girl named');
    await page.getByRole('button', { name: 'Send' }).click();
    // The run ends when Send comes back in place of Stop.
    await expect.poll(() => page.getByRole('button', { name: 'Send' }).count(), { timeout: 90_000 }).toBe(1);

    const base = (await page.getByTestId('reply-0-0').innerText()).trim();
    const adapter = (await page.getByTestId('reply-0-1').innerText()).trim();
    expect(base.length).toBeGreaterThan(20);
    expect(adapter.length).toBeGreaterThan(20);
    expect(adapter).not.toBe(base);
    expect(adapter).toContain('Zara'); // the adapter learned the name; the base has never seen it
    expect(base).not.toContain('Zara');

    const seen = (await page.evaluate('window.__seen')) as { busy: boolean; a: string; b: string }[];
    const partial = seen.filter((s) => s.busy && s.a.replace('▍', '').trim() && s.b.replace('▍', '').trim());
    expect(partial.length, 'both columns showed text while the run was still going').toBeGreaterThan(0);
    expect(
      partial.some((s) => s.a.replace('▍', '').trim().length < base.length && s.b.replace('▍', '').trim().length < adapter.length),
    ).toBe(true);

    await page.screenshot({ path: path.join(DOCS, 'compare.png') });
    // The conversation was saved and shows in the list.
    await expect.poll(() => page.getByRole('complementary', { name: 'Conversations' }).innerText()).toContain('Once upon a time');
  });

  it('tags, filters, deletes with undo, and blends in the Adapters screen', async () => {
    await go(page, 'adapters', 'Adapters');
    const list = page.getByRole('list', { name: 'Adapters in the library' });
    await list.getByRole('button', { name: new RegExp(`^${adapterName}`) }).click();
    await page.getByLabel('Tags (comma-separated)').fill('zara, stories');
    await page.getByRole('button', { name: 'Save tags' }).click();
    const filter = page.getByRole('group', { name: 'Filter by tag' });
    await filter.getByRole('button', { name: 'zara' }).click();
    await expect.poll(() => list.getByRole('button').count()).toBe(1);
    await filter.getByRole('button', { name: 'zara' }).click();
    await expect.poll(() => list.getByRole('button').count()).toBe(2);

    await list.getByRole('button', { name: /^Zara \(re-imported\)/ }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => list.getByRole('button').count()).toBe(1);
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => list.getByRole('button').count()).toBe(2);
    await expect.poll(() => page.getByRole('heading', { level: 2, name: 'Zara (re-imported)' }).count()).toBe(1);

    await page.getByRole('button', { name: 'Blend…' }).click();
    const blend = page.getByRole('dialog', { name: 'Blend adapters' });
    for (const box of await blend.getByRole('checkbox').all()) await box.check();
    await blend.getByRole('radio', { name: 'Compressed to rank' }).check();
    await blend.getByRole('spinbutton', { name: 'Rank' }).fill('2');
    await blend.getByLabel('Name of the new adapter').fill('Zara blend');
    await blend.getByRole('button', { name: 'Blend', exact: true }).click();
    await expect
      .poll(
        () =>
          blend
            .getByTestId('blend-result')
            .innerText()
            .catch(() => ''),
        { timeout: 30_000 },
      )
      .toMatch(/compressed, rank 2\). Reconstruction error: \d+\.\d\d%/);
    await blend.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => list.getByRole('button').count()).toBe(3);
    // Closing a dialog gives focus back to the button that opened it.
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Blend…');
    // The list moves with the arrow keys and keeps one tab stop.
    const items = list.getByRole('button');
    await items.first().click();
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => items.nth(1).getAttribute('aria-current')).toBe('true');
    expect(await page.evaluate('document.activeElement?.id')).toBe(await items.nth(1).getAttribute('id'));
    expect(await items.evaluateAll((els) => els.filter((e) => e.getAttribute('tabindex') === '0').length)).toBe(1);
  });

  it('passes axe-core on the Adapters and Chat screens with data and with each dialog open, in both themes', async () => {
    const found: string[] = [];
    const check = async (what: string) => {
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        found.push(...describeViolations(await seriousA11yViolations(page)).map((v) => `${what} (${scheme}): ${v}`));
        await page.screenshot({ path: path.join(screensDir(), `flow-${what}-${scheme}.png`) });
      }
      await page.emulateMedia({ colorScheme: 'light' });
    };
    await go(page, 'adapters', 'Adapters');
    await page
      .getByRole('list', { name: 'Adapters in the library' })
      .getByRole('button', { name: /^Zara blend/ })
      .click();
    await page.getByRole('heading', { level: 2, name: 'Zara blend' }).waitFor();
    await check('adapters');
    for (const [button, dialog] of [
      ['Import…', 'Import an adapter'],
      ['Export…', 'Export "Zara blend"'],
      ['Blend…', 'Blend adapters'],
    ]) {
      await page.getByRole('button', { name: button }).click();
      await page.getByRole('dialog', { name: dialog }).waitFor();
      await check(`adapters-${button.replace('…', '').toLowerCase()}-dialog`);
      await page.keyboard.press('Escape');
      await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    }
    await go(page, 'chat', 'Chat');
    await page
      .getByRole('complementary', { name: 'Conversations' })
      .getByRole('button', { name: /^Once upon a time/ })
      .click();
    await expect.poll(() => page.getByTestId('reply-0-1').innerText()).toContain('Zara');
    await check('chat-compare');
    expect(found).toEqual([]);
  });

  it('raised no console errors or unhandled rejections', () => {
    expect(pageErrors).toEqual([]);
  });
});

/**
 * The Train screen: the demo model, the dataset, the Quick preset with a learning rate, batch and sequence
 * length that suit these short stories, 30 steps on the CPU; the loss chart's data is sampled while it runs.
 */
async function trainThroughTrainScreen(page: Page, name: string, dataset: string): Promise<void> {
  await page.getByLabel('Base model').selectOption({ label: DEMO_MODEL });
  // (A wrapping label's accessible name includes the control's value, hence the anchored patterns.)
  await page.getByRole('combobox', { name: /^Dataset/ }).selectOption({ label: dataset });
  await page.getByLabel('Adapter name').fill(name);
  await page.getByRole('radio', { name: /Quick/ }).check();
  await page.getByLabel('Device').selectOption('cpu');
  await page.getByText('Advanced options').click();
  await page.getByRole('spinbutton', { name: /^Steps/ }).fill('30');
  await page.getByLabel('Learning rate').fill('0.005');
  await page.getByLabel('Batch (rows)').fill('4');
  await page.getByLabel('Sequence length').fill('64');
  await page.getByRole('button', { name: 'Start training' }).click();
  const chart = page.getByTestId('loss-chart');
  const points = async () => Number((await chart.getAttribute('data-points', { timeout: 50 }).catch(() => null)) ?? '0');
  const seen: number[] = [];
  await expect
    .poll(
      async () => {
        seen.push(await points());
        return page.getByTestId('train-done').count();
      },
      { timeout: 120_000, interval: 50 },
    )
    .toBe(1);
  seen.push(await points());
  // The chart had some points before the end and more at the end: it grew while the run went on.
  const during = seen.filter((n) => n > 0);
  expect(during.length, `loss chart point counts sampled: ${seen.join(',')}`).toBeGreaterThan(1);
  expect(Math.max(...seen)).toBeGreaterThanOrEqual(30); // 30 train-loss points, plus the eval points
  expect(Math.min(...during)).toBeLessThan(Math.max(...seen));
}

if (!hasChromium) {
  describe('the whole flow in the browser (acceptance 1)', () => {
    // Skipped only where no Chromium is installed: the flow needs a browser; the title says how to install one.
    it.skip(CHROMIUM_MISSING_HELP, () => undefined);
  });
}
