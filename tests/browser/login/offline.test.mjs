// SPDX-License-Identifier: Apache-2.0
// The offline code (issue 16): the waiting page offers "Mon téléphone n'a pas de réseau",
// the phone's wallet computes the 8-digit code without network, the page takes it and the
// browser is back at the relying party, whose ID token says acr offline, amr otp + pin. A
// wrong code is refused (the page says so, with the tries left); the same code, replayed on
// a new login, is refused. axe checks every new page state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, expectState, loginSkip, nationalId, params, startLogin, submitIdentifier } from '../lib/login.mjs';
import { alertText, assertOfflineClaims, chooseOffline, idTokenOf, phoneCode, sendCode, typeCode, wrongCode } from '../lib/offline.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();
const { login } = skip ? {} : phone.phoneAccount('practitioner', 15);

test('the offline code: offered, a wrong code refused, the right one logs in, a replay refused', { skip }, async (t) => {
  const snap = captures('offline');
  const { page, req, rp } = await startLogin(t);
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  assert.equal((await page.textContent('a#offline')).trim(), "Mon téléphone n'a pas de réseau");
  await snap(page, 'waiting-offline-offered');
  await chooseOffline(page);
  assert.equal(await page.getAttribute('html', 'lang'), 'fr');
  assert.equal(await page.getAttribute('#offline-code', 'autocomplete'), 'one-time-code');
  await snap(page, 'offline-form');

  const right = await phoneCode(login);
  await typeCode(page, wrongCode(right));
  await expectState(page, 'offline-wrong');
  assert.match(await alertText(page), /Code incorrect\. Essais restants avant blocage : 4\./);
  await snap(page, 'offline-wrong');

  const code = await phoneCode(login);
  const shownAt = Date.now();
  const back = await waitForRedirect(page, rp.redirect_uri, () => sendCode(page, code));
  assert.equal(params(back).state, req.state);
  assertOfflineClaims(await idTokenOf({ rp, req, back }));
  const left = await phone.pending(login, { wait: 0 });
  assert.equal(left.challenges.length, 0, 'the code answered the phone request');

  // The same code on a new login: the server took its step once; refused as a wrong code.
  const again = await startLogin(t);
  await submitIdentifier(again.page, nationalId(login));
  await expectState(again.page, 'waiting');
  await chooseOffline(again.page);
  // Typed within 30 s of being shown, the code is still inside the server's window (one
  // step either side): only the replay rule can refuse it.
  assert.ok(Date.now() - shownAt < 30_000, 'the replay is typed within the window');
  await typeCode(again.page, code);
  await expectState(again.page, 'offline-wrong');
  assert.match(await alertText(again.page), /Code incorrect\. Essais restants avant blocage : 4\./);
  await snap(again.page, 'offline-replayed');
});
