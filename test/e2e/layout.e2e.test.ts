/**
 * Chat and Compare at window widths from 900 to 1920 px, light and dark (issue 18 item 4): nothing overflows
 * sideways, the View toggle and the panes never overlap, compare columns stay readable (they wrap onto more
 * rows instead of shrinking), the side panes fold away on narrow windows and open on demand, and axe-core
 * finds nothing serious. Screenshots land in test-results/screens/chat-compare-<width>-<theme>.png.
 */
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, chromiumAvailable, screensDir } from './env';
import { captureErrors, describeViolations, seriousA11yViolations, startServeIsolated, type Served } from './helpers';

type Box = { x: number; y: number; width: number; height: number };
const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const box = async (l: Locator): Promise<Box> => (await l.boundingBox())!;

describe.skipIf(!chromiumAvailable())('Chat/Compare layout from 900 to 1920 px', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    served = await startServeIsolated();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1920, height: 1000 }, colorScheme: 'light' });
    captureErrors(page, errors);
    await page.goto(served.url);
  });

  it('sets up four compare columns with an answer each', async () => {
    // Four compare columns with one short answer each: the widest content the screen has to lay out.
    await page.getByRole('button', { name: 'Add the demo model' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'stories260K (demo)' }).count(), { timeout: 60_000 }).toBe(1);
    await page.getByRole('link', { name: 'Chat', exact: true }).click();
    await page.getByRole('combobox', { name: 'Base model', exact: true }).selectOption({ label: 'stories260K (demo)' });
    await page.getByLabel('Device').selectOption('cpu');
    await page.getByLabel('Max tokens').fill('12');
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    await page.getByRole('button', { name: 'Add column' }).click();
    await page.getByRole('button', { name: 'Add column' }).click();
    await page.getByLabel('Prompt', { exact: true }).fill('Once upon a time');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Send' }).count(), { timeout: 60_000 }).toBe(1);
    expect(await page.getByRole('article', { name: /reply$/ }).count()).toBe(4);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await served?.stop();
  });

  /** The checks every width and theme must pass, with the panes as they are now. */
  async function checkLayout(width: number) {
    // Passed as a string: this file is type-checked without the DOM library.
    const overflow = await page.evaluate(
      "({ doc: document.documentElement.scrollWidth - window.innerWidth, main: document.querySelector('main').scrollWidth - document.querySelector('main').clientWidth })",
    );
    expect(overflow, `sideways overflow at ${width} px`).toEqual({ doc: 0, main: 0 });
    const toggle = await box(page.getByRole('group', { name: 'View' }));
    for (const pane of ['Settings', 'Conversations']) {
      const aside = page.getByRole('complementary', { name: pane });
      if (await aside.count()) expect(overlaps(toggle, await box(aside)), `View toggle overlaps ${pane} at ${width} px`).toBe(false);
    }
    const transcript = await box(page.getByRole('log', { name: 'Conversation' }));
    expect(transcript.width, `transcript width at ${width} px`).toBeGreaterThanOrEqual(280);
    for (const card of await page.getByRole('article', { name: /reply$/ }).all()) {
      const b = await box(card);
      expect(b.width, `a compare column at ${width} px`).toBeGreaterThanOrEqual(240);
      expect(b.x + b.width).toBeLessThanOrEqual(transcript.x + transcript.width + 1);
    }
    expect(describeViolations(await seriousA11yViolations(page))).toEqual([]);
  }

  for (const width of [1920, 900]) {
    for (const scheme of ['light', 'dark'] as const) {
      it(`${width} px, ${scheme}: no overflow or overlap, readable columns, axe clean`, async () => {
        await page.setViewportSize({ width, height: 1000 });
        await page.emulateMedia({ colorScheme: scheme });
        await checkLayout(width);
        await page.screenshot({ path: path.join(screensDir(), `chat-compare-${width}-${scheme}.png`) });
      });
    }
  }

  it('900 px: the side panes start folded and open on demand without crowding the transcript', async () => {
    await page.setViewportSize({ width: 900, height: 1000 });
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await page.getByRole('complementary', { name: 'Settings' }).count()).toBe(0);
    expect(await page.getByRole('complementary', { name: 'Conversations' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await page.getByRole('button', { name: 'Conversations', exact: true }).click();
    expect(await page.getByRole('button', { name: 'Settings', exact: true }).getAttribute('aria-expanded')).toBe('true');
    expect(await page.getByLabel('Max tokens').inputValue()).toBe('12');
    await checkLayout(900);
    await page.screenshot({ path: path.join(screensDir(), 'chat-compare-900-panes-open.png') });
    // The screen list runs along the top at this width, leaving the screen the whole width.
    const nav = await box(page.getByRole('navigation', { name: 'Screens' }));
    expect(nav.width).toBeGreaterThan(800);
  });

  it('raised no console errors', () => {
    expect(errors).toEqual([]);
  });
});
