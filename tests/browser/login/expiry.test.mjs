// SPDX-License-Identifier: Apache-2.0
// Expiry: on the strict server, each phone challenge lives a few seconds (testbed
// `ciba_expires_in`); unanswered, the page turns to "expired" by itself and offers a new
// attempt, which the phone approves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, client, codeShown, expectState, loginSkip, nationalId, params, server, startLogin, submitIdentifier } from '../lib/login.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('expiry: the page turns to expired on its own; a new attempt succeeds', { skip }, async (t) => {
  const snap = captures('expiry');
  const on = 'strict';
  const { login } = phone.phoneAccount('practitioner', 1, { on });
  const rp = client('pick', { on });
  const lifetime = server(on).ciba_expires_in;
  assert.ok(lifetime <= 10, `a short challenge lifetime on the strict server: ${lifetime}`);
  const { page, req } = await startLogin(t, { on, rp });
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  const shownAt = Date.now();
  await expectState(page, 'expired', { timeout: (lifetime + 30) * 1000 });
  assert.ok(Date.now() - shownAt >= (lifetime - 2) * 1000, 'not before the challenge expired');
  assert.equal(await page.$('#code'), null);
  await snap(page, 'expired');
  await Promise.all([page.waitForNavigation(), page.click('form#retry button')]);
  await expectState(page, 'waiting');
  const code = await codeShown(page);
  await snap(page, 'waiting-again');
  const back = await waitForRedirect(page, rp.redirect_uri, async () => {
    const r = await phone.approve(login, code);
    assert.equal(r.outcome, 'approved', JSON.stringify(r));
  });
  assert.equal(params(back).state, req.state);
  assert.ok(params(back).code);
});
