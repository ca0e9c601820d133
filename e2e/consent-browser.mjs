// A real browser at the demo's consent page: headless Chromium (Debian's, driven by
// playwright-core, which downloads no browser) opens an authorization URL, keeps a
// screenshot of the page, clicks the button named BUTTON (Approve or Deny) and reports where
// the issuer sent it back. Nothing listens at the redirect URI: that navigation is answered
// here — unless FOLLOW_REDIRECT=1, when the client's own callback listener gets it (the MCP
// Inspector's, in scripts/try-inspector.sh).
//
// usage: node consent-browser.mjs AUTHORIZATION_URL REDIRECT_URI BUTTON SCREENSHOT_PATH
// Prints one JSON line: ok, the page's title and visible text, and the redirect's query
// parameters (code, state, iss, or error). Exits 1 when something failed.
import { chromium } from 'playwright-core';

const [authorizationUrl, redirectUri, button, screenshot] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

let out;
const browser = await chromium.launch({ executablePath, headless: true });
try {
  const page = await browser.newPage();
  if (process.env.FOLLOW_REDIRECT !== '1') {
    await page.route(`${redirectUri}**`, (route) =>
      route.fulfill({ contentType: 'text/plain', body: 'back at the client' }));
  }
  const answer = await page.goto(authorizationUrl);
  const title = await page.title();
  const text = await page.locator('body').innerText();
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.getByRole('button', { name: button }).click();
  await page.waitForURL((url) => url.href.startsWith(redirectUri), { timeout: 10000 });
  await page.waitForLoadState();
  const redirect = new URL(page.url());
  out = {
    ok: true,
    status: answer?.status(),
    title,
    text,
    redirect: Object.fromEntries(redirect.searchParams),
    client_page: (await page.locator('body').innerText()).slice(0, 200),
  };
} catch (error) {
  out = { ok: false, error: `${error?.constructor?.name}: ${error?.message ?? error}` };
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(out.ok ? 0 : 1);
