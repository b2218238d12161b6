// Reusable pieces for the end-to-end tests: a static server for dist/, a
// headless Debian Chromium driven by playwright-core, and pages that record
// every console error and failed request so tests can assert there were none.
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer } from "../../scripts/static-server.mjs";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const DIST = join(ROOT, "dist");
export const SHOTS = join(ROOT, "target", "e2e");

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

// This machine has no network beyond loopback: without these Chromium keeps
// trying to reach Google services and logs refused connections.
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Starts the static server on a free loopback port. */
export function serveDist() {
  return startServer(DIST, { port: 0 });
}

/**
 * Launches Chromium. playwright-core gives every launch a new, empty
 * --user-data-dir and removes it on close, so no state leaks between runs.
 */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/** Saves a full-page screenshot as target/e2e/NAME.png and returns its path. */
// A full-page capture resizes the viewport, which moves fixed elements (the
// narrow-screen drawer); `{ fullPage: false }` shows what the user sees.
export async function screenshot(page, name, { fullPage = true } = {}) {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${slug(name)}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

/**
 * Opens a fresh browser context and page at `url` and collects problems:
 * console errors, uncaught exceptions, failed requests and HTTP errors.
 */
export async function openPage(browser, url, { colorScheme = "light", viewport } = {}) {
  const context = await browser.newContext({
    colorScheme,
    viewport: viewport ?? { width: 1200, height: 720 },
  });
  // A Content-Security-Policy violation is a problem like a console error,
  // in every test: the page must work within its own policy.
  await context.addInitScript(() =>
    addEventListener("securitypolicyviolation", (e) =>
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "(inline)"}`),
    ),
  );
  const page = await context.newPage();
  const problems = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console.error: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`uncaught: ${err.message}`));
  page.on("requestfailed", (req) =>
    problems.push(`request failed: ${req.url()} ${req.failure()?.errorText ?? ""}`),
  );
  page.on("response", (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  await page.goto(url);
  return {
    page,
    problems,
    close: () => context.close(),
  };
}

/**
 * Runs `body(page, session)` on a fresh page for node:test context `t`.
 * On failure the page is saved as target/e2e/<test>-failure.png first, and
 * any console errors are appended to the error message; on success the test
 * also fails if the page logged any error.
 */
export async function withPage(t, browser, url, body, options) {
  const session = await openPage(browser, url, options);
  try {
    await body(session.page, session);
    if (session.problems.length > 0) {
      throw new Error(`page reported problems:\n  ${session.problems.join("\n  ")}`);
    }
  } catch (err) {
    const shot = await screenshot(session.page, `${t.name}-failure`).catch(() => null);
    if (shot) err.message += `\n(screenshot: ${shot})`;
    if (session.problems.length > 0 && !err.message.includes("page reported problems")) {
      err.message += `\npage problems:\n  ${session.problems.join("\n  ")}`;
    }
    throw err;
  } finally {
    await session.close();
  }
}

/** Waits until the wasm app has mounted, i.e. the heading is rendered. */
export async function waitForApp(page) {
  await page.locator("h1", { hasText: "oomlab" }).waitFor({ timeout: 20_000 });
}

/** Sets the seed, presses Enter (which runs) and waits for that run's verdict. */
export async function runSeed(page, seed) {
  await page.fill("#seed", String(seed));
  await page.click("#run");
  await waitForRun(page, seed);
}

/** Waits until the status line reports the finished run of `seed`. */
export async function waitForRun(page, seed, timeout = 60_000) {
  try {
    await page.waitForFunction(
      (s) =>
        document.querySelector("#status")?.textContent.startsWith(`Seed ${s}:`) &&
        location.hash.startsWith("#run=v") &&
        // The verdict is a child component: yew may patch it in a later pass
        // than the status line, and every run has at least one outcome.
        document.querySelector("#verdict .chip") !== null,
      seed,
      { timeout },
    );
  } catch (err) {
    const status = await page.locator("#status").textContent().catch(() => "?");
    const field = await page.locator("#seed").inputValue().catch(() => "?");
    err.message += `\n(waiting for seed ${seed}; status "${status}", seed field "${field}")`;
    throw err;
  }
}

/** The outcome codes on the verdict banner, worst first. */
export async function outcomes(page) {
  return page.locator("#verdict .chip").evaluateAll((els) => els.map((e) => e.dataset.code));
}

/** The seed preset `id` opens on (its card's data-showcase-seed). */
export async function presetSeed(page, id) {
  const card = page.locator(`#preset-${id}`);
  await card.waitFor({ timeout: 20_000 });
  return Number(await card.getAttribute("data-showcase-seed"));
}

/** Waits for the page's first run: R1 on its showcase seed. */
export async function waitForFirstRun(page, timeout) {
  await waitForRun(page, await presetSeed(page, "r1"), timeout);
}
