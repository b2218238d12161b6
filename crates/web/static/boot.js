// After a panic the panel is the report; the wasm trap that follows it
// (panic = "abort") is not left in the console as an uncaught error.
// A file rather than an inline script, so that the page's
// Content-Security-Policy can forbid inline scripts.
const shown = () => document.getElementById("panic-panel") !== null;
addEventListener("error", (e) => { if (shown()) e.preventDefault(); });
addEventListener("unhandledrejection", (e) => { if (shown()) e.preventDefault(); });
