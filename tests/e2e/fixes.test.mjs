// Smaller fixes of the playground, each against what the page shows: the A/B
// claim, the challenge's side panels, the trace filter across columns, the
// explorer's input checks, the skip link and the shortcut list, the hex
// view's note on od's offsets.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, screenshot, serveDist, waitForFirstRun, withPage } from "./harness.mjs";

const VIEWPORT = { width: 1440, height: 900 };

describe("fixes", () => {
  let server;
  let browser;

  before(async () => {
    server = await serveDist();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test("A/B does not claim B is A; a divergence at record 0 says the runs share nothing", { timeout: 300_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        await page.click("#compare-with");
        const claim = await page.locator("#compare > p").first().textContent();
        assert.doesNotMatch(claim, /exactly/);
        assert.match(claim, /not A itself/);
        await page.selectOption("#ab-unstable-check", "none");
        await page.selectOption("#ab-reaper", "false");
        await page.click("#ab-run");
        const div = page.locator("#ab-divergence");
        await page.waitForFunction(() => document.querySelector("#ab-divergence")?.dataset.idx !== undefined, null, {
          timeout: 240_000,
        });
        const idx = await div.getAttribute("data-idx");
        if (idx === "0") assert.match(await div.textContent(), /shares none of A's history/);
        else assert.match(await div.textContent(), /everything before it is the same/);
        await screenshot(page, "ab-reaper-off", { fullPage: false });
      },
      { viewport: VIEWPORT },
    );
  });

  test("the trace filter matches across columns, as the rows read", async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        await page.click("#tab-trace");
        // "cpuN comm/pid" of a row, as it is displayed.
        const line = await page.locator("#trace .trace-row").nth(5).textContent();
        const m = line.match(/(cpu\d+ \S+\/\d+)/);
        assert.ok(m, line);
        await page.fill("#trace-filter", m[1]);
        await page.waitForFunction(
          (q) => {
            const rows = [...document.querySelectorAll("#trace .trace-row")];
            return rows.length > 0 && rows.every((r) => r.textContent.includes(q));
          },
          m[1],
        );
        // Words in any order and column.
        const [cpu, task] = m[1].split(" ");
        await page.fill("#trace-filter", `${task} ${cpu}`);
        await page.waitForFunction(
          ([a, b]) => {
            const rows = [...document.querySelectorAll("#trace .trace-row")];
            return rows.length > 0 && rows.every((r) => r.textContent.includes(a) && r.textContent.includes(b));
          },
          [cpu, task],
        );
      },
      { viewport: VIEWPORT },
    );
  });

  test("explore refuses Runs 0 and -5 and more workers than logical CPUs, beside the fields", async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        await page.click("#mode-explore");
        const hw = await page.evaluate(() => navigator.hardwareConcurrency);
        for (const bad of ["0", "-5"]) {
          await page.fill("#ex-runs", bad);
          await page.locator("#ex-runs").dispatchEvent("change");
          await page.locator("#ex-invalid").waitFor();
          assert.equal(await page.locator("#ex-start").isDisabled(), true, `Runs ${bad}`);
          assert.equal(await page.locator("#ex-runs").getAttribute("aria-invalid"), "true");
        }
        await page.fill("#ex-runs", "5");
        await page.locator("#ex-runs").dispatchEvent("change");
        await page.locator("#ex-invalid").waitFor({ state: "detached" });
        assert.equal(await page.locator("#ex-start").isDisabled(), false);
        await page.fill("#ex-workers", String(hw + 62));
        await page.locator("#ex-workers").dispatchEvent("change");
        await page.locator("#ex-invalid").waitFor();
        assert.match(await page.locator("#ex-invalid").textContent(), new RegExp(`at most ${hw} workers`));
        assert.equal(await page.locator("#ex-start").isDisabled(), true);
        await screenshot(page, "explore-invalid-inputs", { fullPage: false });
        await page.fill("#ex-workers", String(hw));
        await page.locator("#ex-workers").dispatchEvent("change");
        await page.locator("#ex-invalid").waitFor({ state: "detached" });
        assert.match(await page.locator("#ex-status").textContent(), new RegExp(`${hw} workers?`));
      },
      { viewport: VIEWPORT },
    );
  });

  test("the challenge does not show the previous run's panels", { timeout: 120_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        assert.equal(await page.locator("#hexdump").count(), 1);
        await page.click("#mode-challenge");
        await page.locator("#details-challenge").waitFor();
        assert.equal(await page.locator("#hexdump").count(), 0);
        await page.click("#mode-run");
        await page.locator("#hexdump").waitFor();
      },
      { viewport: VIEWPORT },
    );
  });

  test("the first Tab stop skips to Run; ? lists the shortcuts; the hex view says how od differs", async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        await page.keyboard.press("Tab");
        assert.equal(await page.evaluate(() => document.activeElement.id), "skip-to-run");
        await page.keyboard.press("Enter");
        assert.equal(await page.evaluate(() => document.activeElement.id), "seed");
        // In a text field "?" is text; elsewhere it opens the list.
        await page.keyboard.press("?");
        assert.equal(await page.locator("#shortcuts").count(), 0);
        await page.locator("h1").click();
        await page.keyboard.press("?");
        await page.locator("#shortcuts").waitFor();
        await screenshot(page, "shortcuts", { fullPage: false });
        await page.keyboard.press("Escape");
        await page.locator("#shortcuts").waitFor({ state: "detached" });
        assert.match(await page.locator("#od-note").textContent(), /octal offsets/);
        assert.match(await page.locator("#od-note").textContent(), /not collapsed to \*/);
      },
      { viewport: VIEWPORT },
    );
  });
});
