// SPDX-License-Identifier: Apache-2.0
// Wrong pick, then a new attempt: the phone picks another candidate; the page says the code
// was wrong and how many new attempts are left; its retry button sends a new challenge, which
// the phone then approves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, codeShown, expectState, loginSkip, nationalId, params, startLogin, submitIdentifier } from '../lib/login.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('wrong pick: the page says so with the retries left; a new attempt succeeds', { skip }, async (t) => {
  const snap = captures('wrong-pick');
  const { login } = phone.phoneAccount('practitioner', 6);
  const { page, req, rp } = await startLogin(t);
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  const first = await codeShown(page);
  const wrong = await phone.wrong(login, first);
  assert.equal(wrong.status, 409, JSON.stringify(wrong));
  assert.equal(wrong.error, 'wrong_code');
  await expectState(page, 'wrong_code');
  assert.equal(await page.$('#code'), null, 'the old code is gone');
  const text = await page.textContent('main');
  assert.match(text, /3/, `the page says how many new attempts are left: ${text}`);
  await snap(page, 'wrong-code');

  await Promise.all([page.waitForNavigation(), page.click('form#retry button')]);
  await expectState(page, 'waiting');
  const second = await codeShown(page);
  const pending = await phone.pending(login);
  const fresh = pending.challenges.at(-1);
  assert.ok(fresh.candidates.includes(second), 'the new challenge carries the new code');
  await snap(page, 'waiting-again');
  const back = await waitForRedirect(page, rp.redirect_uri, async () => {
    const r = await phone.approve(login, second, { challenge_id: fresh.id });
    assert.equal(r.outcome, 'approved', JSON.stringify(r));
  });
  assert.equal(params(back).state, req.state);
  assert.ok(params(back).code);
});
