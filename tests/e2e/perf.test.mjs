// Performance numbers for BENCHMARKS.md, measured in headless Chromium with
// the Performance API: load to an interactive preset on a cold cache, the
// first verdict, and the timeline's frame time while panning a trace of
// about 100k records (R4). Bounds are loose: the numbers are recorded in
// target/e2e/perf.json and printed; the asserts only catch a broken page.
import assert from "node:assert/strict";
import { statSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DIST, SHOTS, launchBrowser, screenshot, serveDist, waitForRun } from "./harness.mjs";

describe("performance", () => {
  let server;
  let browser;
  const perf = {};

  before(async () => {
    server = await serveDist();
    browser = await launchBrowser();
  });

  after(async () => {
    writeFileSync(join(SHOTS, "perf.json"), JSON.stringify(perf, null, 2) + "\n");
    console.log("perf:", JSON.stringify(perf));
    await browser?.close();
    await server?.close();
  });

  test("wasm bundle is at most 400 KB gzipped", () => {
    const wasm = join(DIST, "pkg", "oomlab_web_bg.wasm");
    perf.wasm_raw_bytes = statSync(wasm).size;
    perf.wasm_gzip_bytes = gzipSync(readFileSync(wasm), { level: 9 }).length;
    assert.ok(perf.wasm_gzip_bytes <= 400_000, `${perf.wasm_gzip_bytes} bytes gzipped`);
  });

  test("load to interactive preset (cold cache) and to the first verdict", async () => {
    // A fresh context has an empty cache. The init script stamps the moment
    // the R1 card is in the DOM (clickable) and the first verdict appears.
    const context = await browser.newContext({ viewport: { width: 1440, height: 960 } });
    const errors = [];
    const page = await context.newPage();
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.addInitScript(() => {
      const obs = new MutationObserver(() => {
        if (!window.__interactive && document.querySelector("#preset-r1")) {
          window.__interactive = performance.now();
        }
        if (!window.__verdict && document.querySelector("#verdict[data-worst]")) {
          window.__verdict = performance.now();
          obs.disconnect();
        }
      });
      obs.observe(document, { childList: true, subtree: true, attributes: true });
    });
    await page.goto(server.url);
    await waitForRun(page, 1);
    const t = await page.evaluate(() => ({
      interactive: window.__interactive,
      verdict: window.__verdict,
      dcl: performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
    }));
    perf.load_to_interactive_ms = Math.round(t.interactive);
    perf.load_to_first_verdict_ms = Math.round(t.verdict);
    perf.dom_content_loaded_ms = Math.round(t.dcl);
    assert.ok(t.interactive > 0 && t.interactive < 15_000, `interactive at ${t.interactive} ms`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test("timeline frame time while panning a ~100k-record trace (R4)", async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 960 } });
    const page = await context.newPage();
    const errors = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.goto(server.url);
    await waitForRun(page, 1);
    await page.click("#preset-r4");
    await waitForRun(page, 1, 120_000);
    const records = Number((await page.locator("#status").textContent()).match(/(\d+) trace records/)[1]);
    perf.r4_trace_records = records;
    // Zoom in 4x, then pan with the keyboard, one step per frame.
    await page.click("#tl-zoom-in");
    await page.click("#tl-zoom-in");
    const r = await page.evaluate(async () => {
      const canvas = document.querySelector("#timeline");
      canvas.focus();
      const frame = () => new Promise((res) => requestAnimationFrame(res));
      const draws = [];
      const gaps = [];
      // Main-thread work of one pan step: the handler repaints synchronously.
      const work = [];
      await frame();
      let last = performance.now();
      for (let i = 0; i < 60; i++) {
        const key = i < 30 ? "ArrowRight" : "ArrowLeft";
        const t0 = performance.now();
        canvas.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
        work.push(performance.now() - t0);
        await frame();
        const now = performance.now();
        gaps.push(now - last);
        last = now;
        draws.push(Number(canvas.dataset.drawMs));
      }
      // Whole run visible: every record in the window.
      document.querySelector("#tl-fit").click();
      await frame();
      await frame();
      const fitDraw = Number(canvas.dataset.drawMs);
      const sorted = (a) => [...a].sort((x, y) => x - y);
      const pct = (a, p) => sorted(a)[Math.min(a.length - 1, Math.floor(a.length * p))];
      const avg = (a) => a.reduce((x, y) => x + y, 0) / a.length;
      return {
        work_avg_ms: avg(work),
        work_p95_ms: pct(work, 0.95),
        // Frames that took longer than two 60 Hz intervals.
        frames_over_33ms: gaps.filter((g) => g > 33.4).length,
        frame_avg_ms: avg(gaps),
        frame_p95_ms: pct(gaps, 0.95),
        draw_avg_ms: avg(draws),
        draw_p95_ms: pct(draws, 0.95),
        fit_draw_ms: fitDraw,
      };
    });
    for (const [k, v] of Object.entries(r)) perf[`pan_${k}`] = Math.round(v * 10) / 10;
    await screenshot(page, "r4-timeline");
    assert.ok(records > 50_000, `${records} records`);
    assert.ok(r.frame_avg_ms < 250, JSON.stringify(r));
    assert.deepEqual(errors, []);
    await context.close();
  });
});
