// After a panic the panel is the report; the wasm trap that follows it
// (panic = "abort") is not left in the console as an uncaught error.
// A file rather than an inline script, so that the page's
// Content-Security-Policy can forbid inline scripts.
const shown = () => document.getElementById("panic-panel") !== null;
addEventListener("error", (e) => { if (shown()) e.preventDefault(); });
addEventListener("unhandledrejection", (e) => { if (shown()) e.preventDefault(); });

// The panic panel's "Copy bug report" (see crates/web/src/panic.rs): plain
// JavaScript, because after a panic the wasm module no longer runs.
addEventListener("click", (e) => {
  const b = e.target instanceof Element ? e.target.closest("#panic-copy") : null;
  if (!b) return;
  const report = document.getElementById("bug-report");
  navigator.clipboard.writeText(report.value).then(
    () => { b.textContent = "Copied"; },
    () => { report.select(); },
  );
});
