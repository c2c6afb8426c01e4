// SPDX-License-Identifier: Apache-2.0
// Self-tests of the harness (lib/harness.mjs) against the fixture pages of fixture-server.mjs.
// Each helper is shown to pass where it should AND to fail where it should: a harness that
// cannot fail would let every page test pass.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  A11yError,
  artefactPath,
  capture,
  checkA11y,
  decodeQrFromElement,
  expectVisibleFocus,
  fixture,
  newPage,
  setup,
  shot,
  tabTo,
  waitForRedirect,
} from '../lib/harness.mjs';
import * as phone from '../lib/phone.mjs';
import { REDIRECT, startFixtureServer } from './fixture-server.mjs';

setup();
const testbed = fixture();
let site;
let qrText = null;

before(async () => {
  let qrPng;
  if (testbed?.phone_url) {
    const shown = await phone.qr(phone.phoneAccount('insured').login);
    assert.equal(shown.status, 200, JSON.stringify(shown));
    qrText = shown.text;
    qrPng = Buffer.from(shown.png_base64, 'base64');
  }
  site = await startFixtureServer({ qrPng });
});
after(() => site.close());

test('a clean page passes axe; the screenshot and the full axe result are written', async (t) => {
  const page = await newPage(t);
  await page.goto(`${site.url}/clean`);
  const result = await capture(page, 'selftest/clean');
  assert.deepEqual(result.violations, []);
  assert.ok(result.passes.length > 5, 'axe ran its rules');
  const png = readFileSync(artefactPath('selftest/clean', '.png'));
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  const json = JSON.parse(readFileSync(artefactPath('selftest/clean', '.axe.json'), 'utf8'));
  assert.equal(json.url, `${site.url}/clean`);
  assert.deepEqual(json.toolOptions.runOnly.values, ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']);
});

test('checkA11y reports the known violations with rule, impact, selectors and help URL', async (t) => {
  const page = await newPage(t);
  await page.goto(`${site.url}/violations`);
  const error = await checkA11y(page, 'selftest/violations').then(
    () => assert.fail('checkA11y passed a page with three violations'),
    (e) => e,
  );
  assert.ok(error instanceof A11yError, String(error));
  const ids = error.violations.map((v) => v.id).sort();
  for (const id of ['color-contrast', 'image-alt', 'label']) assert.ok(ids.includes(id), `${id} in ${ids}`);
  assert.match(error.message, /image-alt \[critical\]/);
  assert.match(error.message, /at #nolabel/);
  assert.match(error.message, /https:\/\/dequeuniversity\.com\/rules\/axe\/[\d.]+\/label/);
  const json = JSON.parse(readFileSync(artefactPath('selftest/violations', '.axe.json'), 'utf8'));
  assert.deepEqual(json.violations.map((v) => v.id).sort(), ids);
});

test('javaScriptEnabled:false really turns JavaScript off; the page keeps its CSP', async (t) => {
  const on = await newPage(t);
  await on.goto(`${site.url}/js`);
  assert.equal(await on.textContent('#state'), 'Avec JavaScript');
  // The script without the CSP nonce did not run: axe's injection needs no CSP bypass.
  assert.equal(await on.title(), 'JavaScript');
  const off = await newPage(t, { javaScriptEnabled: false });
  await off.goto(`${site.url}/js`);
  assert.equal(await off.textContent('#state'), 'Sans JavaScript');
  assert.equal(await off.locator('noscript img').count(), 1);
});

test('axe checks a JavaScript-off page as it is shown (noscript content in)', async (t) => {
  const on = await newPage(t);
  await on.goto(`${site.url}/js`);
  await capture(on, 'selftest/js-on');
  const off = await newPage(t, { javaScriptEnabled: false });
  await off.goto(`${site.url}/js`);
  await shot(off, 'selftest/js-off');
  await assert.rejects(checkA11y(off, 'selftest/js-off'), (e) => e instanceof A11yError &&
    e.violations.some((v) => v.id === 'image-alt'));
  // The twin invents nothing: a clean page stays clean with JavaScript off, and the JS-off
  // page itself was left as it was.
  const clean = await newPage(t, { javaScriptEnabled: false });
  await clean.goto(`${site.url}/clean`);
  const result = await capture(clean, 'selftest/clean-js-off');
  assert.equal(result.vistalid.checkedOnTwin, true);
  assert.equal(await off.textContent('#state'), 'Sans JavaScript');
});

for (const javaScriptEnabled of [true, false]) {
  test(`tabTo reaches the button and its focus is visible (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async (t) => {
    const page = await newPage(t, { javaScriptEnabled });
    await page.goto(`${site.url}/clean`);
    // Skip link, identifier, then the button.
    assert.equal(await tabTo(page, '#go'), 3);
    await expectVisibleFocus(page, { name: `selftest/focus-js-${javaScriptEnabled ? 'on' : 'off'}` });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'go', 'focus put back');
  });
}

test('tabTo fails on a page where the element cannot get the focus, or is missing', async (t) => {
  const page = await newPage(t);
  await page.goto(`${site.url}/no-focus`);
  await assert.rejects(tabTo(page, '#go', { maxPresses: 5 }), /#go never got the focus in 5 Tab presses/);
  await assert.rejects(tabTo(page, '#absent'), /no element matches #absent/);
});

test('expectVisibleFocus fails when the focus changes nothing on screen, or nothing is focused', async (t) => {
  const page = await newPage(t);
  await page.goto(`${site.url}/invisible-focus`);
  await assert.rejects(expectVisibleFocus(page), /nothing has the focus/);
  await tabTo(page, '#go');
  await assert.rejects(expectVisibleFocus(page), /button#go "Continuer" looks the same/);
});

test('waitForRedirect catches the redirect to the relying party after a form (HTTP 303)', async (t) => {
  const page = await newPage(t);
  await page.goto(`${site.url}/clean`);
  await page.fill('#id', '810003456789');
  const url = await waitForRedirect(page, REDIRECT, () => page.click('#go'));
  assert.equal(url.searchParams.get('code'), 'abc');
  assert.equal(url.searchParams.get('state'), 'xyz');
  assert.ok(page.url().startsWith(REDIRECT), page.url());
});

test('waitForRedirect follows a meta refresh with JavaScript off', async (t) => {
  const page = await newPage(t, { javaScriptEnabled: false });
  const url = await waitForRedirect(page, REDIRECT, () => page.goto(`${site.url}/meta-redirect`));
  assert.equal(url.searchParams.get('state'), 'js-off');
});

test('waitForRedirect fails when the page never goes there', async (t) => {
  const page = await newPage(t);
  await assert.rejects(
    waitForRedirect(page, REDIRECT, () => page.goto(`${site.url}/clean`), { timeout: 500 }),
    /no navigation to http:\/\/127\.0\.0\.1:9\/rp\/callback within 500 ms; the page is at .*\/clean/,
  );
});

test('newPage gives each test its own cookies and the locale as Accept-Language', async (t) => {
  const first = await newPage(t);
  await first.goto(`${site.url}/set-cookie`);
  await first.goto(`${site.url}/headers`);
  const seen = JSON.parse(await first.textContent('body'));
  assert.equal(seen.cookie, 'login=secret');
  assert.match(seen.acceptLanguage, /^fr-FR/);
  const second = await newPage(t, { locale: 'en-GB' });
  await second.goto(`${site.url}/headers`);
  const other = JSON.parse(await second.textContent('body'));
  assert.equal(other.cookie, null);
  assert.match(other.acceptLanguage, /^en-GB/);
});

test('artefact names stay under target/browser-screenshots; newPage needs the test', async () => {
  assert.throws(() => artefactPath('../escape', '.png'), /bad artefact name/);
  assert.throws(() => artefactPath('a//b', '.png'), /bad artefact name/);
  assert.throws(() => artefactPath('/abs', '.png'), /bad artefact name/);
  assert.match(artefactPath('selftest/ok-name.1', '.png'), /target\/browser-screenshots\/selftest\/ok-name\.1\.png$/);
  await assert.rejects(newPage({}), /pass the test context/);
});

test('decodeQrFromElement reads a presentation QR from the page with the CLI decoder', async (t) => {
  const cli = process.env.VISTALID_CLI;
  if (!testbed?.phone_url || !cli) {
    t.skip('needs the testbed phone and the vistalid CLI (scripts/test-browser.sh)');
    return;
  }
  const page = await newPage(t);
  await page.goto(`${site.url}/qr`);
  await capture(page, 'selftest/qr');
  const verify = [cli, 'verify', '--png', '{png}', '--server', testbed.base_url];
  const env = { VISTALID_LANG: 'en' };
  const out = await decodeQrFromElement(page, '#qr', verify, { name: 'selftest/qr-crop', env });
  // The verifier checks the issuer's and the device's signatures over the exact text: it
  // passes only if the screenshot decoded back to the presentation the phone made.
  assert.match(out, /^Valid offline presentation: Louise Bernard \(insured-phone-0000\)\./);
  assert.ok(qrText.startsWith('VL1:'));
  assert.ok(existsSync(artefactPath('selftest/qr-crop', '.png')));

  await page.goto(`${site.url}/not-qr`);
  await assert.rejects(
    decodeQrFromElement(page, '#qr', verify, { name: 'selftest/not-qr-crop', env }),
    /failed \(\d+\): No QR code found in the image/,
  );
});
