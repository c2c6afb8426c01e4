// SPDX-License-Identifier: Apache-2.0
// Pick mode: the practitioner types the national id, the page shows the service, the code
// dynamique and the phone's name; the phone picks that code among its candidates; the
// browser goes back to the relying party.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, client, codeShown, expectState, loginSkip, nationalId, params, startLogin, submitIdentifier } from '../lib/login.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('pick mode: the phone picks the code the page shows, among its candidates; back at the RP', { skip }, async (t) => {
  const snap = captures('pick');
  const { login, device_name: deviceName } = phone.phoneAccount('practitioner', 2);
  const rp = client('pick');
  const { page, req } = await startLogin(t, { rp });
  assert.equal(await page.getAttribute('html', 'lang'), 'fr');
  await snap(page, 'identifier');
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  const code = await codeShown(page);
  assert.match(code, /^\d{2}$/);
  assert.equal((await page.textContent('#service')).trim(), rp.name);
  assert.equal((await page.textContent('#device')).trim(), deviceName);
  await snap(page, 'waiting');

  const seen = await phone.pending(login);
  assert.equal(seen.status, 200, JSON.stringify(seen));
  const challenge = seen.challenges.at(-1);
  assert.equal(challenge.mode, 'pick');
  assert.equal(challenge.service, rp.name);
  assert.ok(challenge.candidates.includes(code), `the phone offers ${challenge.candidates}, the page shows ${code}`);
  assert.equal(challenge.candidates.length, 3);

  const back = await waitForRedirect(page, rp.redirect_uri, async () => {
    const r = await phone.approve(login, code);
    assert.equal(r.outcome, 'approved', JSON.stringify(r));
  });
  const q = params(back);
  assert.equal(q.state, req.state);
  assert.ok(q.code, 'a code');
  assert.equal(q.error, undefined);
});
