#!/usr/bin/env node
// The user's browser in OAuth login tests: headless Debian Chromium (playwright-core) opens the
// authorize URL, signs in and consents on oidc-provider's dev pages (or cancels), and follows the
// redirect to the client's loopback redirect_uri. Adapted from the realparts recipe.
//
// As Python's $BROWSER (webbrowser), in the background form a real browser behaves like:
//   BROWSER="tests/node/node_modules/.bin/node tests/support/browser_login.js %s &"
//
// Env (all optional):
//   LOGIN_USER         login name (default "test-user"; becomes `sub`)
//   LOGIN_ACTION       "consent" (default), "deny" (Cancel -> error=access_denied),
//                      "wrong-state" (consents, then the redirect reaches the client with a forged state),
//                      "capture" (consents, logs "captured <redirect URL>" and does not deliver it)
//   LOGIN_TIMEOUT_MS   overall deadline (default 30000)
//   LOGIN_LOG          append one line per step to this file (the "&" form has no visible output);
//                      the first line of every run is "open <authorize origin+path>"
//   CHROMIUM_PATH      default /usr/bin/chromium
//   NODE_MODULES       where playwright-core lives (default: tests/node/node_modules)
// Exit code: 0 when the browser reached redirect_uri, 1 otherwise. Only loopback hosts are reachable.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const MODULES = process.env.NODE_MODULES
  ? pathToFileURL(`${process.env.NODE_MODULES.replace(/\/$/, '')}/`)
  : new URL('../node/node_modules/', import.meta.url);
const { chromium } = createRequire(MODULES)('playwright-core');

const url = process.argv.slice(2).find((a) => /^https?:\/\//.test(a));
const t0 = Date.now();
function log(msg) {
  const line = `[browser_login ${process.pid} +${Date.now() - t0}ms] ${msg}`;
  console.error(line);
  if (process.env.LOGIN_LOG) fs.appendFileSync(process.env.LOGIN_LOG, `${line}\n`);
}
if (!url) {
  log('usage: browser_login.js AUTHORIZE_URL');
  process.exit(2);
}

const authUrl = new URL(url);
const redirectUri = authUrl.searchParams.get('redirect_uri');
const user = process.env.LOGIN_USER || 'test-user';
const action = process.env.LOGIN_ACTION || 'consent';
const deadline = t0 + Number(process.env.LOGIN_TIMEOUT_MS || 30000);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

let browser;
let exitCode = 1;
try {
  log(`open ${authUrl.origin}${authUrl.pathname}`);
  if (!redirectUri) throw new Error('authorize URL has no redirect_uri');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-domain-reliability', '--no-pings',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  });
  const context = await browser.newContext();
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    if (LOOPBACK.has(host)) return route.continue();
    log(`blocked non-loopback request ${route.request().url()}`);
    return route.abort('blockedbyclient');
  });
  let captured = null;
  if (action === 'wrong-state' || action === 'capture') {
    // Redirects are not routed, so this follows the authorization server's redirects itself (with
    // the browser's cookies) up to the one that leads back to the client, and then either forges
    // its state (the client gets a real code with a wrong state) or captures it without
    // delivering it (the address a person on another machine would copy and paste).
    await context.route((u) => LOOPBACK.has(u.hostname) && !u.href.startsWith(redirectUri), async (route) => {
      let response = await route.fetch({ maxRedirects: 0 });
      for (let hop = 0; hop < 5; hop += 1) {
        const location = response.headers().location;
        if (!location) break;
        const next = new URL(location, response.url());
        if (next.href.startsWith(redirectUri) && action === 'capture') {
          captured = next.href;
          log(`captured ${next.href}`);
          return route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>copied</h1>' });
        }
        if (next.href.startsWith(redirectUri)) {
          next.searchParams.set('state', 'forged-by-the-test');
          log('wrong-state: forging the state of the redirect');
          return route.fulfill({ status: 302, headers: { location: next.href } });
        }
        response = await context.request.get(next.href, { maxRedirects: 0 });
      }
      return route.fulfill({ response });
    });
  }
  const page = await context.newPage();
  const atRedirect = () => page.url().startsWith(redirectUri);

  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: deadline - Date.now() });
  for (let step = 0; step < 10 && !atRedirect() && !captured; step += 1) {
    if (Date.now() > deadline) throw new Error('deadline passed');
    const nav = page.waitForNavigation({ waitUntil: 'domcontentloaded', timeout: deadline - Date.now() });
    if (action === 'deny' && await page.locator('a:has-text("Cancel")').count()) {
      log('deny: click [ Cancel ]');
      await page.click('a:has-text("Cancel")');
    } else if (await page.locator('input[name="login"]').count()) {
      log(`login page: sign in as ${user}`);
      await page.fill('input[name="login"]', user);
      await page.fill('input[name="password"]', 'test-password');
      await page.click('button[type="submit"]');
    } else if (await page.locator('input[name="prompt"][value="consent"]').count()) {
      log('consent page: click Continue');
      await page.click('button[type="submit"]');
    } else {
      nav.catch(() => {});
      const text = (await page.locator('body').innerText().catch(() => '')).slice(0, 500);
      throw new Error(`unexpected page ${page.url()}: ${text}`);
    }
    await nav;
  }
  if (!captured) {
    if (!atRedirect()) throw new Error(`did not reach redirect_uri; at ${page.url()}`);
    const keys = [...new URL(page.url()).searchParams.keys()].join(',');
    const shown = (await page.locator('body').innerText().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ');
    log(`reached redirect_uri with params [${keys}]; page: ${shown}`);
  }
  exitCode = 0;
} catch (err) {
  log(`FAILED: ${err && err.message}`);
} finally {
  if (browser) await browser.close().catch(() => {});
}
process.exit(exitCode);
