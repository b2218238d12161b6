// What the explorer claims must hold for what was run: an exhaustive search
// cut at its run cap is "incomplete", never a proof.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, screenshot, serveDist, waitForFirstRun, withPage } from "./harness.mjs";

describe("claims", () => {
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

  test("an exhaustive search of 3 runs on R1 says it is incomplete", { timeout: 300_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        await page.click("#mode-explore");
        await page.selectOption("#ex-strategy", "exhaustive");
        await page.fill("#ex-runs", "3");
        await page.press("#ex-runs", "Tab");
        await page.waitForFunction(() => document.querySelector("#explorer").dataset.total === "3");
        await page.click("#ex-start");
        await page.waitForFunction(() => document.querySelector("#explorer").dataset.status === "done", null, {
          timeout: 240_000,
        });
        const scope = await page.locator("#verdict-scope").textContent();
        assert.match(scope, /exhaustive, incomplete/);
        assert.match(scope, /evidence, not proof/);
        assert.doesNotMatch(scope, /holds within that bound/);
        // Whatever 3 runs show of R1's [expect], the table proves nothing.
        const claims = await page.locator("#verdicts tr[data-expect]").evaluateAll((els) =>
          els.map((e) => e.dataset.expect).filter((w) => w !== ""),
        );
        assert.ok(claims.length > 0, "R1 has an [expect] section");
        assert.ok(!claims.some((w) => /holds/.test(w)), claims.join(","));
        assert.equal(await page.locator("#verdicts").getByText("holds").count(), 0);
        await screenshot(page, "explore-exhaustive-incomplete");
      },
      { viewport: { width: 1440, height: 900 } },
    );
  });
});
