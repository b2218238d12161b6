// A tiny static file server for dist/, used by scripts/serve and by the
// end-to-end tests. It binds to loopback only and never caches, so a rebuilt
// bundle is always what the browser gets.
import { createServer } from "node:http";
import { createReadStream, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Serves `root` on 127.0.0.1. Port 0 picks a free port.
 * Resolves to { url, port, close() }.
 */
export function startServer(root, { port = 0, host = "127.0.0.1" } = {}) {
  const base = resolve(root);
  const server = createServer((req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    let st;
    try {
      st = statSync(file);
      if (st.isDirectory()) {
        file = join(file, "index.html");
        st = statSync(file);
      }
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "content-length": st.size,
      "cache-control": "no-cache",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      const { port: bound } = server.address();
      ok({
        port: bound,
        url: `http://${host}:${bound}/`,
        close: () => new Promise((done) => server.close(done)),
      });
    });
  });
}

// Command line: node static-server.mjs DIR [PORT]
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [dir = "dist", port = "8080"] = process.argv.slice(2);
  let server;
  try {
    server = await startServer(dir, { port: Number(port) });
  } catch (err) {
    if (err.code !== "EADDRINUSE") throw err;
    console.log(`port ${port} is busy; using a free one`);
    server = await startServer(dir, { port: 0 });
  }
  const { url } = server;
  console.log(`oomlab playground: ${url}`);
  console.log("Press Ctrl-C to stop.");
}
