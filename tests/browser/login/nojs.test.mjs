// SPDX-License-Identifier: Apache-2.0
// JavaScript off: the whole login works without scripts. The waiting page refreshes itself
// (<noscript><meta http-equiv="refresh" content="3"></noscript>), shows the approval when it
// comes, and the browser reaches the relying party.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, codeShown, expectState, loginSkip, nationalId, params, startLogin, submitIdentifier } from '../lib/login.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('JavaScript off: identifier, waiting with a refresh, approval, back at the RP', { skip }, async (t) => {
  const snap = captures('nojs');
  const { login } = phone.phoneAccount('practitioner', 8);
  const { page, req, rp } = await startLogin(t, { page: { javaScriptEnabled: false } });
  await snap(page, 'identifier');
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  // With scripts off, <noscript> content is markup: its meta refresh is a real element. The
  // locator waits for it (a refresh may be replacing the document) and is strict: exactly one.
  const refresh = page.locator('noscript meta[http-equiv="refresh" i]');
  assert.equal(await refresh.getAttribute('content', { timeout: 10_000 }), '3', 'the waiting page refreshes itself every 3 s');
  const code = await codeShown(page);
  await snap(page, 'waiting');

  // The approved page leads on at once (meta refresh 0). Its first step to /continue is
  // answered in the browser with 204 No Content, so the page stays put to be seen (a held
  // request would leave the page mid-navigation, where it cannot be inspected); the server
  // never sees that request. Then the page's own link goes on, for real.
  let led;
  const ledOn = new Promise((r) => { led = r; });
  const isContinue = (url) => url.pathname.endsWith('/continue');
  await page.route(isContinue, (route) => { led(route.request().url()); return route.fulfill({ status: 204 }); });
  const r = await phone.approve(login, code);
  assert.equal(r.outcome, 'approved', JSON.stringify(r));
  await expectState(page, 'approved', { timeout: 15_000 });
  const first = await Promise.race([ledOn, new Promise((resolve) => { setTimeout(() => resolve(null), 5_000); })]);
  assert.ok(first, 'the approved page leads on to /continue without scripts (meta refresh)');
  await page.unroute(isContinue);
  await snap(page, 'approved');
  const back = await waitForRedirect(page, rp.redirect_uri, async () => {
    const link = await page.$('a[href*="/continue"]');
    assert.ok(link, 'the approved page has a link to go on');
    await link.click();
  });
  assert.equal(params(back).state, req.state);
  assert.ok(params(back).code);
});
