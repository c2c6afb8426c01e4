// SPDX-License-Identifier: Apache-2.0
// Scan mode (issue 16): the login page shows a QR code; the test reads it off the page's
// screenshot with the CLI's QR decoder (`vistalid scan FILE.png`), and that wallet (enrolled
// here with one of the testbed's own practitioners) approves with the MAC of the scanned
// secret. Two ways in: the page's "scan" button on a plain client, and a client registered
// for scan mode. axe checks every new page state.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { artefactPath, fixture, setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, client, codeShown, expectState, loginSkip, nationalId, params, startLogin } from '../lib/login.mjs';

setup();
const cli = process.env.VISTALID_CLI;
const skip = loginSkip() || (!cli && 'needs the vistalid CLI (scripts/test-browser.sh)')
  || (!fixture()?.scan_client && 'needs a testbed with a scan-mode client');
const PIN = '204862';

/** Runs the CLI with `input` on its standard input; resolves { code, stdout, stderr }. */
function run(args, input) {
  return new Promise((resolveRun) => {
    const child = execFile(cli, args, { timeout: 60_000, encoding: 'utf8', env: { ...process.env, VISTALID_LANG: 'en' } },
      (error, stdout, stderr) => resolveRun({ code: error ? (error.code ?? 1) : 0, stdout, stderr }));
    child.stdin.end(input);
  });
}

let wallet = null;
/** The CLI wallet's state folder and identifier (enrolled once per file). */
async function cliWallet() {
  if (wallet) return wallet;
  const dir = mkdtempSync(join(tmpdir(), 'vistalid-scan-'));
  const { rpps, activation_code: code } = fixture().practitioners[1];
  const r = await run(['--state-dir', dir, 'enrol', '--server', fixture().base_url, '--code', code], `${PIN}\n`);
  assert.equal(r.code, 0, `enrol: ${r.stdout}${r.stderr}`);
  wallet = { dir, identifier: nationalId(rpps) };
  return wallet;
}

/** Screenshots the page's QR code and has `vistalid scan` read and approve it with `code`. */
async function scanAndApprove(page, name, code) {
  const { dir } = await cliWallet();
  const png = artefactPath(name, '.png');
  await page.locator('#scan-qr').screenshot({ path: png, animations: 'disabled' });
  return run(['--state-dir', dir, 'scan', png], `${code}\n${PIN}\n`);
}

test('scan mode on request: the page offers it, shows a QR code, and the scanned approval logs in', { skip }, async (t) => {
  const snap = captures('scan-button');
  const { identifier } = await cliWallet();
  const rp = client('pick');
  const { page, req } = await startLogin(t, { rp });
  assert.ok(await page.isVisible('#scan-mode'), 'the identifier form offers scan mode');
  assert.match(await page.textContent('#scan-offer-text'), /QR code/);
  await snap(page, 'identifier-with-scan-offer');
  await page.fill('form#identifier input[name=identifier]', identifier);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#scan-mode')]);
  await expectState(page, 'waiting');
  assert.ok(await page.isVisible('#scan-qr'), 'the waiting page shows the QR code');
  assert.match(await page.textContent('#scan-protects'), /QR code/);
  const code = await codeShown(page);
  await snap(page, 'waiting-scan');

  const back = await waitForRedirect(page, rp.redirect_uri, async () => {
    const r = await scanAndApprove(page, 'login/scan-button/qr-crop', code);
    assert.equal(r.code, 0, `vistalid scan: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /QR code read/);
  });
  const q = params(back);
  assert.equal(q.state, req.state);
  assert.ok(q.code, 'a code');
});

test('a client registered for scan mode: the page says so, and a wrong QR code is refused', { skip }, async (t) => {
  const snap = captures('scan-client');
  const { identifier, dir } = await cliWallet();
  const rp = { ...fixture().scan_client };
  const { page, req } = await startLogin(t, { rp, params: { ui_locales: 'en' } });
  assert.match(await page.textContent('#scan-forced'), /scan a QR code/);
  assert.equal(await page.$('#scan-mode'), null, 'no button for what is already on');
  await snap(page, 'identifier-scan-forced');
  await page.fill('form#identifier input[name=identifier]', identifier);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.press('form#identifier input[name=identifier]', 'Enter')]);
  await expectState(page, 'waiting');
  const code = await codeShown(page);
  await snap(page, 'waiting-scan-en');

  // Not a login QR code: refused before any network.
  const bad = await run(['--state-dir', dir, 'scan', 'VL1:NOT-A-LOGIN'], '');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /not a Vistalid login QR code/);

  const back = await waitForRedirect(page, rp.redirect_uri, async () => {
    const r = await scanAndApprove(page, 'login/scan-client/qr-crop', code);
    assert.equal(r.code, 0, `vistalid scan: ${r.stdout}${r.stderr}`);
  });
  assert.equal(params(back).state, req.state);
  assert.ok(params(back).code);
});
