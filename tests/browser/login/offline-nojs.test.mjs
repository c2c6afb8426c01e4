// SPDX-License-Identifier: Apache-2.0
// The offline code with JavaScript off (issue 16): the waiting page's link and the offline
// form are plain HTML; the code is posted and the browser is sent back to the relying party
// by redirects alone. axe checks every new page state (on the JS-off page's twin).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, expectState, loginSkip, nationalId, params, startLogin, submitIdentifier } from '../lib/login.mjs';
import { assertOfflineClaims, chooseOffline, idTokenOf, phoneCode, sendCode } from '../lib/offline.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('JavaScript off: the offline link, the form, the code, back at the RP', { skip }, async (t) => {
  const snap = captures('offline-nojs');
  const { login } = phone.phoneAccount('practitioner', 18);
  const { page, req, rp } = await startLogin(t, { page: { javaScriptEnabled: false } });
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  await snap(page, 'waiting-offline-offered');
  await chooseOffline(page);
  await snap(page, 'offline-form');
  const code = await phoneCode(login);
  const back = await waitForRedirect(page, rp.redirect_uri, () => sendCode(page, code));
  assert.equal(params(back).state, req.state);
  assertOfflineClaims(await idTokenOf({ rp, req, back }));
});
