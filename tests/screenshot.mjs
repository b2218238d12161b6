// Takes the README screenshot of a running playground:
//   node tests/screenshot.mjs http://127.0.0.1:8080/ docs/screenshot.png
import { launchBrowser, waitForApp } from "./e2e/harness.mjs";

const [url = "http://127.0.0.1:8080/", out = "docs/screenshot.png"] = process.argv.slice(2);
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 300 } });
  await page.goto(url);
  await waitForApp(page);
  await page.screenshot({ path: out });
  console.log(`saved ${out}`);
} finally {
  await browser.close();
}
