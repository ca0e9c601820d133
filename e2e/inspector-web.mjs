// The MCP Inspector's web UI, driven in headless Chromium (playwright-core): switch the
// server on, approve on mcp-auth demo's consent page (the Inspector sends the tab there and
// gets it back at its /oauth/callback), open Tools, execute whoami. Used by
// scripts/try-inspector.sh; the selectors are the Inspector 2.12.0's.
//
// usage: node inspector-web.mjs INSPECTOR_URL SCREENSHOT_DIR
// Prints one JSON line: ok, and the subject and client_id whoami answered.
import { chromium } from 'playwright-core';

const [inspectorUrl, screenshots] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

let out;
const browser = await chromium.launch({ executablePath, headless: true });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(inspectorUrl);
  // The switch's own track covers its input.
  await page.getByRole('switch').first().click({ force: true, timeout: 15000 });
  await page.waitForURL((url) => url.pathname.endsWith('/authorize'), { timeout: 15000 });
  await page.screenshot({ path: `${screenshots}/inspector-consent.png` });
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByText('Connected', { exact: true }).first().waitFor({ timeout: 15000 });
  await page.getByText('Tools', { exact: true }).first().click();
  await page.getByText('whoami', { exact: true }).first().click();
  await page.getByRole('button', { name: 'Execute Tool' }).click();
  await page.getByText('"subject"').first().waitFor({ timeout: 15000 });
  await page.screenshot({ path: `${screenshots}/inspector-whoami.png` });
  const text = await page.locator('body').innerText();
  const field = (name) => text.match(new RegExp(`"${name}":\\s*"([^"]*)"`))?.[1];
  out = { ok: true, subject: field('subject'), client_id: field('client_id') };
} catch (error) {
  out = { ok: false, error: `${error?.constructor?.name}: ${error?.message ?? error}` };
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
