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
  // With scripts off, <noscript> content is markup: its meta refresh is a real element.
  const refresh = page.locator('noscript meta[http-equiv="refresh" i]');
  assert.equal(await refresh.count(), 1, 'the waiting page refreshes itself');
  assert.equal(await refresh.getAttribute('content'), '3');
  const code = await codeShown(page);
  await snap(page, 'waiting');

  // Hold the continue request so the approved page can be seen before it leaves.
  let release;
  const held = new Promise((r) => { release = r; });
  const isContinue = (url) => url.pathname.endsWith('/continue');
  await page.route(isContinue, async (route) => { await held; await route.continue(); });
  const r = await phone.approve(login, code);
  assert.equal(r.outcome, 'approved', JSON.stringify(r));
  await expectState(page, 'approved', { timeout: 15_000 });
  await snap(page, 'approved');
  const back = await waitForRedirect(page, rp.redirect_uri, async () => {
    release();
    await page.unroute(isContinue);
    const link = await page.$('a[href*="/continue"]');
    const meta = await page.$('meta[http-equiv="refresh" i]');
    assert.ok(link || meta, 'the approved page leads on without scripts');
    if (!meta) await link.click();
  });
  assert.equal(params(back).state, req.state);
  assert.ok(params(back).code);
});
