import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, screenshot, serveDist, waitForApp, withPage } from "./harness.mjs";

describe("home page", () => {
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

  test("shows the model version computed by oomlab-core in wasm", async (t) => {
    await withPage(t, browser, server.url, async (page) => {
      await waitForApp(page);
      const version = (await page.locator("#model-version").textContent()).trim();
      assert.match(version, /^[1-9][0-9]*$/, `model version is "${version}"`);
      await screenshot(page, "home");
    });
  });

  test("renders in dark mode without errors", async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForApp(page);
        await screenshot(page, "home-dark");
      },
      { colorScheme: "dark" },
    );
  });

  test("an unknown path is a 404, not the app", async (t) => {
    const res = await fetch(new URL("no-such-file", server.url));
    assert.equal(res.status, 404);
  });
});
