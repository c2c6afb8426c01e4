// SPDX-License-Identifier: Apache-2.0
// The offline code in English (issue 16): ui_locales=en gives "My phone has no network", the
// English form and the English wrong-code message; the right code logs in. axe checks every
// new page state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, expectState, loginSkip, nationalId, params, startLogin, submitIdentifier } from '../lib/login.mjs';
import { alertText, assertOfflineClaims, chooseOffline, idTokenOf, phoneCode, sendCode, typeCode, wrongCode } from '../lib/offline.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('English: My phone has no network, the form, a wrong code, the right code', { skip }, async (t) => {
  const snap = captures('offline-english');
  const { login } = phone.phoneAccount('practitioner', 17);
  const { page, req, rp } = await startLogin(t, { params: { ui_locales: 'en' } });
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  assert.equal((await page.textContent('a#offline')).trim(), 'My phone has no network');
  await snap(page, 'waiting-offline-offered-en');
  await chooseOffline(page);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.match(await page.textContent('main h1'), /Offline code/);
  assert.match(await page.textContent('label[for=offline-code]'), /8-digit code/);
  await snap(page, 'offline-form-en');
  const right = await phoneCode(login);
  await typeCode(page, wrongCode(right));
  await expectState(page, 'offline-wrong');
  assert.match(await alertText(page), /^Wrong code\. Tries left before the lock: 4\.$/);
  await snap(page, 'offline-wrong-en');
  const code = await phoneCode(login);
  const back = await waitForRedirect(page, rp.redirect_uri, () => sendCode(page, code));
  assert.equal(params(back).state, req.state);
  assertOfflineClaims(await idTokenOf({ rp, req, back }));
});
