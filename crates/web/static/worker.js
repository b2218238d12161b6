// A Web Worker for the explorer and the shrinker. It loads the same wasm
// bundle as the page (a module worker) and calls its worker_* exports; it
// never calls run(), which mounts the app into a document a worker does not
// have. Messages in: {id, kind, ...}; out: {id, kind, ...}. Everything that
// crosses is plain text, so u64 values (seeds, trace hashes) stay exact.
import init, {
  worker_explore,
  worker_window,
  worker_exhaustive,
  worker_shrink,
  worker_rewind,
} from "./pkg/oomlab_web.js";

const ready = init();

self.onmessage = async ({ data: m }) => {
  await ready;
  try {
    if (m.kind === "explore") {
      const report = worker_explore(m.text, m.strategy, m.seed, m.start, m.end);
      self.postMessage({ id: m.id, kind: "piece", start: m.start, report });
    } else if (m.kind === "window") {
      const report = worker_window(
        m.text, m.strategy, m.seed, m.spec, m.prefixes, m.runs, m.bound, m.start, m.end,
      );
      self.postMessage({ id: m.id, kind: "window", start: m.start, report });
    } else if (m.kind === "rewind") {
      const reply = worker_rewind(m.text, m.source, m.points, m.samples, m.index);
      self.postMessage({ id: m.id, kind: "point", index: m.index, reply });
    } else if (m.kind === "exhaustive") {
      const out = worker_exhaustive(m.text, m.seed, m.total, m.n);
      self.postMessage({ id: m.id, kind: "chunk", out });
    } else if (m.kind === "shrink") {
      // Progress at most every 100 ms: a message per test run is noise.
      let last = 0;
      const progress = (runs) => {
        const now = performance.now();
        if (now - last >= 100) {
          last = now;
          self.postMessage({ id: m.id, kind: "progress", runs });
        }
      };
      const reply = worker_shrink(m.text, m.source, m.target, m.maxRuns, progress);
      self.postMessage({ id: m.id, kind: "shrunk", reply });
    }
  } catch (e) {
    self.postMessage({ id: m.id, kind: "error", message: String(e) });
  }
};
