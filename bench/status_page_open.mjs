#!/usr/bin/env node
// Holds the status page open in headless Chromium for SECS seconds (the page polls on its
// own), for bench/status_page.sh's idle measurement. Prints how many polls the server
// answered. Usage: node status_page_open.mjs PAGE_URL SECS
// Chromium: $CODEINTEL_TEST_CHROMIUM; playwright-core from $CODEINTEL_TEST_BROWSER_DIR
// (scripts/setup-chromium.sh installs both).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, secs] = process.argv.slice(2);
const { chromium } = await import(join(process.env.CODEINTEL_TEST_BROWSER_DIR, "node_modules", "playwright-core", "index.mjs"));
const profile = mkdtempSync(join(tmpdir(), "codeintel-bench-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CODEINTEL_TEST_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = context.pages()[0] || await context.newPage();
  let polls = 0;
  page.on("response", (r) => { if (new URL(r.url()).pathname === "/api/page" && r.ok()) polls++; });
  await page.goto(url, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("#repos tbody tr", { timeout: 60000 });
  // The measurement window starts now (stdout line read by the driver).
  console.log("open");
  polls = 0;
  await page.waitForTimeout(Number(secs) * 1000);
  console.log(`polls: ${polls} answered /api/page polls in ${secs} s`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
