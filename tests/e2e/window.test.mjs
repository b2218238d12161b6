// The race window in the page: window explorations (complete, cut at their
// cap, cancelled; equal to `oomlab explore --window --json`; their failing
// runs replay from an ordinary link) and "When was it decided?" (a rewind
// of the first screen's R1 run in workers, equal to `oomlab rewind --json`).
// Screenshots at 1440x900 and 390x844 go to target/e2e/; the rewind's wall
// time with its worker count goes to target/e2e/window-perf.json.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import {
  ROOT,
  SHOTS,
  launchBrowser,
  presetSeed,
  screenshot,
  serveDist,
  waitForFirstRun,
  waitForRun,
  withPage,
} from "./harness.mjs";

const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
const CLI = join(ROOT, "target", "release", "oomlab");

async function cli(args) {
  execFileSync("cargo", ["build", "--release", "-q", "-j", "2", "-p", "oomlab"], { cwd: ROOT, stdio: "inherit" });
  const t0 = Date.now();
  const { stdout } = await promisify(execFile)(CLI, [...args, "--json"], { cwd: ROOT, maxBuffer: 64 << 20 });
  return { out: JSON.parse(stdout), secs: (Date.now() - t0) / 1000 };
}

const until = (page, fn, arg, timeout = 60_000) => page.waitForFunction(fn, arg, { timeout });

async function openPreset(page, id) {
  await waitForFirstRun(page);
  if (id !== "r1") {
    const seed = await presetSeed(page, id);
    await page.click(`#preset-${id}`);
    await waitForRun(page, seed);
  }
  await page.click("#mode-explore");
}

/** Sets the window controls; `fill` fields are committed with Tab. */
async function setWindow(page, { strategy, trigger, len, prefixes, bound, runs }) {
  await page.selectOption("#ex-strategy", strategy);
  await page.selectOption("#ex-window", trigger);
  const fill = async (sel, v) => {
    await page.fill(sel, String(v));
    await page.press(sel, "Tab");
  };
  if (len !== undefined) await fill("#ex-window-len", len);
  await fill("#ex-prefixes", prefixes);
  if (bound !== undefined) await fill("#ex-bound", bound);
  await fill("#ex-runs", runs);
}

async function explored(page, timeout = 600_000) {
  await until(page, () => ["done", "cancelled"].includes(document.querySelector("#explorer").dataset.status), null, timeout);
  return {
    complete: await page.locator("#explorer").getAttribute("data-complete"),
    scope: await page.locator("#verdict-scope").textContent(),
    bars: await page
      .locator("#histogram .bar")
      .evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.code, Number(e.dataset.count)]))),
    runs: Number(await page.locator("#histogram").getAttribute("data-runs")),
  };
}

describe("race window", () => {
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

  test("R2: an exhaustive search of the kill window with bound 1 completes, as the CLI's does", { timeout: 900_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await openPreset(page, "r2");
        await setWindow(page, { strategy: "exhaustive", trigger: "kill", prefixes: 2, bound: 1, runs: 100000 });
        await page.click("#ex-start");
        await until(page, () => document.querySelector("#explorer").dataset.status === "running");
        const used = Number((await page.locator("#ex-status").textContent()).match(/(\d+) workers?/)[1]);
        const r = await explored(page);
        await screenshot(page, "window-r2-exhaustive-complete");
        assert.equal(r.complete, "true", r.scope);
        assert.match(r.scope, /^exhaustive, window after `kill`, 2 prefixes/);
        assert.match(r.scope, /bound 1/);
        assert.match(r.scope, /: complete\./);
        assert.match(r.scope, /in none of the \d+ interleavings with at most 1 deviation in the window after `kill`, for these 2 prefixes/);
        assert.doesNotMatch(r.scope, /incomplete/);
        // Every worker, up to one per prefix.
        assert.ok(used >= Math.min(2, await page.evaluate(() => navigator.hardwareConcurrency)), `${used} workers`);
        const { out } = await cli([
          "explore", "--preset", "r2", "--strategy", "exhaustive", "--window", "kill", "--prefixes", "2", "--bound", "1",
        ]);
        assert.equal(out.complete, true);
        assert.deepEqual(r.bars, out.report.histogram, "the page's counts are the CLI's");
        assert.equal(r.runs, out.report.runs);
        assert.ok(r.runs > 2, `${r.runs} runs: more than the prefixes' own continuations`);
        assert.equal(r.bars.zeros_in_file ?? 0, 0, "R2 has the fix: no zeros in any interleaving searched");
      },
      { viewport: DESKTOP },
    );
  });

  test("a window search cut at its cap, or cancelled, says incomplete", { timeout: 600_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await openPreset(page, "r2");
        await setWindow(page, { strategy: "exhaustive", trigger: "kill", prefixes: 2, bound: 1, runs: 3 });
        await page.click("#ex-start");
        const r = await explored(page);
        await screenshot(page, "window-r2-exhaustive-cut");
        assert.equal(r.complete, "false", r.scope);
        assert.equal(r.runs, 6, "3 runs for each of the 2 prefixes");
        assert.match(await page.locator("#verdict-scope").textContent(), /^Incomplete\./);
        assert.match(r.scope, /: incomplete \(a prefix's search reached the cap on runs per prefix\)/);
        assert.match(r.scope, /evidence, not proof/);
        assert.doesNotMatch(r.scope, /"never" means: in none/);
        // Cancelled: a sampled window exploration stopped by Cancel.
        await setWindow(page, { strategy: "random", trigger: "kill", len: "2ms", prefixes: 50, runs: 1000 });
        await page.click("#ex-start");
        await until(page, () => Number(document.querySelector("#explorer").dataset.done) > 0, null, 120_000);
        await page.click("#ex-cancel");
        const c = await explored(page);
        await screenshot(page, "window-random-cancelled");
        assert.equal(c.complete, "false");
        assert.match(c.scope, /^Incomplete\. random, window after `kill` for 2(\.00)? ms, 50 prefixes/);
        assert.match(c.scope, /incomplete \(cancelled\)/);
        assert.match(c.scope, /evidence, not proof/);
      },
      { viewport: DESKTOP },
    );
  });

  test("R1: a window run's failure bucket replays from its link", { timeout: 600_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        // Prefixes from the showcase seed on: R1's outcome is mostly decided
        // before the kill, so its own prefix corrupts in most of its windows.
        const showcase = await presetSeed(page, "r1");
        await openPreset(page, "r1");
        await page.fill("#ex-seed", String(showcase));
        await page.press("#ex-seed", "Tab");
        await setWindow(page, { strategy: "random", trigger: "kill", prefixes: 3, runs: 4 });
        await page.click("#ex-start");
        const r = await explored(page);
        assert.equal(r.complete, "true", r.scope);
        assert.equal(r.runs, 12);
        assert.ok(r.bars.zeros_in_file > 0, JSON.stringify(r.bars));
        const first = page.locator("#buckets .run-link").first();
        assert.match(await first.textContent(), /^prefix \d+ · run \d+$/);
        const want = await page.locator("#buckets .bucket").first().evaluate((b) => b.querySelector(".mono.small").textContent);
        const before = await page.evaluate(() => location.hash);
        await first.click();
        await until(page, (h) => location.hash !== h && location.hash.startsWith("#run=v") && document.querySelector("#verdict .chip"), before);
        const link = await page.evaluate(() => location.hash);
        // An ordinary link: a fresh page replays it to the same outcome.
        const worst = await page.locator("#verdict").getAttribute("data-worst");
        assert.ok(want.length > 0 && worst !== "correct", `${worst} from bucket ${want}`);
        const again = await browser.newPage();
        await again.goto(server.url + link);
        await again.waitForFunction(() => document.querySelector("#verdict .chip"), null, { timeout: 60_000 });
        assert.equal(await again.locator("#verdict").getAttribute("data-worst"), worst);
        await again.close();
      },
      { viewport: DESKTOP },
    );
  });

  for (const [name, viewport] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ]) {
    test(`rewind of R1's showcase run draws its curve and the point of no return (${name})`, { timeout: 600_000 }, async (t) => {
      await withPage(
        t,
        browser,
        server.url,
        async (page) => {
          await waitForFirstRun(page);
          const link = await page.evaluate(() => location.hash.slice(1));
          await page.click("#rewind-start");
          await until(page, () => document.querySelector("#rewind")?.dataset.status === "running");
          await until(page, () => document.querySelector("#rewind").dataset.status !== "running", null, 300_000);
          const rw = page.locator("#rewind");
          assert.equal(await rw.getAttribute("data-status"), "done");
          const dots = await page.locator("#rewind-chart .rw-dot").evaluateAll((els) =>
            els.map((e) => ({ t: Number(e.dataset.tNs), p: Number(e.dataset.p), low: Number(e.dataset.low), high: Number(e.dataset.high) })),
          );
          assert.equal(dots.length, Number(await rw.getAttribute("data-total")));
          assert.ok(dots.every((d, i) => i === 0 || dots[i - 1].t <= d.t), "sorted by time");
          assert.ok(dots.every((d) => d.low <= d.p && d.p <= d.high));
          // The point of no return, or a sentence saying there is none.
          const nr = await rw.getAttribute("data-no-return-ns");
          if (nr !== null) {
            const text = await page.locator("#rewind-no-return").textContent();
            assert.match(text, /Point of no return: t=/);
            assert.ok((await page.locator("#rewind-no-return .rw-records li").count()) > 0);
            assert.match(await page.locator("#rewind-no-return .rw-threads").textContent(), / in /, "kernel stacks");
            assert.ok(dots.filter((d) => d.t >= Number(nr)).every((d) => d.p >= 0.95));
          } else {
            assert.equal(await page.locator('#rewind-no-return[data-none="true"]').count(), 1);
          }
          if (name === "desktop") {
            // The same curve as `oomlab rewind LINK` with the same points and samples.
            const { out, secs } = await cli(["rewind", link, "--points", "10", "--samples", "16"]);
            assert.deepEqual(
              dots.map((d) => [d.t, d.p.toFixed(4)]),
              out.points.map((p) => [p.t_ns, p.p.toFixed(4)]),
            );
            assert.equal(nr === null ? null : Number(nr), out.point_of_no_return?.t_ns ?? null);
            const ms = Number(await rw.getAttribute("data-took-ms"));
            const workers = Number(await rw.getAttribute("data-workers"));
            mkdirSync(SHOTS, { recursive: true });
            const perf = { rewind_points: 10, rewind_samples: 16, browser_workers: workers, browser_secs: ms / 1000, cli_one_core_secs: secs };
            writeFileSync(join(SHOTS, "window-perf.json"), JSON.stringify(perf, null, 2) + "\n");
            console.log(`rewind R1: browser ${ms / 1000} s with ${workers} workers; CLI ${secs} s`);
            // Cancel: a second rewind stopped at once keeps a partial curve.
            await page.click("#rewind-start");
            await until(page, () => document.querySelector("#rewind").dataset.status === "running");
            await page.click("#rewind-cancel");
            await until(page, () => document.querySelector("#rewind").dataset.status === "cancelled");
            assert.match(await rw.textContent(), /Cancelled after \d+ of 10 checkpoints/);
            await page.click("#rewind-start");
            await until(page, () => document.querySelector("#rewind").dataset.status !== "running", null, 300_000);
          }
          await page.evaluate(() => document.querySelector("#rewind").scrollIntoView({ block: "start" }));
          await screenshot(page, `rewind-r1-${name}`, { fullPage: false });
          await screenshot(page, `rewind-r1-${name}-full`);
        },
        { viewport },
      );
    });
  }
});
