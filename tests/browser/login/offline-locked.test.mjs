// SPDX-License-Identifier: Apache-2.0
// The offline code's lock (issue 16): 5 wrong codes lock the fallback of the account for 15
// minutes and the page says so; even the right code is then refused; the phone's approval
// still works. axe checks every new page state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, codeShown, expectState, loginSkip, nationalId, params, startLogin, submitIdentifier } from '../lib/login.mjs';
import { alertText, chooseOffline, phoneCode, typeCode, wrongCode } from '../lib/offline.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('five wrong offline codes lock the fallback for 15 minutes, and the page says so', { skip }, async (t) => {
  const snap = captures('offline-locked');
  const { login } = phone.phoneAccount('practitioner', 16);
  const { page, req, rp } = await startLogin(t);
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  await chooseOffline(page);
  const right = await phoneCode(login);
  for (let left = 4; left >= 1; left--) {
    await typeCode(page, wrongCode(right));
    await expectState(page, 'offline-wrong');
    assert.match(await alertText(page), new RegExp(`: ${left}\\.$`));
  }
  await snap(page, 'last-try');
  await typeCode(page, wrongCode(right));
  await expectState(page, 'offline-locked');
  assert.match(await alertText(page), /bloqué pendant 15 minutes/);
  assert.equal(await page.$('form#offline'), null, 'no form while locked');
  await snap(page, 'locked');

  // Locked: the right code is not even compared.
  await Promise.all([page.waitForNavigation(), page.click('a#phone')]);
  await expectState(page, 'waiting');
  await chooseOffline(page);
  await typeCode(page, await phoneCode(login));
  await expectState(page, 'offline-locked');
  assert.match(await alertText(page), /15 minutes/);

  // The phone's approval is not locked.
  await Promise.all([page.waitForNavigation(), page.click('a#phone')]);
  await expectState(page, 'waiting');
  const code = await codeShown(page);
  const back = await waitForRedirect(page, rp.redirect_uri, () => phone.approve(login, code));
  assert.equal(params(back).state, req.state);
});
