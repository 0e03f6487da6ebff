import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

// Debian's chromium, driven by playwright-core (no browser download): `npm run setup` installs it.
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Starts the browser the dashboard tests drive; close it after the tests (playwright stops its processes). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`the dashboard tests drive ${CHROMIUM}: install it with npm run setup (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * One browser for a test file: launched before its tests, closed after them (playwright stops its
 * processes). Call it at the top of the file; the function it returns gives the browser.
 */
export function browserForFile(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => void (browser = await launchChromium()), 60_000);
  afterAll(async () => await browser?.close());
  return () => {
    if (!browser) throw new Error('the browser is not launched: call browserForFile() at the top of the test file');
    return browser;
  };
}

/**
 * A browser context that reaches nothing but this machine: a request anywhere else is aborted and
 * recorded in `offsite`, so a test can check that a page loads nothing from elsewhere.
 */
export async function localContext(browser: Browser, opts: { httpCredentials?: { username: string; password: string } } = {}): Promise<{ ctx: BrowserContext; offsite: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...opts });
  const offsite: string[] = [];
  await ctx.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => {
      offsite.push(route.request().url());
      return route.abort();
    },
  );
  return { ctx, offsite };
}
