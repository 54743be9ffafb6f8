// Headless Chromium for the browser tests (playwright-core with Debian's chromium).
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/**
 * Chromium started headless, or null when it is missing and LOGFOREST_BROWSER_TESTS=0
 * turns the browser tests off; missing otherwise is a failure that says what to do.
 */
export async function launchChromium(): Promise<Browser | null> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.LOGFOREST_BROWSER_TESTS === "0") return null;
    throw new Error(`${CHROMIUM} is missing: install it (apt-get install -y chromium; .ci/run does) or set LOGFOREST_BROWSER_TESTS=0 to skip the browser test`);
  }
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
}

/** A page of `url` at 1400x900 that collects its uncaught errors, once the dashboard says `status`. */
export async function openDashboardPage(browser: Browser, url: string, status = "waiting"): Promise<{ page: Page; pageErrors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(url);
  await page.locator("#status", { hasText: status }).waitFor();
  return { page, pageErrors };
}
