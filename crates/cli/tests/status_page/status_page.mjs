#!/usr/bin/env node
// Drives the status page of a running `codeintel serve --http` in headless Chromium
// (playwright-core over the DevTools protocol, with the system browser).
//
// Usage: node status_page.mjs PAGE_URL SCREENSHOT_DIR QUERY EXPECTED_REPOS
//   EXPECTED_REPOS: comma-separated names that must show as `synced`.
//   Chromium: $CODEINTEL_TEST_CHROMIUM (default /usr/bin/chromium); playwright-core from
//   $CODEINTEL_TEST_BROWSER_DIR/node_modules (scripts/setup-chromium.sh installs both).
// Prints one JSON line: {repos: {name: state}, hit, state, overflow_px, screenshots}; exits
// non-zero with the reason on stderr when a step does not happen within its timeout.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [url, shots, query, expected] = process.argv.slice(2);
if (!url || !shots || !query || !expected) {
  console.error("usage: node status_page.mjs PAGE_URL SCREENSHOT_DIR QUERY EXPECTED_REPOS");
  process.exit(2);
}
const dir = process.env.CODEINTEL_TEST_BROWSER_DIR;
if (!dir) { console.error("CODEINTEL_TEST_BROWSER_DIR is not set"); process.exit(2); }
const { chromium } = await import(join(dir, "node_modules", "playwright-core", "index.mjs"));

const profile = mkdtempSync(join(tmpdir(), "codeintel-chromium-"));
// A fresh profile each run (playwright passes it as --user-data-dir).
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CODEINTEL_TEST_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  timeout: 60000,
  viewport: { width: 1280, height: 900 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const failures = [];
try {
  const page = context.pages()[0] || await context.newPage();
  page.on("pageerror", (e) => failures.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") failures.push("console error: " + m.text()); });
  // Nothing but the server itself may be asked for (no external assets).
  const origin = new URL(url).origin;
  page.on("request", (r) => { if (!r.url().startsWith(origin)) failures.push("external request: " + r.url()); });
  await page.goto(url, { waitUntil: "domcontentloaded" });

  const names = expected.split(",");
  for (const name of names) {
    await page.waitForSelector(`#repos tr[data-repo="${name}"] td.state-synced`, { timeout: 30000 });
  }
  const repos = await page.$$eval("#repos tbody tr", (rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.repo, r.querySelector("td.state").textContent])));

  await page.fill("#query", query);
  await page.selectOption("#mode", "lexical");
  await page.click("#search-form button[type=submit]");
  const hit = await (await page.waitForSelector(".hit .loc", { timeout: 15000 })).textContent();

  await page.click("#pause");
  await page.waitForFunction(() => document.getElementById("sync-state").textContent === "paused", null, { timeout: 15000 });
  const state = await page.textContent("#sync-state");
  await page.screenshot({ path: join(shots, "status-page.png"), fullPage: true });

  // Phone width: the page must not scroll sideways (the table scrolls inside its box).
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: join(shots, "status-page-phone.png"), fullPage: true });

  if (failures.length) throw new Error(failures.join("; "));
  console.log(JSON.stringify({ repos, hit, state, overflow_px: overflow,
    screenshots: [join(shots, "status-page.png"), join(shots, "status-page-phone.png")] }));
} catch (e) {
  console.error("status page check failed: " + (e && e.stack || e) + (failures.length ? "\n" + failures.join("\n") : ""));
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
