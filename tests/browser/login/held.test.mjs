// SPDX-License-Identifier: Apache-2.0
// Held account: on the strict server (the login guard's default holds), a "this was not me"
// holds the account; a new login for it shows the held page, with no code, no challenge and
// no retry (the page says when one will work).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup } from '../lib/harness.mjs';
import { captures, client, expectState, loginSkip, nationalId, startLogin, submitIdentifier } from '../lib/login.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('held: after "not me" the account is held; the page says why and until when', { skip }, async (t) => {
  const snap = captures('held');
  const on = 'strict';
  const { login } = phone.phoneAccount('practitioner', 0, { on });
  const rp = client('pick', { on });
  const first = await startLogin(t, { on, rp });
  await submitIdentifier(first.page, nationalId(login));
  await expectState(first.page, 'waiting');
  const r = await phone.notMe(login);
  assert.equal(r.outcome, 'reported', JSON.stringify(r));
  await expectState(first.page, 'not_me');

  const { page } = await startLogin(t, { on, rp });
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'held');
  assert.equal(await page.$('#code'), null, 'no code while held');
  // A new try cannot work before the hold ends: none is offered, the page says when.
  assert.equal(await page.$('form#retry'), null, 'no retry while held');
  const text = await page.textContent('main');
  // "until 14:05" or "in about 15 min": either says when a new try can work.
  assert.match(text, /\d{1,2}[:h]\d{2}|\d+\s*(?:min|h)\b/, `the page says until when: ${text}`);
  await snap(page, 'held');
  const none = await phone.pending(login, { wait: 1 });
  assert.deepEqual(none.challenges, [], 'no challenge reached the phone');
});
