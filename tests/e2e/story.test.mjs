// The playground shows the bug first: the first screen is R1 on its showcase
// seed, which writes zeros; every preset card opens on the outcome its story
// names; colours follow severity; the timeline opens on the race; invalid
// edits are visible; the page names what it shows. Which seed shows which
// outcome is the model's business: the cards carry it (data-showcase-seed,
// data-story-outcome), and the verdicts come from running it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  launchBrowser,
  outcomes,
  presetSeed,
  runSeed,
  screenshot,
  serveDist,
  waitForFirstRun,
  waitForRun,
  withPage,
} from "./harness.mjs";

const VIEWPORT = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

/** The timeline's window and the run it shows, from #timeline's data-*. */
async function timelineView(page, id = "#timeline") {
  return page.locator(id).evaluate((c) => ({
    start: Number(c.dataset.viewStartNs),
    end: Number(c.dataset.viewEndNs),
    runEnd: Number(c.dataset.runEndNs),
    kill: c.dataset.killNs === "" ? null : Number(c.dataset.killNs),
    hidden: c.dataset.hidden,
    density: c.dataset.ipiDensity,
    ipis: Number(c.dataset.ipis),
  }));
}

describe("the bug first", () => {
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

  test("the first screen is R1 on its showcase seed, writing zeros, and the timeline opens on the race", async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        const seed = await presetSeed(page, "r1");
        assert.equal(await page.locator("#seed").inputValue(), String(seed));
        assert.ok((await outcomes(page)).includes("zeros_in_file"), (await outcomes(page)).join(","));
        // The run header names the scenario; the R1 card is highlighted.
        const title = page.locator("#run-title");
        assert.match(await title.textContent(), /^R1: Tetsuo's reproducer on btrfs/);
        assert.equal(await title.getAttribute("data-modified"), "false");
        assert.equal(await page.locator("#preset-r1").getAttribute("aria-pressed"), "true");
        // Corruption is red, and only `correct` could be green.
        const chip = page.locator('#verdict .chip[data-code="zeros_in_file"]');
        assert.equal(await chip.getAttribute("data-tone"), "tone-corrupt");
        assert.match(await chip.getAttribute("title"), /zero page/);
        assert.match(await page.locator("#verdict").getAttribute("class"), /tone-corrupt/);

        // The opening view holds the kill and at most a quarter of the run.
        const v = await timelineView(page);
        assert.ok(v.kill !== null, "R1's victim is killed");
        assert.ok(v.start <= v.kill && v.kill <= v.end, JSON.stringify(v));
        assert.ok(4 * (v.end - v.start) <= v.runEnd, JSON.stringify(v));
        await screenshot(page, "first-screen", { fullPage: false });

        // Panning never leaves the run.
        for (let i = 0; i < 4; i++) await page.click("#tl-zoom-out");
        let w = await timelineView(page);
        // A pan moves a quarter of the window: enough of them to pass the
        // end, and a few more that must not move it.
        const pans = Math.ceil((w.runEnd - w.end) / ((w.end - w.start) / 4)) + 3;
        assert.ok(pans < 200, `the zoomed-out window is ${w.end - w.start} ns of ${w.runEnd}`);
        for (let i = 0; i < pans; i++) await page.click("#tl-right");
        w = await timelineView(page);
        assert.ok(w.end > v.end, JSON.stringify(w));
        assert.equal(w.end, w.runEnd, "the pans reach the end and stop there");
        await page.click("#tl-fit");
        await page.click("#tl-zoom-in");
        await page.click("#tl-zoom-in");
        for (let i = 0; i < 40; i++) await page.click("#tl-left");
        w = await timelineView(page);
        assert.equal(w.start, 0, JSON.stringify(w));
        assert.ok(4 * (w.end - w.start) <= w.runEnd + 1, JSON.stringify(w));

        // The whole run: the IPIs are a density there, not a wall of arrows.
        await page.click("#tl-fit");
        w = await timelineView(page);
        assert.deepEqual([w.start, w.end], [0, w.runEnd]);
        assert.ok(w.ipis > 150, `${w.ipis} IPIs in the whole run`);
        assert.equal(w.density, "true");
        assert.equal(await page.locator("#timeline").getAttribute("data-ipi-arrows"), "0");
        await screenshot(page, "timeline-whole-run-density", { fullPage: false });

        // The overview strip moves the window: a press near its start
        // centres the window there, keeping its width.
        await page.click("#tl-race");
        const race = await timelineView(page);
        const ov = await page.locator("#timeline-overview").boundingBox();
        await page.mouse.click(ov.x + ov.width * 0.1, ov.y + ov.height / 2);
        w = await timelineView(page);
        assert.ok(Math.abs(w.end - w.start - (race.end - race.start)) < 2, JSON.stringify([race, w]));
        assert.ok(w.end < race.start, `moved to the early run: ${JSON.stringify(w)}`);

        // A legend entry hides its category and shows it again.
        const ipi = page.locator('.lg-toggle[data-kind="ipi"]');
        await ipi.click();
        assert.equal(await ipi.getAttribute("aria-pressed"), "false");
        await page.waitForFunction(() => document.querySelector("#timeline").dataset.hidden === "ipi");
        assert.equal(await page.locator("#timeline").getAttribute("data-ipis"), "0");
        await ipi.click();
        await page.waitForFunction(() => document.querySelector("#timeline").dataset.hidden === "");
      },
      { viewport: VIEWPORT },
    );
  });

  test("every preset card opens on its showcase seed and shows its story's outcome", { timeout: 900_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        const cards = await page.locator(".presets .preset").evaluateAll((els) =>
          els.map((e) => ({ id: e.id, seed: e.dataset.showcaseSeed, outcome: e.dataset.storyOutcome })),
        );
        assert.ok(cards.length >= 6, JSON.stringify(cards));
        const seen = {};
        for (const c of cards) {
          await page.click(`#${c.id}`);
          await waitForRun(page, Number(c.seed), 240_000);
          const codes = await outcomes(page);
          assert.ok(codes.includes(c.outcome), `${c.id} seed ${c.seed}: ${codes.join(",")} lacks ${c.outcome}`);
          assert.equal(await page.locator(`#${c.id}`).getAttribute("aria-pressed"), "true", c.id);
          // Every chip says what it means.
          for (const title of await page.locator("#verdict .chip").evaluateAll((els) => els.map((e) => e.title))) {
            assert.ok(title.length > 20, `${c.id}: chip tooltip "${title}"`);
          }
          // A diagnostic or a fix is never green; only `correct` is.
          const tones = await page
            .locator("#verdict .chip")
            .evaluateAll((els) => els.map((e) => [e.dataset.code, e.dataset.tone]));
          for (const [code, tone] of tones) assert.equal(tone === "tone-ok", code === "correct", `${code} is ${tone}`);
          seen[c.id] = codes;
          // The opening view holds the kill (when there is one).
          const v = await timelineView(page);
          if (v.kill !== null) assert.ok(v.start <= v.kill && v.kill <= v.end, `${c.id}: ${JSON.stringify(v)}`);
        }
        for (const [id, want] of [
          ["preset-r1", "zeros_in_file"],
          ["preset-r2", "fix_engaged"],
          ["preset-r4", "zeros_in_file"],
          ["preset-r5", "stale_beyond_isize"],
          ["preset-r6", "overkill"],
          ["preset-r7", "reaper_gave_up"],
        ]) {
          assert.ok(seen[id]?.includes(want), `${id}: ${seen[id]}`);
        }
        // R4's showcase has user_ran_after_reap next to zeros_in_file: neutral, not green.
        await page.click("#preset-r4");
        await waitForRun(page, await presetSeed(page, "r4"), 240_000);
        const diag = page.locator('#verdict .chip[data-code="user_ran_after_reap"]');
        if ((await diag.count()) > 0) assert.equal(await diag.getAttribute("data-tone"), "tone-info");
        await screenshot(page, "r4-showcase", { fullPage: false });
      },
      { viewport: VIEWPORT },
    );
  });

  test("a permalink highlights its preset; an edit is named (modified)", async (t) => {
    let link;
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        const first = await page.evaluate(() => location.hash);
        await page.click("#preset-r2");
        await waitForRun(page, await presetSeed(page, "r2"));
        // The URL effect writes the new run's link after its verdict.
        await page.waitForFunction((h) => location.hash !== h, first);
        link = page.url();
      },
      { viewport: VIEWPORT },
    );
    await withPage(
      t,
      browser,
      link,
      async (page) => {
        await waitForRun(page, await presetSeed(page, "r2"));
        assert.equal(await page.locator("#preset-r2").getAttribute("aria-pressed"), "true");
        assert.equal(await page.locator("#preset-r1").getAttribute("aria-pressed"), "false");
        assert.match(await page.locator("#run-title").textContent(), /^R2:/);
        // An edit: no card is highlighted, R2's says "modified", and the
        // next run's header says "(modified)".
        await page.fill("#f-cpus", "4");
        await page.locator("#f-cpus").dispatchEvent("change");
        await page.waitForFunction(() => document.querySelector("#preset-r2").getAttribute("aria-pressed") === "false");
        assert.equal(await page.locator("#preset-r2.modified").count(), 1);
        await runSeed(page, 5);
        const title = page.locator("#run-title");
        assert.equal(await title.getAttribute("data-modified"), "true");
        assert.match(await title.textContent(), /\(modified\)/);
        await screenshot(page, "modified-run-header", { fullPage: false });
      },
      { viewport: VIEWPORT },
    );
  });

  test("an exploration's histogram says outcomes overlap and colours bars by tone", { timeout: 300_000 }, async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        await page.click("#mode-explore");
        await page.fill("#ex-runs", "12");
        await page.locator("#ex-runs").dispatchEvent("change");
        await page.click("#ex-start");
        await page.waitForFunction(() => document.querySelector("#explorer")?.dataset.status === "done", null, {
          timeout: 240_000,
        });
        assert.match(await page.locator("#histogram-overlap").textContent(), /several outcomes/);
        const bars = await page
          .locator("#histogram .bar")
          .evaluateAll((els) => els.map((e) => [e.dataset.code, e.dataset.tone, Number(e.dataset.count)]));
        const runs = Number(await page.locator("#histogram").getAttribute("data-runs"));
        assert.equal(runs, 12);
        for (const [code, tone] of bars) assert.equal(tone === "tone-ok", code === "correct", `${code}: ${tone}`);
        // Bucket runs are labelled with the seed that reproduces them.
        const seeds = await page.locator("#buckets .run-link").evaluateAll((els) =>
          els.map((e) => [e.textContent, e.dataset.seed]),
        );
        for (const [label, seed] of seeds) assert.equal(label, `seed ${seed}`);
        await screenshot(page, "explore-histogram-tones", { fullPage: false });
      },
      { viewport: VIEWPORT },
    );
  });

  test("at 390 px the page is no wider than the screen", async (t) => {
    await withPage(
      t,
      browser,
      server.url,
      async (page) => {
        await waitForFirstRun(page);
        const w = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(w <= PHONE.width, `the page is ${w} px wide`);
        await screenshot(page, "phone-first-screen", { fullPage: false });
      },
      { viewport: PHONE },
    );
  });
});
