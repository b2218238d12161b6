// The file view after a power loss, end to end: R5 (ext4 data=writeback, a
// volatile write cache, the crash seconds after the kill). The model decides
// which seeds expose stale blocks; the test searches for one.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { join } from "node:path";
import { SHOTS, launchBrowser, runSeed, screenshot, serveDist, waitForApp, waitForRun, withPage } from "./harness.mjs";

const VIEWPORT = { width: 1440, height: 960 };
const ROW_H = 18;

/** "0x…" of the 16-byte row holding byte `off` (a BigInt). */
const rowOf = (off) => "0x" + (off & ~0xfn).toString(16);

/** The od -x cell holding byte `off` of its row has the given class. */
async function cellClass(page, off) {
  const row = page.locator(`#hexdump .hex-row[data-offset="${rowOf(off)}"]`);
  await row.waitFor();
  return row.locator(".cell").nth(Number((off & 0xfn) >> 1n)).getAttribute("class");
}

/** Saves the file view alone, at full size, as target/e2e/NAME.png. */
function shootFileView(page, name) {
  return page.locator(".hexview").screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Scrolls the virtualized dump so that the row of byte `off` is rendered. */
async function scrollTo(page, off) {
  await page.locator("#hexdump").evaluate((el, top) => {
    el.scrollTop = top;
    el.dispatchEvent(new Event("scroll"));
  }, Number(off >> 4n) * ROW_H);
  await page.locator(`#hexdump .hex-row[data-offset="${rowOf(off)}"]`).waitFor();
}

describe("file view after a crash", () => {
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

  test("R5: stale disk bytes at the evidence offset, the on-disk size markers, light and dark", { timeout: 600_000 }, async (t) => {
    let found;
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForApp(page);
        // The gallery shows the filesystem presets with kernel and fs.
        for (const id of ["r5", "r5-nocrash", "r6"]) {
          const tags = await page.locator(`#preset-${id} .tag`).allTextContents();
          assert.ok(tags.some((x) => x.startsWith("linux ")), `${id}: ${tags}`);
          assert.ok(tags.some((x) => /^(ext4|xfs|btrfs)/.test(x)), `${id}: ${tags}`);
        }
        assert.match(await page.locator("#preset-r5 .showcase-tag").textContent(), /^seed \d+ → stale_beyond_isize$/);
        assert.deepEqual(await page.locator("#preset-r5 .tag").allTextContents(), [
          "linux 4.13-rc",
          "ext4 data=writeback",
          "power loss",
        ]);

        await page.click("#preset-r5");
        const verdict = page.locator("#verdict");
        let seed = null;
        for (let s = 0; s < 40 && seed === null; s++) {
          await runSeed(page, s);
          if ((await verdict.getAttribute("data-evidence-outcome")) === "stale_beyond_isize") seed = s;
        }
        assert.notEqual(seed, null, "no R5 seed below 40 exposes stale disk blocks");
        const offset = BigInt(await verdict.getAttribute("data-evidence-offset"));
        const file = await verdict.getAttribute("data-evidence-file");
        assert.match(await page.locator("#explain").textContent(), /^After the crash, .* blocks \d+/);

        // The File tab opens the evidence file at the evidence.
        const selected = await page.locator("#file-select").evaluate((s) => s.selectedOptions[0].textContent);
        assert.ok(selected.startsWith(file), `${selected} is ${file}`);
        assert.match(await cellClass(page, offset), /\bb-stale_disk\b/);
        const row = page.locator(`#hexdump .hex-row[data-offset="${rowOf(offset)}"]`);
        assert.match(await row.locator(".row-tag").textContent(), /stale_disk/);
        assert.equal(await row.locator(".cell.b-stale_disk").first().getAttribute("title"), "stale_disk");

        // Every class is in the legend; the ones this file has are marked.
        const legend = await page.locator(".legend .lg").evaluateAll((els) =>
          els.map((e) => [e.dataset.class, !e.classList.contains("absent")]),
        );
        assert.equal(legend.length, 10, JSON.stringify(legend));
        assert.ok(legend.some(([c, here]) => c === "stale_disk" && here), JSON.stringify(legend));

        // The on-disk sizes: read back now, and durable at the first SIGKILL.
        const meta = page.locator("#hex-meta");
        const diskSize = BigInt(await meta.getAttribute("data-disk-size"));
        const atKill = BigInt(await meta.getAttribute("data-disk-size-at-kill"));
        assert.ok(offset < diskSize, `evidence ${offset} inside the ${diskSize} bytes read back`);
        assert.match(await page.locator("#disk-size-at-kill").textContent(), new RegExp(`0x${atKill.toString(16)} \\(${atKill} B\\)`));
        assert.match(await page.locator("#disk-size").textContent(), new RegExp(`\\(${diskSize} B\\)`));
        await screenshot(page, "r5-stale-disk-od-x");
        await shootFileView(page, "r5-file-view-od-x");
        if (atKill > 0n && atKill <= diskSize) {
          await scrollTo(page, atKill - 1n);
          const marked = page.locator(`#hexdump .hex-row[data-offset="${rowOf(atKill - 1n)}"] .marker`);
          assert.ok((await marked.allTextContents()).includes("◂ on disk at SIGKILL"));
          await shootFileView(page, "r5-file-view-on-disk-at-kill-marker");
        }
        found = { seed, offset, file, link: page.url() };
      },
      { viewport: VIEWPORT },
    );

    // The permalink replays the same run; the dark theme shows the class too.
    await withPage(
      t,
      browser,
      found.link,
      async (page) => {
        await waitForRun(page, found.seed);
        const verdict = page.locator("#verdict");
        assert.equal(await verdict.getAttribute("data-evidence-file"), found.file);
        assert.equal(BigInt(await verdict.getAttribute("data-evidence-offset")), found.offset);
        assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
        assert.match(await cellClass(page, found.offset), /\bb-stale_disk\b/);
        await page.click("#od-b");
        await page.locator('#hexdump[data-style="octal"]').waitFor();
        const cell = page
          .locator(`#hexdump .hex-row[data-offset="${rowOf(found.offset)}"] .cell`)
          .nth(Number(found.offset & 0xfn));
        assert.match(await cell.getAttribute("class"), /\bb-stale_disk\b/);
        await screenshot(page, "r5-stale-disk-dark-od-b");
        await shootFileView(page, "r5-file-view-dark-od-b");
      },
      { colorScheme: "dark", viewport: VIEWPORT },
    );
  });
});
