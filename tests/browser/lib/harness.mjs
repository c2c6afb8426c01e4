// SPDX-License-Identifier: Apache-2.0
/**
 * The browser-test harness: Playwright (playwright-core) driving Debian's Chromium headless,
 * axe-core on every page state, screenshots under target/, keyboard and redirect helpers.
 *
 * Guarantees:
 * - One browser per test file (or per run, when scripts/test-browser.sh shares one through
 *   VISTALID_BROWSER_WS); one fresh browser context per page, so cookies and storage never
 *   leak from one test to the next; the context closes when its test ends.
 * - Every helper that checks something throws an Error with a message a person can act on;
 *   none of them passes silently (see selftest/harness.test.mjs, which proves each one fails
 *   when it should).
 * - Artefacts (screenshots, axe results, QR crops) go to target/browser-screenshots/ under the
 *   repository root; names are checked so they cannot escape that folder.
 *
 * @module
 */
import { after, before } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** The repository's root folder. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** Where screenshots, axe results and QR crops are written. */
export const artefactDir = join(repoRoot, 'target', 'browser-screenshots');
/** Debian's Chromium (scripts/install-browser.sh installs it). */
export const chromiumPath = process.env.VISTALID_CHROMIUM ?? '/usr/bin/chromium';
/** The WCAG tags axe checks: WCAG 2.0 and 2.1, levels A and AA (RGAA builds on them). */
export const WCAG_TAGS = Object.freeze(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']);

/**
 * Chromium's launch options. The flags keep Chromium off the network it cannot reach here
 * (background networking, component updates, sync, QUIC); Playwright gives every launch a
 * fresh, empty user-data-dir of its own.
 * @returns {import('playwright-core').LaunchOptions}
 */
export function launchOptions() {
  return {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  };
}

let browserPromise = null;
let setUp = false;

/**
 * Registers this test file's browser: launched (or, under scripts/test-browser.sh, connected
 * to the run's shared browser) before the first test, closed after the last. Call it once at
 * the top of every test file that opens pages; without it, a test file would never exit.
 */
export function setup() {
  setUp = true;
  before(() => launch());
  after(async () => {
    if (browserPromise) {
      const browser = await browserPromise;
      browserPromise = null;
      await browser.close();
    }
  });
}

/**
 * The browser of this test file: the one the test script shares (VISTALID_BROWSER_WS) or a
 * new Chromium. Launched once; later calls return the same browser.
 * @returns {Promise<import('playwright-core').Browser>}
 */
export function launch() {
  if (!setUp) {
    throw new Error('call setup() at the top of the test file before opening pages');
  }
  if (!browserPromise) {
    const ws = process.env.VISTALID_BROWSER_WS;
    browserPromise = ws ? chromium.connect(ws) : chromium.launch(launchOptions());
  }
  return browserPromise;
}

/** Options of each context, so that a JS-off page's accessibility twin can copy them. */
const contextOptions = new WeakMap();

/**
 * A new page in a new browser context (own cookies, own storage), closed when test `t` ends.
 * @param {import('node:test').TestContext} t the running test
 * @param {object} [options]
 * @param {string} [options.locale] the browser's language (also its Accept-Language); French by default
 * @param {boolean} [options.javaScriptEnabled] false runs the page with JavaScript off
 * @param {'light'|'dark'|'no-preference'} [options.colorScheme] prefers-color-scheme
 * @param {{width:number,height:number}} [options.viewport] default 1280×800
 * @returns {Promise<import('playwright-core').Page>}
 */
export async function newPage(t, options = {}) {
  if (typeof t?.after !== 'function') {
    throw new TypeError('newPage(t, options): pass the test context t first');
  }
  const { locale = 'fr-FR', javaScriptEnabled = true, colorScheme = 'light' } = options;
  const viewport = options.viewport ?? { width: 1280, height: 800 };
  const browser = await launch();
  const settings = { locale, javaScriptEnabled, colorScheme, viewport };
  const context = await browser.newContext(settings);
  contextOptions.set(context, settings);
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(30_000);
  t.after(() => context.close());
  return context.newPage();
}

/**
 * The path of artefact `name` with `ext`, its folders created. A name is one or more
 * `/`-separated segments of letters, digits, `.`, `_` and `-`, none starting with a dot.
 */
export function artefactPath(name, ext) {
  const segments = String(name).split('/');
  if (!segments.every((s) => /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(s))) {
    throw new Error(`bad artefact name ${JSON.stringify(name)}: use letters, digits, . _ - and /`);
  }
  const path = join(artefactDir, ...segments) + ext;
  mkdirSync(dirname(path), { recursive: true });
  return path;
}

/**
 * Writes a full-page screenshot to target/browser-screenshots/NAME.png.
 * @returns {Promise<string>} the file's path
 */
export async function shot(page, name) {
  const path = artefactPath(name, '.png');
  await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' });
  return path;
}

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Thrown by {@link checkA11y}: `violations` holds axe's violations. */
export class A11yError extends Error {
  constructor(message, violations) {
    super(message);
    this.name = 'A11yError';
    this.violations = violations;
  }
}

/**
 * Runs axe-core on the page with the WCAG 2.0/2.1 A and AA rules, writes axe's whole result
 * to target/browser-screenshots/NAME.axe.json, and throws an {@link A11yError} listing every
 * violation (rule, impact, target selectors, help URL) when there is one.
 *
 * axe is evaluated through the DevTools protocol, which the page's Content-Security-Policy
 * does not govern: the page under test keeps its real CSP. A page with JavaScript off is
 * checked on a twin (see {@link a11yTwin}).
 * @returns {Promise<object>} axe's result
 */
export async function checkA11y(page, name) {
  const path = artefactPath(name, '.axe.json');
  const twin = contextOptions.get(page.context())?.javaScriptEnabled === false
    ? await a11yTwin(page)
    : null;
  let result;
  try {
    const target = twin ?? page;
    await target.evaluate(axeSource);
    result = await target.evaluate(
      (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
      [...WCAG_TAGS],
    );
  } finally {
    await twin?.context().close();
  }
  result.url = page.url();
  result.vistalid = { name, javaScriptEnabled: !twin, checkedOnTwin: !!twin };
  writeFileSync(path, JSON.stringify(result, null, 2));
  if (result.violations.length > 0) {
    throw new A11yError(formatViolations(name, page.url(), result.violations, path), result.violations);
  }
  return result;
}

/** The readable list of axe violations. */
export function formatViolations(name, url, violations, path) {
  const lines = [`axe: ${violations.length} WCAG 2.1 A/AA violation(s) on "${name}" (${url}):`];
  for (const v of violations) {
    lines.push(`  - ${v.id} [${v.impact}] ${v.help}`);
    for (const node of v.nodes.slice(0, 10)) {
      lines.push(`      at ${node.target.join(' ')}`);
    }
    if (v.nodes.length > 10) lines.push(`      … and ${v.nodes.length - 10} more`);
    lines.push(`      ${v.helpUrl}`);
  }
  lines.push(`  full result: ${path}`);
  return lines.join('\n');
}

/**
 * For a page with JavaScript off, the page axe runs on: Chromium suspends timers in a page
 * whose scripts are disabled, and axe needs them. The twin is a new JavaScript-enabled context
 * with the same locale, colour scheme, viewport and cookies, showing at the same URL the DOM
 * the JS-off page built: `<noscript>` content in, scripts and meta refreshes out, form values
 * kept; stylesheets and images load from the real server. (A stylesheet's
 * `@media (scripting: none)` is the one thing the twin would see differently.)
 * @returns {Promise<import('playwright-core').Page>}
 */
export async function a11yTwin(page) {
  const html = await page.evaluate(() => {
    const clone = document.documentElement.cloneNode(true);
    const live = document.documentElement.querySelectorAll('input, textarea, select');
    const copies = clone.querySelectorAll('input, textarea, select');
    live.forEach((el, i) => {
      const copy = copies[i];
      if (el.type === 'checkbox' || el.type === 'radio') {
        copy.toggleAttribute('checked', el.checked);
      } else if (el.tagName === 'TEXTAREA') {
        copy.textContent = el.value;
      } else if (el.tagName === 'SELECT') {
        copy.querySelectorAll('option').forEach((o, j) => o.toggleAttribute('selected', el.options[j].selected));
      } else if (el.type !== 'password' && el.type !== 'file') {
        copy.setAttribute('value', el.value);
      }
    });
    clone.querySelectorAll('script').forEach((s) => s.remove());
    clone.querySelectorAll('meta[http-equiv]').forEach((m) => {
      if (m.httpEquiv.toLowerCase() === 'refresh') m.remove();
    });
    clone.querySelectorAll('noscript').forEach((n) => n.replaceWith(...n.childNodes));
    const dt = document.doctype;
    const doctype = dt ? `<!DOCTYPE ${dt.name}${dt.publicId ? ` PUBLIC "${dt.publicId}"` : ''}${dt.systemId ? ` "${dt.systemId}"` : ''}>` : '';
    return doctype + clone.outerHTML;
  });
  const settings = contextOptions.get(page.context());
  const context = await page.context().browser().newContext({ ...settings, javaScriptEnabled: true });
  try {
    await context.addCookies(await page.context().cookies());
    const twin = await context.newPage();
    const url = page.url();
    await twin.route((u) => u.href === url, (route) => route.fulfill({
      status: 200,
      contentType: 'text/html; charset=utf-8',
      body: html,
    }));
    await twin.goto(url, { waitUntil: 'load' });
    return twin;
  } catch (e) {
    await context.close();
    throw e;
  }
}

/** Takes the screenshot of page state NAME, then checks it with axe (both artefacts). */
export async function capture(page, name) {
  await shot(page, name);
  return checkA11y(page, name);
}

/**
 * The element's box plus `padding`, in page coordinates (for a full-page screenshot's clip,
 * so an element below the fold is cropped whole); null when the element is not rendered.
 */
async function pageClip(page, element, padding) {
  const box = await element.boundingBox();
  if (!box) return null;
  const { x, y } = await page.evaluate(() => ({ x: window.scrollX, y: window.scrollY }));
  const left = Math.max(0, box.x + x - padding);
  const top = Math.max(0, box.y + y - padding);
  return { x: left, y: top, width: box.x + x + box.width + padding - left, height: box.y + y + box.height + padding - top };
}

/** A short description of the focused element, for failure messages. */
function describeFocus(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return 'body';
    const id = e.id ? `#${e.id}` : '';
    const text = (e.getAttribute('aria-label') || e.textContent || e.value || '').trim().slice(0, 30);
    return `${e.tagName.toLowerCase()}${id}${text ? ` "${text}"` : ''}`;
  });
}

/**
 * Presses Tab until the element matching `selector` has the keyboard focus.
 * Throws after `maxPresses` presses, listing where the focus went.
 * @returns {Promise<number>} how many presses it took
 */
export async function tabTo(page, selector, { maxPresses = 25 } = {}) {
  const target = await page.$(selector);
  if (!target) throw new Error(`tabTo: no element matches ${selector}`);
  const path = [];
  for (let i = 1; i <= maxPresses; i++) {
    await page.keyboard.press('Tab');
    if (await target.evaluate((e) => e === document.activeElement)) return i;
    path.push(await describeFocus(page));
  }
  throw new Error(`tabTo: ${selector} never got the focus in ${maxPresses} Tab presses; focus went: ${path.join(' → ')}`);
}

/**
 * Checks that the focused element shows a visible focus indicator (WCAG 2.4.7): the pixels
 * around it differ with and without focus. The focus is put back afterwards. With `name`,
 * both crops are written as NAME.focused.png and NAME.blurred.png.
 */
export async function expectVisibleFocus(page, { name, padding = 6 } = {}) {
  const el = await page.evaluateHandle(() => document.activeElement);
  if (await el.evaluate((e) => !e || e === document.body || e === document.documentElement)) {
    throw new Error('expectVisibleFocus: nothing has the focus');
  }
  const clip = await pageClip(page, el.asElement(), padding);
  if (!clip) throw new Error(`expectVisibleFocus: ${await describeFocus(page)} is not visible`);
  const opts = { clip, fullPage: true, animations: 'disabled', caret: 'hide' };
  const focused = await page.screenshot(opts);
  const what = await describeFocus(page);
  await el.evaluate((e) => e.blur());
  const blurred = await page.screenshot(opts);
  await el.evaluate((e) => e.focus());
  if (name) {
    writeFileSync(artefactPath(name, '.focused.png'), focused);
    writeFileSync(artefactPath(name, '.blurred.png'), blurred);
  }
  if (focused.equals(blurred)) {
    throw new Error(`expectVisibleFocus: ${what} looks the same with and without focus (no visible focus indicator)`);
  }
}

/**
 * Waits until the page navigates to a URL starting with `prefix` (the relying party's
 * redirect_uri), whether by an HTTP redirect, a form, a script or a meta refresh. The request
 * is answered in the browser with a small page, so no relying party needs to listen there.
 * Runs `action` (if given) once the catch is in place, so nothing can slip past it.
 * @returns {Promise<URL>} the URL the page was sent to (with `code`, `state`, … to check)
 */
export async function waitForRedirect(page, prefix, action, { timeout = 30_000 } = {}) {
  let hit;
  const reached = new Promise((r) => { hit = r; });
  const matches = (url) => url.href.startsWith(prefix);
  const handler = (route) => {
    hit(new URL(route.request().url()));
    return route.fulfill({
      status: 200,
      contentType: 'text/html; charset=utf-8',
      body: '<!doctype html><html lang="en"><title>Relying party</title><main><h1>Redirected</h1></main></html>',
    });
  };
  await page.route(matches, handler);
  let timer;
  try {
    if (action) await action();
    return await Promise.race([
      reached,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(
          `waitForRedirect: no navigation to ${prefix} within ${timeout} ms; the page is at ${page.url()}`,
        )), timeout);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await page.unroute(matches, handler).catch(() => {});
  }
}

/**
 * Screenshots the element matching `selector` (plus `padding` pixels of page around it, the
 * QR's quiet zone) to target/browser-screenshots/NAME.png, and runs `command` on that file:
 * an argv array where the item '{png}' is replaced by the file's path (appended when absent).
 * No shell is involved; `env` adds variables to the command's environment (for instance
 * VISTALID_LANG=en, for messages to match).
 * @returns {Promise<string>} the command's standard output
 */
export async function decodeQrFromElement(page, selector, command, { name = 'qr', padding = 16, timeout = 30_000, env = {} } = {}) {
  const el = await page.$(selector);
  const clip = el && await pageClip(page, el, padding);
  if (!clip) throw new Error(`decodeQrFromElement: ${selector} is not visible`);
  const path = artefactPath(name, '.png');
  await page.screenshot({ path, clip, fullPage: true, animations: 'disabled', caret: 'hide' });
  const argv = command.includes('{png}') ? command.map((a) => (a === '{png}' ? path : a)) : [...command, path];
  return new Promise((resolveRun, rejectRun) => {
    execFile(argv[0], argv.slice(1), { timeout, encoding: 'utf8', env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if (error) {
        rejectRun(new Error(`decodeQrFromElement: ${argv.join(' ')} failed (${error.code ?? error.signal}): ${stderr.trim() || error.message}`));
      } else {
        resolveRun(stdout);
      }
    });
  });
}

/**
 * The testbed's fixture (base_url, clients, accounts, phone_url, …) that
 * scripts/test-browser.sh passes in VISTALID_FIXTURE; null when the tests run without it.
 */
export function fixture() {
  const path = process.env.VISTALID_FIXTURE;
  return path ? JSON.parse(readFileSync(path, 'utf8')) : null;
}
