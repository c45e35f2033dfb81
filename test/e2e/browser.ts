// The browser side of the end-to-end tests: Debian's Chromium through playwright-core, a fresh
// context per test, screenshots kept (and taken on failure), and the renderer built when stale.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { ensureConsoleBuilt } from '../../scripts/console-build.mjs';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const SCREENSHOT_DIR = join(ROOT, 'test-results', 'screenshots');
const CHROMIUM = process.env.LATTICE_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Builds dist/renderer when it is missing or older than its sources, as `lattice agent` does (one
 * build path: scripts/console-build.mjs). Test files run in parallel: its lock makes one of them
 * build while the others wait for the result.
 */
export async function ensureRendererBuilt(): Promise<void> {
  await ensureConsoleBuilt({ log: () => undefined });
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\`.`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh context (no cookies, no storage) that may use the clipboard, as a person's browser would. */
export async function newContext(browser: Browser, origin?: string): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], origin ? { origin } : undefined);
  context.setDefaultTimeout(60_000);
  return context;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A screenshot of one part of the page (a panel), for the README and reviews. */
export async function screenshotOf(locator: Locator, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await locator.screenshot({ path });
  return path;
}

/** Runs a test body; on failure saves a screenshot of every page given, then rethrows. */
export async function withFailureScreenshots(name: string, pages: () => Page[], body: () => Promise<void>) {
  try {
    await body();
  } catch (err) {
    let i = 0;
    for (const page of pages()) {
      await screenshot(page, `FAILED-${name}-${i++}`).catch(() => undefined);
    }
    throw err;
  }
}

/** A page in a fresh context, and the errors it has had so far (collectPageErrors). */
export interface FreshPage {
  page: Page;
  errors: string[];
}

/**
 * One test's pages: `open(origin)` gives a page in a fresh context allowed the clipboard on that origin
 * (newContext), its errors collected; if the body fails, every page opened is screenshotted
 * (withFailureScreenshots) and the failure rethrown; every context is closed at the end, pass or fail.
 */
export async function withFreshPages(
  browser: Browser,
  name: string,
  body: (open: (origin: string) => Promise<FreshPage>) => Promise<void>,
): Promise<void> {
  const contexts: BrowserContext[] = [];
  const pages: Page[] = [];
  const open = async (origin: string): Promise<FreshPage> => {
    const context = await newContext(browser, origin);
    contexts.push(context);
    const page = await context.newPage();
    pages.push(page);
    return { page, errors: collectPageErrors(page) };
  };
  try {
    await withFailureScreenshots(
      name,
      () => pages,
      () => body(open),
    );
  } finally {
    for (const context of contexts) await context.close().catch(() => undefined);
  }
}

/** Collects console errors and page errors so a test can assert the page ran clean (CSP included). */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return errors;
}

/** Errors a page must never have: script errors and CSP violations (failed requests are answers, not bugs). */
export const seriousErrors = (errors: string[]) =>
  errors.filter((e) => !e.includes('Failed to load resource'));

/** Controls without an accessible name (no <label>, aria-label, aria-labelledby or button text). */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return (await page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') ||
      (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map((el) => el.outerHTML.slice(0, 120))`)) as string[];
}

/** Opens the headless console in a fresh context through its token prompt (the printed login URL works once). */
export async function signInWithToken(page: Page, origin: string, token: string): Promise<void> {
  await page.goto(`${origin}/`);
  await page.locator('#console-token').fill(token);
  await page.getByRole('button', { name: 'Open the console' }).click();
  await page.getByTestId('template-gallery').waitFor();
}

/** Waits until the workload page open in `page` (console or dashboard) says, in its header, running. */
export async function workloadPageRunning(page: Page): Promise<void> {
  await page
    .locator('[data-testid="workload-page"] header [data-testid="workload-status"][data-status="running"]')
    .waitFor();
}
