// SPDX-License-Identifier: Apache-2.0
// Type mode: the page shows the 2-digit code to type on the phone; the phone offers no
// candidates and types it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, client, codeShown, expectState, loginSkip, nationalId, params, startLogin, submitIdentifier } from '../lib/login.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('type mode: the page shows the code to type; the phone types it; back at the RP', { skip }, async (t) => {
  const snap = captures('type');
  const { login } = phone.phoneAccount('practitioner', 3);
  const rp = client('type');
  const { page, req } = await startLogin(t, { rp });
  await snap(page, 'identifier');
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  const code = await codeShown(page);
  assert.match(code, /^\d{2}$/);
  await snap(page, 'waiting');
  const seen = await phone.pending(login);
  const challenge = seen.challenges.at(-1);
  assert.equal(challenge.mode, 'type');
  assert.deepEqual(challenge.candidates, [], 'type mode offers nothing to pick');
  const back = await waitForRedirect(page, rp.redirect_uri, async () => {
    const r = await phone.approve(login, code);
    assert.equal(r.outcome, 'approved', JSON.stringify(r));
  });
  assert.equal(params(back).state, req.state);
  assert.ok(params(back).code);
});
