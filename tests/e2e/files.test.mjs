// Files in and out of the playground: a scenario saved as TOML, opened from
// a file and dropped on the editor (each runs like typed text), a file that
// is too large refused with a message, and the text and ASCII exports
// downloaded next to the Perfetto JSON.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, outcomes, runSeed, screenshot, serveDist, waitForApp, waitForFirstRun, withPage } from "./harness.mjs";

const VIEWPORT = { width: 1440, height: 960 };

async function downloaded(page, selector) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  const body = await (await download.createReadStream()).toArray();
  return { name: download.suggestedFilename(), text: Buffer.concat(body).toString() };
}

describe("scenario files and export downloads", () => {
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

  test("save, open and drop a scenario file; a file over 1 MiB is refused", { timeout: 180_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForApp(page);
        await waitForFirstRun(page);
        const area = page.locator("#scenario-text");
        const saved = await downloaded(page, "#scenario-save");
        assert.equal(saved.name, "scenario.toml");
        assert.equal(saved.text, await area.inputValue(), "the file is the editor's text");
        assert.match(saved.text, /^\[machine\]$/m);

        // Opened: the file's text replaces the editor's and is what runs.
        const two = saved.text.replace(/^cpus = \d+$/m, "cpus = 2").replace(/^sockets = \d+$/m, "sockets = 1");
        assert.notEqual(two, saved.text);
        await page.setInputFiles("#scenario-open", { name: "two.toml", mimeType: "text/plain", buffer: Buffer.from(two) });
        await page.waitForFunction((t) => document.querySelector("#scenario-text").value === t, two);
        assert.equal(await page.locator("#f-cpus").inputValue(), "2", "the form follows the opened file");
        await runSeed(page, 2);
        assert.ok((await outcomes(page)).length > 0);
        assert.equal(await page.locator("#editor-errors li").count(), 0);

        // Dropped: the same, through a drop event carrying a file.
        const four = two.replace(/^cpus = 2$/m, "cpus = 4");
        await page.evaluate((text) => {
          const dt = new DataTransfer();
          dt.items.add(new File([text], "four.toml", { type: "text/plain" }));
          const el = document.querySelector("#scenario-text");
          el.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
          el.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
        }, four);
        await page.waitForFunction((t) => document.querySelector("#scenario-text").value === t, four);
        assert.equal(await page.locator("#f-cpus").inputValue(), "4");

        // A bad file is bad input like typed text: its error at its line.
        const bad = four.replace(/^cpus = 4$/m, "cpus = 0");
        await page.setInputFiles("#scenario-open", { name: "bad.toml", mimeType: "text/plain", buffer: Buffer.from(bad) });
        await page.locator("#editor-errors li[data-line]").waitFor();
        assert.match(await page.locator("#editor-errors").textContent(), /machine\.cpus/);

        // Too large: refused before it is read, and the text stays.
        const huge = "#".repeat(1_100_000);
        await page.setInputFiles("#scenario-open", { name: "huge.toml", mimeType: "text/plain", buffer: Buffer.from(huge) });
        await page.locator("#scenario-file-status", { hasText: "huge.toml: over 1 MiB" }).waitFor();
        assert.equal(await area.inputValue(), bad);
        await screenshot(page, "scenario-file-refused");
      },
      { viewport: VIEWPORT },
    );
  });

  test("the text and the ASCII diagram download as files, next to the Perfetto JSON", { timeout: 180_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForApp(page);
        await waitForFirstRun(page);
        const seed = (await page.locator("#seed").inputValue()).trim();
        const text = await downloaded(page, "#export-text-file");
        assert.equal(text.name, `oomlab-${seed}.trace.txt`);
        assert.match(text.text, /setup_per_zone_wmarks/);
        assert.ok(text.text.split("\n").length > 100);
        const ascii = await downloaded(page, "#export-ascii-file");
        assert.equal(ascii.name, `oomlab-${seed}.race.txt`);
        assert.match(ascii.text, /^time \(s\)\s+CPU\d/);
        assert.ok(ascii.text.split("\n").every((l) => [...l].length <= 80), ascii.text);
        const perfetto = await downloaded(page, "#export-perfetto");
        assert.ok(JSON.parse(perfetto.text).traceEvents.length > 100);
        await page.locator(".export").scrollIntoViewIfNeeded();
        await screenshot(page, "export-downloads", { fullPage: false });
      },
      { viewport: VIEWPORT },
    );
  });
});
