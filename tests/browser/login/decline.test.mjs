// SPDX-License-Identifier: Apache-2.0
// Decline: the practitioner declines on the phone; the page says so and its "back to the
// service" link returns access_denied to the relying party, with its state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, expectState, loginSkip, nationalId, params, startLogin, submitIdentifier } from '../lib/login.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('decline: the page shows the refusal; back at the RP with access_denied', { skip }, async (t) => {
  const snap = captures('decline');
  const { login } = phone.phoneAccount('practitioner', 4);
  const { page, req, rp } = await startLogin(t);
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  await snap(page, 'waiting');
  const r = await phone.deny(login);
  assert.equal(r.outcome, 'denied', JSON.stringify(r));
  await expectState(page, 'declined');
  assert.equal(await page.$('#code'), null, 'no code on a declined page');
  assert.equal(await page.$('form#retry'), null, 'a decline is final');
  await snap(page, 'declined');
  const back = await waitForRedirect(page, rp.redirect_uri, () => page.click('a#back'));
  const q = params(back);
  assert.equal(q.error, 'access_denied');
  assert.equal(q.state, req.state);
  assert.equal(q.code, undefined);
});
