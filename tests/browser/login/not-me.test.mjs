// SPDX-License-Identifier: Apache-2.0
// "This was not me": the phone reports the request; the page says it was reported, and the
// relying party gets access_denied.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, expectState, loginSkip, nationalId, params, startLogin, submitIdentifier } from '../lib/login.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('not me: the page says the request was reported; back at the RP with access_denied', { skip }, async (t) => {
  const snap = captures('not-me');
  const { login } = phone.phoneAccount('practitioner', 5);
  const { page, req, rp } = await startLogin(t);
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  const r = await phone.notMe(login);
  assert.equal(r.outcome, 'reported', JSON.stringify(r));
  await expectState(page, 'not_me');
  assert.equal(await page.$('#code'), null);
  assert.equal(await page.$('form#retry'), null, 'a report is final');
  await snap(page, 'not-me');
  const back = await waitForRedirect(page, rp.redirect_uri, () => page.click('a#back'));
  assert.equal(params(back).error, 'access_denied');
  assert.equal(params(back).state, req.state);
});
