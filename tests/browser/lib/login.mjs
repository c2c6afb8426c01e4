// SPDX-License-Identifier: Apache-2.0
/**
 * Helpers of the login-page tests (tests/browser/login/): the testbed's servers and their
 * browser clients, an authorization request opened in a fresh page, the page's states as ADR
 * 0002 names them (`<main data-state>`), and numbered captures per scenario.
 *
 * The testbed runs two servers (tests/src/bin/testbed/main.rs): `main`, with the login guard's
 * holds lifted so tests can log in again at once, and `strict`, with the default guard and a
 * short `ciba_expires_in`, for the held and expiry scenarios.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { capture, fixture, newPage } from './harness.mjs';
import { authorizationRequest, discover } from './oidc.mjs';

/** Why the login tests cannot run here (no testbed, or a testbed without browser clients), or false. */
export function loginSkip() {
  const f = fixture();
  if (!f?.phone_url) return 'needs the testbed and its phone (scripts/test-browser.sh)';
  if (!f.browser_clients) return 'needs a testbed with browser clients (add-client --redirect-uri)';
  return false;
}

/**
 * One of the testbed's servers: { base_url, browser_clients: { pick, type } }.
 * @param {'main'|'strict'} name
 */
export function server(name = 'main') {
  const f = fixture();
  const s = name === 'main' ? f : f[name];
  if (!s?.browser_clients) throw new Error(`the testbed has no ${name} server with browser clients`);
  return s;
}

/**
 * A browser client of a server: { id, secret, redirect_uri, post_logout_redirect_uri, mode }.
 * @param {'pick'|'type'} mode
 */
export function client(mode = 'pick', { on = 'main' } = {}) {
  const c = server(on).browser_clients[mode];
  if (!c) throw new Error(`no ${mode} browser client on the ${on} server`);
  return c;
}

const discoveries = new Map();

/** The discovery document of server `on` (fetched once per test file). */
export async function discovery(on = 'main') {
  if (!discoveries.has(on)) discoveries.set(on, await discover(server(on).base_url));
  return discoveries.get(on);
}

/**
 * Opens a new page on a fresh authorization request of `client` and waits for the login
 * page's first state.
 * @param {import('node:test').TestContext} t
 * @param {object} o
 * @param {object} [o.rp] the client (default: the main server's pick client)
 * @param {'main'|'strict'} [o.on] the server
 * @param {Record<string,string>} [o.params] more authorization parameters (ui_locales, login_hint…)
 * @param {object} [o.page] newPage options (locale, javaScriptEnabled…)
 * @param {string} [o.state] the first state expected (default 'identifier')
 * @returns {Promise<{ page: import('playwright-core').Page, req: ReturnType<typeof authorizationRequest>, rp: object }>}
 */
export async function startLogin(t, { on = 'main', rp = client('pick', { on }), params = {}, page: pageOptions = {}, state = 'identifier' } = {}) {
  const d = await discovery(on);
  const req = authorizationRequest({ endpoint: d.authorization_endpoint, clientId: rp.id, redirectUri: rp.redirect_uri, params });
  const page = await newPage(t, pageOptions);
  const resp = await page.goto(req.url.href);
  assert.ok(resp, 'the authorization request navigated');
  await expectState(page, state);
  return { page, req, rp };
}

/** The page's state: `<main data-state>`. */
export function stateOf(page) {
  return page.getAttribute('main', 'data-state');
}

/**
 * Waits until the page (through its script, its refresh or a navigation) shows `state`.
 * Throws naming the state the page is in instead.
 */
export async function expectState(page, state, { timeout = 20_000 } = {}) {
  try {
    await page.waitForSelector(`main[data-state="${state}"]`, { timeout, state: 'attached' });
  } catch (e) {
    const now = await stateOf(page).catch(() => '(no page)');
    throw new Error(`expected the login page in state "${state}", it is "${now}" at ${page.url()}: ${e.message.split('\n')[0]}`);
  }
}

/** Types `identifier` into form#identifier and submits it (mouse-free: Enter in the field). */
export async function submitIdentifier(page, identifier) {
  await page.fill('form#identifier input[name=identifier]', identifier);
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.press('form#identifier input[name=identifier]', 'Enter'),
  ]);
}

/** The code dynamique the page shows (#code): its digits. */
export async function codeShown(page) {
  const text = await page.textContent('#code');
  const digits = (text ?? '').replace(/\D/g, '');
  assert.ok(digits.length >= 2, `#code shows no code: ${JSON.stringify(text)}`);
  return digits;
}

/** The practitioner's national identifier (8 + RPPS), as a practitioner types it. */
export function nationalId(rpps) {
  return `8${rpps}`;
}

/**
 * Numbered captures of one scenario: `snap(page, 'waiting')` writes
 * target/browser-screenshots/login/SCENARIO/01-waiting.png (and .axe.json), checked by axe.
 * `snap.names` lists what was written.
 */
export function captures(scenario) {
  let n = 0;
  const names = [];
  const snap = async (page, step) => {
    n += 1;
    const name = `login/${scenario}/${String(n).padStart(2, '0')}-${step}`;
    names.push(name);
    return capture(page, name);
  };
  snap.names = names;
  return snap;
}

/** The query parameters of a URL as a plain object. */
export function params(url) {
  return Object.fromEntries(new URL(url).searchParams);
}
