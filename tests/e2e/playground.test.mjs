// The playground end to end: presets, runs, verdict, hex dump, timeline,
// permalinks, inline errors and the form, in headless Chromium.
import assert from "node:assert/strict";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import {
  launchBrowser,
  outcomes,
  runSeed,
  screenshot,
  serveDist,
  waitForApp,
  waitForFirstRun,
  waitForRun,
  withPage,
} from "./harness.mjs";

const VIEWPORT = { width: 1440, height: 960 };

describe("playground", () => {
  let server;
  let browser;
  /** The corrupting R1 seed the first test finds, and what its run showed. */
  let found;

  before(async () => {
    server = await serveDist();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function findCorruptingSeed(page) {
    await waitForApp(page);
    await page.click("#preset-r1");
    for (let seed = 0; seed < 40; seed++) {
      await runSeed(page, seed);
      if ((await outcomes(page))[0] === "zeros_in_file") return seed;
    }
    throw new Error("no R1 seed below 40 puts zeros in a file");
  }

  test("R1: a corrupting seed shows zeros_in_file, zeros in the hex dump, CPU lanes and IPI arrows", async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        const seed = await findCorruptingSeed(page);
        const verdict = page.locator("#verdict");
        assert.equal(await verdict.getAttribute("data-worst"), "zeros_in_file");
        const offset = await verdict.getAttribute("data-evidence-offset");
        const file = await verdict.getAttribute("data-evidence-file");
        assert.match(offset, /^0x[0-9a-f]+$/);
        assert.match(await page.locator("#explain").textContent(), /zero page/);

        // The File tab opens the evidence file at its first bad byte.
        const selected = await page.locator("#file-select").evaluate((s) => s.selectedOptions[0].textContent);
        assert.ok(selected.startsWith(file), `${selected} is ${file}`);
        const rowOff = "0x" + (BigInt(offset) & ~0xfn).toString(16);
        const row = page.locator(`#hexdump .hex-row[data-offset="${rowOff}"]`);
        await row.waitFor();
        const hex = await row.locator(".cell").allTextContents();
        assert.equal(hex.length, 8, "od -x prints 8 words a row");
        assert.deepEqual(new Set(hex), new Set(["0000"]), `row ${rowOff}: ${hex}`);
        assert.equal(await row.locator(".cell.b-zero_page").count(), 8);
        await screenshot(page, "r1-zeros-od-x");

        await page.click("#od-b");
        await page.locator('#hexdump[data-style="octal"]').waitFor();
        const oct = await row.locator(".cell").allTextContents();
        assert.equal(oct.length, 16, "od -b prints 16 bytes a row");
        assert.deepEqual(new Set(oct), new Set(["000"]));
        // Elsewhere the writer's 0xff bytes read 377 in octal.
        await page.locator("#hexdump .hex-row .cell.b-expected", { hasText: "377" }).first().waitFor();
        await screenshot(page, "r1-zeros-od-b");

        // Clicking a zero row focuses the copy that wrote it, in the timeline.
        const event = await row.getAttribute("data-event");
        assert.match(event, /^\d+$/);
        await row.click();
        await page.waitForFunction((e) => document.querySelector("#timeline").dataset.focus === e, event);

        // Timeline: a lane per CPU plus the kthreads, IPI arrows, and
        // user-mode stretches (the writers' memset between write() calls).
        const lanes = await page.locator(".lane-label").allTextContents();
        assert.ok(lanes.includes("cpu0") && lanes.includes("cpu7"), lanes.join(","));
        for (const k of ["oom_reaper", "kswapd", "khugepaged"]) assert.ok(lanes.includes(k), lanes.join(","));
        const spans = Number(await page.locator("#timeline").getAttribute("data-user-spans"));
        assert.ok(spans > 8, `${spans} user-mode spans`);
        const arrows = Number(await page.locator("#timeline").getAttribute("data-ipi-arrows"));
        assert.ok(arrows >= 1, `${arrows} IPI arrows`);

        // The explanation jumps to the evidence: timeline zooms, trace focuses it.
        await page.click("#explain");
        await page.click("#tab-trace");
        await page.locator("#trace .trace-row.focus").waitFor();
        await screenshot(page, "r1-evidence-trace");

        found = {
          seed,
          offset,
          file,
          hash: await verdict.getAttribute("data-trace-hash"),
        };
      },
      { viewport: VIEWPORT },
    );
  });

  test("Copy link, open it in a fresh page: the same run, verdict and evidence", async (t) => {
    assert.ok(found, "needs the corrupting seed of the first test");
    let link;
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForApp(page);
        await runSeed(page, found.seed);
        await page.click("#copy-link");
        link = await page.locator("#link-out").inputValue();
        assert.match(link, /#run=v1\./);
        assert.equal(new URL(link).hash, await page.evaluate(() => location.hash));
      },
      { viewport: VIEWPORT },
    );
    await withPage(
      t,
      browser,
      link,
      async (page) => {
        await waitForRun(page, found.seed);
        const v = page.locator("#verdict");
        assert.equal(await v.getAttribute("data-worst"), "zeros_in_file");
        assert.equal(await v.getAttribute("data-evidence-offset"), found.offset);
        assert.equal(await v.getAttribute("data-evidence-file"), found.file);
        assert.equal(await v.getAttribute("data-trace-hash"), found.hash);
        assert.equal(await page.locator("#banner").count(), 0);
        await screenshot(page, "permalink-opened");
      },
      { viewport: VIEWPORT },
    );
  });

  test("invalid TOML: inline error at its line, form field marked, text kept; fixing it runs again", async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForApp(page);
        await waitForFirstRun(page);
        const area = page.locator("#scenario-text");
        const good = await area.inputValue();
        const lines = good.split("\n");
        const line = lines.findIndex((l) => l.startsWith("cpus = ")) + 1;
        assert.ok(line > 0);
        const bad = good.replace(/^cpus = \d+$/m, "cpus = 0");
        await area.fill(bad);
        const err = page.locator(`#editor-errors li[data-line="${line}"]`);
        await err.waitFor();
        assert.match(await err.textContent(), /machine\.cpus/);
        assert.equal(await page.locator(`.gutter .ln.err`).first().textContent(), String(line));
        assert.equal(await page.locator("#f-cpus").getAttribute("aria-invalid"), "true");
        assert.equal(await area.inputValue(), bad, "the invalid text is kept");
        // Run is disabled, with the error beside it: an invalid text never
        // runs an older scenario in its place. A click on the error goes to
        // its field.
        assert.equal(await page.locator("#run").isDisabled(), true);
        const runError = page.locator("#run-error");
        assert.match(await runError.textContent(), new RegExp(`machine\\.cpus \\(line ${line}\\)`));
        await runError.click();
        await page.waitForFunction(() => document.activeElement?.id === "f-cpus");
        // A syntax error is placed at its line and column too.
        await area.fill(good.replace(/^cpus = \d+$/m, "cpus = = 8"));
        await page.locator(`#editor-errors li[data-line="${line}"][data-column]`).waitFor();
        // The knobs read the text with core's reader: text that does not
        // parse shows no values and cannot be edited through them.
        assert.equal(await page.locator("#f-cpus").isDisabled(), true);
        assert.equal(await page.locator("#f-cpus").inputValue(), "");
        assert.equal(await page.locator("#f-fs").inputValue(), "");
        assert.match(await page.locator("#knobs-note").textContent(), /until the TOML below parses/);
        await screenshot(page, "editor-inline-error");
        // A syntax error has no field: the click goes to its line in the editor.
        assert.equal(await page.locator("#run").isDisabled(), true);
        assert.match(await runError.textContent(), new RegExp(`^⚠ line ${line}, column \\d+: `));
        await runError.click();
        await page.waitForFunction(() => document.activeElement?.id === "scenario-text");
        await screenshot(page, "run-disabled-with-error");

        await area.fill(good);
        await page.locator("#editor-errors li").waitFor({ state: "detached" });
        assert.equal(await page.locator("#f-cpus").getAttribute("aria-invalid"), "false");
        assert.equal(await page.locator("#f-cpus").isDisabled(), false);
        assert.equal(await page.locator("#f-cpus").inputValue(), good.match(/^cpus = (\d+)$/m)[1]);
        await runSeed(page, 2);
        assert.ok((await outcomes(page)).length > 0);
      },
      { viewport: VIEWPORT },
    );
  });

  test("CPUs set to 1 brings sockets down with it, so the scenario stays valid", async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        assert.equal(await page.locator("#f-sockets").inputValue(), "2");
        await page.fill("#f-cpus", "1");
        await page.locator("#f-cpus").dispatchEvent("change");
        await page.waitForFunction(() => document.querySelector("#f-sockets").value === "1");
        assert.equal(await page.locator("#run").isDisabled(), false);
        assert.equal(await page.locator("#run-error").count(), 0);
        // Sockets that cannot split the CPUs: Run is disabled, the error says why.
        await page.fill("#f-sockets", "3");
        await page.locator("#f-sockets").dispatchEvent("change");
        await page.locator("#run-error").waitFor();
        assert.equal(await page.locator("#run").isDisabled(), true);
        assert.equal(await page.locator("#run-error").getAttribute("data-field"), "f-sockets");
      },
      { viewport: VIEWPORT },
    );
  });

  test("truncated, unknown-version and other-model permalinks show banners, no console errors", async (t) => {
    // A valid link from a first page, to damage.
    let link;
    await withPage(t, browser, server.url, async (page) => {
      await waitForFirstRun(page);
      link = (await page.evaluate(() => location.hash)).slice("#run=".length);
    });
    const truncated = link.slice(0, Math.floor(link.length / 2));
    await withPage(
      t,
      browser,
      `${server.url}#run=${truncated}`,
      async (page) => {
        const banner = page.locator("#banner.error");
        await banner.waitFor();
        assert.match(await banner.textContent(), /cannot be opened.*(truncated|damaged)/i);
        // The editor stays usable.
        const area = page.locator("#scenario-text");
        await area.fill((await area.inputValue()).replace(/^cpus = \d+$/m, "cpus = 4"));
        assert.equal(await page.locator("#f-cpus").inputValue(), "4");
        await screenshot(page, "permalink-truncated");
      },
      { viewport: VIEWPORT },
    );
    await withPage(t, browser, `${server.url}#run=v9.AAAA`, async (page) => {
      const banner = page.locator("#banner.error");
      await banner.waitFor();
      assert.match(await banner.textContent(), /not an oomlab permalink this version understands/);
    });
    // The same run, stamped with another model version.
    const payload = inflateRawSync(Buffer.from(link.slice(3), "base64url")).toString();
    assert.match(payload, /^model \d+$/m);
    const other = "v1." + deflateRawSync(Buffer.from(payload.replace(/^model \d+$/m, "model 999"))).toString("base64url");
    await withPage(
      t,
      browser,
      `${server.url}#run=${other}`,
      async (page) => {
        const banner = page.locator("#banner.warning");
        await banner.waitFor();
        assert.match(await banner.textContent(), /model version 999/);
        await screenshot(page, "permalink-other-model");
        await page.click("#rerun-current");
        await waitForFirstRun(page);
        assert.equal(await page.locator("#banner").count(), 0);
      },
      { viewport: VIEWPORT },
    );
  });

  test("unstable_check = pre_pte in the form updates the TOML, and the same seed shows fix_engaged", async (t) => {
    assert.ok(found, "needs the corrupting seed of the first test");
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForApp(page);
        await runSeed(page, found.seed);
        assert.equal((await outcomes(page))[0], "zeros_in_file");
        await page.selectOption("#f-unstable-check", "pre_pte");
        await page.waitForFunction(
          () => document.querySelector("#scenario-text").value.includes('unstable_check = "pre_pte"'),
          null,
          { timeout: 60_000 },
        );
        await page.click("#run");
        await waitForRun(page, found.seed);
        await page
          .waitForFunction(
            () => [...document.querySelectorAll("#verdict .chip")].some((c) => c.dataset.code === "fix_engaged"),
            null,
            { timeout: 60_000 },
          )
          .catch(async (err) => {
            err.message += `\n(outcomes: ${await outcomes(page)}; status: ${await page.locator("#status").textContent()})`;
            throw err;
          });
        const codes = await outcomes(page);
        assert.ok(!codes.includes("zeros_in_file"), codes.join(","));
        await page.click("#tab-memory");
        await page.locator("#memview svg.chart").waitFor();
        await screenshot(page, "fix-engaged-memory");
      },
      { viewport: VIEWPORT },
    );
  });

  test("trace and timeline share hover and focus; Cancel stops a run; Random seed runs a new seed", async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        await page.click("#tab-trace");
        const row = page.locator("#trace .trace-row").nth(3);
        const idx = await row.getAttribute("data-idx");
        await row.hover();
        await page.locator(`#trace .trace-row.hover[data-idx="${idx}"]`).waitFor();
        await page.waitForFunction((i) => document.querySelector("#timeline").dataset.hover === i, idx);
        await row.click();
        await page.locator(`#trace .trace-row.focus[data-idx="${idx}"]`).waitFor();
        await page.waitForFunction((i) => document.querySelector("#timeline").dataset.focus === i, idx);
        await screenshot(page, "trace-timeline-sync");

        // A bigger machine makes a long run; cancel it mid-way.
        await page.fill("#f-memory", "1G");
        await page.press("#f-memory", "Enter");
        await page.waitForFunction(() => document.querySelector("#scenario-text").value.includes('memory = "1G"'));
        await page.click("#run");
        await page.waitForFunction(() => document.querySelector("#status").textContent.startsWith("Running"));
        await page.click("#cancel");
        await page.waitForFunction(() => document.querySelector("#status").textContent === "Cancelled.");
        assert.ok(await page.locator("#verdict.stale").count(), "the previous verdict is marked stale");
        assert.ok(await page.locator("#cancel").isDisabled());

        await page.fill("#f-memory", "64M");
        await page.press("#f-memory", "Enter");
        await page.click("#random-seed");
        await page.waitForFunction(() => {
          const seed = document.querySelector("#seed").value;
          return seed !== "1" && document.querySelector("#status").textContent.startsWith(`Seed ${seed}:`);
        });
      },
      { viewport: VIEWPORT },
    );
  });

  test("a panic shows the error panel with the permalink and a copy button", async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        const hash = await page.evaluate(() => location.hash);
        const thrown = await page.evaluate(async () => {
          const m = await import("./pkg/oomlab_web.js");
          try {
            m.self_test_panic();
            return null;
          } catch (e) {
            return String(e);
          }
        });
        assert.ok(thrown, "the panic aborts the call");
        const panel = page.locator("#panic-panel");
        await panel.waitFor();
        const report = await page.locator("#bug-report").inputValue();
        assert.match(report, /self-test panic requested by the page/);
        assert.ok(report.includes(hash), "the report carries the permalink");
        assert.equal(await panel.locator("button", { hasText: "Copy bug report" }).count(), 1);
        // The copy works after the panic: with the clipboard, or by selecting
        // the report when the browser refuses it.
        await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
        await page.click("#panic-copy");
        await page.waitForFunction(() => document.getElementById("panic-copy").textContent === "Copied");
        assert.equal(await page.evaluate(() => navigator.clipboard.readText()), report);
        await screenshot(page, "panic-panel");
      },
      { viewport: VIEWPORT },
    );
  });

  test("dark theme and a narrow screen render a run without errors", async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
        await screenshot(page, "run-dark");
        await page.click("#theme-toggle"); // auto -> dark (explicit)
        await page.click("#theme-toggle"); // dark -> light
        assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
        // The choice survives a reload, against the dark system preference.
        await page.reload();
        await waitForFirstRun(page);
        assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "light");
      },
      { colorScheme: "dark", viewport: VIEWPORT },
    );
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        // Details is a bottom drawer here: closed, it leaves only its tab
        // bar on screen; the handle and a tab open it.
        const top = () => page.evaluate(() => document.querySelector("#details").getBoundingClientRect().top);
        const vh = 900;
        await page.waitForFunction(() => getComputedStyle(document.querySelector("#details")).position === "fixed");
        assert.ok((await top()) > vh - 60, `closed drawer top ${await top()}`);
        await screenshot(page, "run-narrow", { fullPage: false });
        await page.click("#drawer-toggle");
        assert.equal(await page.getAttribute("#drawer-toggle", "aria-expanded"), "true");
        await page.waitForFunction(() => document.querySelector("#details").getBoundingClientRect().top < 600);
        await page.click("#tab-memory");
        await screenshot(page, "run-narrow-drawer", { fullPage: false });
        await page.click("#drawer-toggle");
        await page.waitForFunction(() => document.querySelector("#details").getBoundingClientRect().top > 840);
      },
      { viewport: { width: 700, height: 900 } },
    );
  });
});
