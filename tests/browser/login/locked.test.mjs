// SPDX-License-Identifier: Apache-2.0
// Locked: after a wrong pick on each of the attempt's 3 new challenges, the attempt is locked
// (no retry left) and the relying party gets access_denied.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, codeShown, expectState, loginSkip, nationalId, params, startLogin, submitIdentifier } from '../lib/login.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('locked: a wrong pick after the 3rd new attempt locks the attempt', { skip }, async (t) => {
  const snap = captures('locked');
  const { login } = phone.phoneAccount('practitioner', 7);
  const { page, req, rp } = await startLogin(t);
  await submitIdentifier(page, nationalId(login));
  for (let retry = 0; retry <= 3; retry++) {
    await expectState(page, 'waiting');
    const code = await codeShown(page);
    const wrong = await phone.wrong(login, code);
    assert.equal(wrong.error, 'wrong_code', JSON.stringify(wrong));
    if (retry === 3) break;
    await expectState(page, 'wrong_code');
    if (retry === 2) await snap(page, 'last-retry');
    await Promise.all([page.waitForNavigation(), page.click('form#retry button')]);
  }
  await expectState(page, 'locked');
  assert.equal(await page.$('form#retry'), null, 'no retry once locked');
  assert.equal(await page.$('#code'), null);
  await snap(page, 'locked');
  const back = await waitForRedirect(page, rp.redirect_uri, () => page.click('a#back'));
  assert.equal(params(back).error, 'access_denied');
  assert.equal(params(back).state, req.state);
});
