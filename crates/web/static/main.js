import init, { run } from "./pkg/oomlab_web.js";
await init();
run();
