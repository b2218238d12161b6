// The page runs under a strict Content-Security-Policy: no inline script, no
// eval, nothing from other origins. Every test fails on a violation (see
// harness.mjs); this one checks the policy is really enforced.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, openPage, serveDist, waitForFirstRun } from "./harness.mjs";

describe("content security policy", () => {
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

  test("the policy is set, the page obeys it, and an injected inline script is refused", { timeout: 120_000 }, async () => {
    const { page, problems, close } = await openPage(browser, server.url);
    try {
      await waitForFirstRun(page);
      const policy = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', "content");
      assert.match(policy, /default-src 'none'/);
      assert.match(policy, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
      assert.equal(await page.locator("script:not([src])").count(), 0);
      // The app ran its showcase run under the policy without a violation.
      assert.deepEqual(problems, []);
      const ran = await page.evaluate(async () => {
        const s = document.createElement("script");
        s.textContent = "window.__inlineRan = true;";
        document.body.append(s);
        await new Promise((r) => setTimeout(r, 200));
        return window.__inlineRan === true;
      });
      assert.equal(ran, false, "an inline script ran");
      // Chromium's own report and the page's listener, both about that script.
      assert.ok(problems.length >= 1, "no violation reported");
      assert.ok(problems.some((p) => /CSP violation: script-src/.test(p)), problems.join("\n"));
      for (const p of problems) assert.match(p, /inline script|script-src-elem/);
    } finally {
      await close();
    }
  });
});
