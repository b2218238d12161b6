// The playground's second half end to end: the explorer in Web Workers
// (counts equal to the CLI's JSON, a responsive page), shrinking in a
// worker, A/B compare with pre_pte, step-through around the kill and the
// reap, a challenge level won through the UI, and the exports.
// Screenshots of each state go to target/e2e/.
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
const RUNS = 2000;
const CLI = join(ROOT, "target", "release", "oomlab");

/** Builds the native CLI (a no-op when it is up to date) and explores R1. */
async function cliExplore(runs) {
  execFileSync("cargo", ["build", "--release", "-q", "-p", "oomlab"], { cwd: ROOT, stdio: "inherit" });
  const t0 = Date.now();
  const { stdout, stderr } = await promisify(execFile)(
    CLI,
    ["explore", "--preset", "r1", "--runs", String(runs), "--json"],
    { cwd: ROOT, maxBuffer: 64 << 20 },
  );
  return { out: JSON.parse(stdout), stderr, secs: (Date.now() - t0) / 1000 };
}

/** The first R1 seed that corrupts, found through the UI (never hard-coded). */
async function corruptingSeed(page) {
  await waitForApp(page);
  await page.click("#preset-r1");
  for (let seed = 0; seed < 40; seed++) {
    await runSeed(page, seed);
    if ((await outcomes(page))[0] === "zeros_in_file") return seed;
  }
  throw new Error("no R1 seed below 40 puts zeros in a file");
}

const until = (page, fn, arg, timeout = 60_000) => page.waitForFunction(fn, arg, { timeout });

/**
 * Plays a winning answer list of `level` through the challenge panel (found
 * by core's solver in the page's own module) and waits for the end screen.
 */
async function playSolution(page, level) {
  await page.click(`#level-${level}`);
  await until(page, (l) => {
    const c = document.querySelector("#challenge");
    return c?.dataset.level === l && c.dataset.busy === "false" && c.dataset.asked === "0";
  }, level);
  const solution = await page.evaluate(
    async (l) => (await import("./pkg/oomlab_web.js")).challenge_solution(l),
    level,
  );
  const answers = solution.split(",");
  assert.ok(answers.some((a) => a !== "auto"), solution);
  for (let i = 0; i < answers.length; i++) {
    await until(page, (n) => {
      const c = document.querySelector("#challenge");
      return c.dataset.busy === "false" && c.dataset.asked === String(n);
    }, i);
    await page.click(answers[i] === "auto" ? "#kernel-decides" : `#opt-${answers[i]}`);
  }
  await until(page, (n) => document.querySelector("#challenge").dataset.asked === String(n), answers.length);
  if (await page.locator("#play-out").count()) await page.click("#play-out");
  await page.locator("#win, #lost").first().waitFor({ timeout: 60_000 });
}

describe("explorer, shrink, compare, step-through, challenge", () => {
  let server;
  let browser;
  const perf = {};

  before(async () => {
    server = await serveDist();
    browser = await launchBrowser();
  });

  after(async () => {
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(join(SHOTS, "lab-perf.json"), JSON.stringify(perf, null, 2) + "\n");
    console.log("lab perf:", JSON.stringify(perf));
    await browser?.close();
    await server?.close();
  });

  test(`explore R1 with ${RUNS} random runs: counts equal the CLI's JSON; Cancel answers within 200 ms`, { timeout: 1_800_000 }, async (t) => {
    // The CLI explores in the background while the page does.
    const cli = cliExplore(RUNS);
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        await page.click("#mode-explore");
        await page.fill("#ex-runs", String(RUNS));
        await page.press("#ex-runs", "Tab");
        await until(page, (n) => document.querySelector("#explorer").dataset.total === String(n), RUNS);
        // Frame intervals on the main thread while the workers run.
        await page.evaluate(() => {
          window.__gaps = [];
          let last = performance.now();
          const tick = (now) => {
            window.__gaps.push(now - last);
            last = now;
            if (!window.__stopFrames) requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        });
        const started = Date.now();
        await page.click("#ex-start");
        await until(page, () => document.querySelector("#explorer").dataset.status === "running");
        // Live: the histogram is there before the end.
        await until(page, () => Number(document.querySelector("#explorer").dataset.done) >= 40, null, 300_000);
        await page.locator("#histogram .bar").first().waitFor();
        await screenshot(page, "explore-running");
        await until(page, () => document.querySelector("#explorer").dataset.status === "done", null, 1_700_000);
        const secs = (Date.now() - started) / 1000;
        const frames = await page.evaluate(() => {
          window.__stopFrames = true;
          const g = window.__gaps.slice(1).sort((a, b) => a - b);
          const avg = g.reduce((x, y) => x + y, 0) / g.length;
          return { n: g.length, avg, p95: g[Math.floor(g.length * 0.95)], max: g[g.length - 1] };
        });
        const bars = await page
          .locator("#histogram .bar")
          .evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.code, Number(e.dataset.count)])));
        const workers = Number((await page.locator("#ex-status").textContent()).match(/(\d+) workers?/)[1]);
        await screenshot(page, "explore-r1-2000");
        assert.ok(bars.zeros_in_file > 0, `histogram: ${JSON.stringify(bars)}`);

        const { out, secs: cliSecs } = await cli;
        assert.deepEqual(bars, out.report.histogram, "the page's counts are the CLI's");
        assert.equal(Number(await page.locator("#histogram").getAttribute("data-runs")), out.report.runs);
        // Buckets too: same counts in the same order, with the same first runs.
        const buckets = await page.locator("#buckets .bucket").evaluateAll((els) =>
          els.map((e) => ({
            count: Number(e.dataset.count),
            first: [...e.querySelectorAll(".run-link")].map((b) => Number(b.dataset.index)),
          })),
        );
        assert.deepEqual(
          buckets,
          out.report.buckets.map((b) => ({ count: b.count, first: b.first.map((r) => r.index) })),
        );
        const zeros = await page.locator('#verdicts tr[data-outcome="zeros_in_file"]');
        assert.equal(await zeros.getAttribute("data-verdict"), "sometimes");
        assert.equal(await zeros.getAttribute("data-holds"), "true");
        assert.match(await page.locator("#verdict-scope").textContent(), /sampled/);
        // A bucket's first run opens in the run view and shows its outcome.
        const first = page.locator("#buckets .run-link").first();
        const index = Number(await first.getAttribute("data-index"));
        await first.click();
        await waitForRun(page, index);
        assert.equal(await page.locator("#verdict").getAttribute("data-worst"), out.report.buckets[0].first[0].outcomes[0]);
        await page.click("#mode-explore");
        perf.explore_runs = RUNS;
        perf.explore_workers = workers;
        perf.explore_secs = Math.round(secs * 10) / 10;
        perf.explore_runs_per_s = Math.round((RUNS / secs) * 10) / 10;
        perf.cli_secs_concurrent = Math.round(cliSecs * 10) / 10;
        perf.explore_frame_avg_ms = Math.round(frames.avg * 10) / 10;
        perf.explore_frame_p95_ms = Math.round(frames.p95 * 10) / 10;
        perf.explore_frame_max_ms = Math.round(frames.max * 10) / 10;

        // Responsiveness: start again, then Cancel; time from the click to
        // the page showing it.
        await page.click("#ex-start");
        await until(page, () => Number(document.querySelector("#explorer").dataset.done) >= 20, null, 300_000);
        const cancelMs = await page.evaluate(
          () =>
            new Promise((resolve) => {
              const t0 = performance.now();
              document.querySelector("#ex-cancel").click();
              const check = () =>
                document.querySelector("#explorer").dataset.status === "cancelled"
                  ? resolve(performance.now() - t0)
                  : setTimeout(check, 0);
              check();
            }),
        );
        perf.explore_cancel_ms = Math.round(cancelMs * 10) / 10;
        assert.ok(cancelMs < 200, `Cancel took ${cancelMs} ms`);
        // Editing the scenario after an exploration marks its results stale.
        await page.fill("#f-cpus", "4");
        await page.press("#f-cpus", "Enter");
        await page.locator("#ex-stale").waitFor();
        await screenshot(page, "explore-stale");
      },
      { viewport: VIEWPORT },
    );
  });

  test("shrink a failure in a worker: still zeros_in_file, fewer decisions, link one click away", { timeout: 600_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        const seed = await corruptingSeed(page);
        const before = await page.locator("#status").textContent();
        const t0 = Date.now();
        await page.click("#shrink");
        await until(page, () => document.querySelector("#shrink-panel").dataset.status === "done", null, 300_000);
        perf.shrink_r1_first_failure_ms = Date.now() - t0;
        // The shrunk run replaces the run view.
        // The status names it as the shrunk run, not as the seed's run.
        await until(page, (b) => {
          const s = document.querySelector("#status").textContent;
          return /^Shrunk run of seed \d+ \(\d+ non-default decisions?\): /.test(s) && s !== b;
        }, before);
        assert.equal(await page.locator("#verdict").getAttribute("data-worst"), "zeros_in_file");
        const devs = page.locator("#shrink-devs");
        const [b, a] = [Number(await devs.getAttribute("data-before")), Number(await devs.getAttribute("data-after"))];
        assert.ok(a < b, `deviations ${b} -> ${a}`);
        const shrunkSteps = Number((await page.locator("#status").textContent()).match(/: (\d+) steps/)[1]);
        assert.ok(shrunkSteps > 0);
        assert.match(await page.locator("#shrink-link").inputValue(), /^v1\./);
        assert.ok(seed >= 0);
        await screenshot(page, "shrink-done");
      },
      { viewport: VIEWPORT },
    );
  });

  test("A/B with pre_pte: B shows fix_engaged and not zeros_in_file, with a divergence marker; the A/B link reopens it", { timeout: 600_000 }, async (t) => {
    let link;
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await corruptingSeed(page);
        await page.click("#compare-with");
        await page.selectOption("#ab-unstable-check", "pre_pte");
        await page.click("#ab-run");
        await page.locator("#ab-divergence[data-idx]").waitFor({ timeout: 120_000 });
        const side = (s) =>
          page.locator(`.ab-verdict[data-side="${s}"] .chip`).evaluateAll((els) => els.map((e) => e.dataset.code));
        assert.equal((await side("A"))[0], "zeros_in_file");
        const b = await side("B");
        assert.ok(b.includes("fix_engaged") && !b.includes("zeros_in_file"), b.join(","));
        for (const id of ["#timeline-a", "#timeline-b"]) {
          assert.equal(await page.locator(id).getAttribute("data-marks"), "1", `${id} marks the divergence`);
        }
        assert.ok((await page.locator("#ab-dumps .cell.diff").count()) > 0, "differing bytes are marked");
        link = await page.locator("#ab-link").inputValue();
        await screenshot(page, "ab-pre-pte");
      },
      { viewport: VIEWPORT },
    );
    await withPage(
      t,
      browser,
      `${server.url}#run=${link}`,
      async (page) => {
        await page.locator("#ab-divergence[data-idx]").waitFor({ timeout: 120_000 });
        const b = await page
          .locator('.ab-verdict[data-side="B"] .chip')
          .evaluateAll((els) => els.map((e) => e.dataset.code));
        assert.ok(b.includes("fix_engaged"), b.join(","));
      },
      { viewport: VIEWPORT },
    );
  });

  test("step-through: MMF_UNSTABLE is clear at the kill and set past the reap", { timeout: 600_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await corruptingSeed(page);
        await page.click("#step-through");
        await page.locator('#step-view[data-ready="true"]').waitFor({ timeout: 120_000 });
        const flags = () => page.locator("#step-view").getAttribute("data-flags");
        const step = async () => Number(await page.locator("#step-view").getAttribute("data-step"));
        await page.click("#step-next-kill");
        await until(page, () => Number(document.querySelector("#step-view").dataset.step) > 0);
        const kill = await step();
        assert.ok(!(await flags()).includes("MMF_UNSTABLE"), await flags());
        assert.equal(await page.locator('#step-mm [data-flag="MMF_UNSTABLE"]').getAttribute("data-set"), "false");
        // The timeline sits right under the step controls, and shows the
        // step's last record.
        assert.equal(await page.locator("#step-view #timeline").count(), 1);
        const controls = await page.locator("#step-fwd").boundingBox();
        const tl = await page.locator("#step-view #timeline").boundingBox();
        assert.ok(tl.y - controls.y < 260, `the timeline is ${tl.y - controls.y} px below the step buttons`);
        const tv = await page.locator("#timeline").evaluate((c) => [Number(c.dataset.viewStartNs), Number(c.dataset.viewEndNs), c.dataset.focus]);
        assert.ok(tv[2] !== "", "the step's last record is focused");
        await screenshot(page, "step-at-kill", { fullPage: false });
        await page.click("#step-next-reap");
        await until(page, (k) => Number(document.querySelector("#step-view").dataset.step) > k, kill);
        assert.ok((await flags()).includes("MMF_UNSTABLE"), await flags());
        assert.equal(await page.locator('#step-mm [data-flag="MMF_UNSTABLE"]').getAttribute("data-set"), "true");
        await screenshot(page, "step-past-reap");
        // Back one step at a time, and the scrubber.
        const at = await step();
        await page.click("#step-back");
        await until(page, (k) => Number(document.querySelector("#step-view").dataset.step) === k - 1, at);
        await page.locator("#step-scrub").fill("0");
        await until(page, () => document.querySelector("#step-view").dataset.step === "0");
        assert.equal(await flags(), "");
      },
      { viewport: VIEWPORT },
    );
  });

  test("challenge: a winning sequence played through the UI reaches the win screen and its link", { timeout: 600_000 }, async (t) => {
    let link;
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        await page.click("#mode-challenge");
        await page.locator("#decision").waitFor({ timeout: 60_000 });
        await screenshot(page, "challenge-decision");
        await playSolution(page, "l1");
        const win = page.locator("#win");
        assert.equal(await win.count(), 1, "the win screen");
        assert.match(await win.textContent(), /You won in \d+ decision/);
        assert.ok(await win.locator('.chip[data-code="zeros_in_file"]').count());
        link = await page.locator("#win-link").inputValue();
        assert.match(link, /^v1\./);
        await screenshot(page, "challenge-won");
      },
      { viewport: VIEWPORT },
    );
    // The winning link is an ordinary run link: it replays the winning run.
    await withPage(t, browser, `${server.url}#run=${link}`, async (page) => {
      await until(page, () => document.querySelector("#verdict")?.dataset.worst === "zeros_in_file");
    });
  });

  test("shrinking level 2's winning run: the default schedule already corrupts, and the panel says no decision is critical", { timeout: 600_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        await page.click("#mode-challenge");
        await page.locator("#decision").waitFor({ timeout: 60_000 });
        await playSolution(page, "l2");
        assert.equal(await page.locator("#win").count(), 1, "the win screen");
        await page.click("#open-win-run");
        await until(page, () => document.querySelector("#verdict")?.dataset.worst === "zeros_in_file");
        await page.click("#shrink");
        await until(page, () => document.querySelector("#shrink-panel").dataset.status === "done", null, 300_000);
        // The player's decisions were not needed: every decision at its first
        // option corrupts too (the core shrinker tries that schedule first).
        await page.locator("#shrink-none").waitFor({ timeout: 60_000 });
        const devs = page.locator("#shrink-devs");
        assert.equal(Number(await devs.getAttribute("data-after")), 0);
        assert.ok(Number(await devs.getAttribute("data-before")) > 0);
        assert.equal(await page.locator("#critical-list .critical-choice").count(), 0);
        assert.equal(await page.locator("#verdict").getAttribute("data-worst"), "zeros_in_file");
        await screenshot(page, "shrink-level2");
      },
      { viewport: VIEWPORT },
    );
  });

  test("exports: Perfetto JSON downloads, the ASCII diagram and the text are copied", { timeout: 300_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-perfetto")]);
        assert.match(download.suggestedFilename(), /^oomlab-\d+\.json$/);
        const body = await (await download.createReadStream()).toArray();
        const json = JSON.parse(Buffer.concat(body).toString());
        assert.ok(json.traceEvents.length > 100);
        await page.click("#export-ascii");
        const ascii = await page.locator("#export-out").inputValue();
        assert.match(ascii, /^time \(s\)\s+CPU\d/);
        // An LKML mail's width: the diagram keeps to 80 columns.
        assert.ok(ascii.split("\n").every((l) => [...l].length <= 80), ascii);
        await screenshot(page, "export-ascii");
        await page.click("#export-text");
        await until(page, () => document.querySelector("#export-out").dataset.kind === "text");
        assert.match(await page.locator("#export-out").inputValue(), /setup_per_zone_wmarks/);
      },
      { viewport: VIEWPORT },
    );
  });
});
