// SPDX-License-Identifier: Apache-2.0
// Keyboard only: Tab reaches the identifier field and its button, Enter submits; after a wrong
// pick, Tab reaches the retry button; every focused control shows a visible focus (WCAG 2.4.7).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectVisibleFocus, setup, tabTo, waitForRedirect } from '../lib/harness.mjs';
import { captures, codeShown, expectState, loginSkip, nationalId, params, startLogin } from '../lib/login.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('keyboard only: identifier form and retry button, with a visible focus', { skip }, async (t) => {
  const snap = captures('keyboard');
  const { login } = phone.phoneAccount('practitioner', 10);
  const { page, req, rp } = await startLogin(t);
  const presses = await tabTo(page, 'form#identifier input[name=identifier]');
  assert.ok(presses <= 3, `the identifier field is among the first stops (${presses} Tab presses)`);
  await expectVisibleFocus(page, { name: 'login/keyboard/focus-identifier' });
  await page.keyboard.type(nationalId(login));
  await tabTo(page, 'form#identifier [type=submit]');
  await expectVisibleFocus(page, { name: 'login/keyboard/focus-submit' });
  await snap(page, 'identifier-typed');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await expectState(page, 'waiting');
  const code = await codeShown(page);
  await phone.wrong(login, code);
  await expectState(page, 'wrong_code');
  await tabTo(page, 'form#retry button');
  await expectVisibleFocus(page, { name: 'login/keyboard/focus-retry' });
  await snap(page, 'wrong-code-retry-focused');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await expectState(page, 'waiting');
  const again = await codeShown(page);
  const back = await waitForRedirect(page, rp.redirect_uri, () => phone.approve(login, again));
  assert.equal(params(back).state, req.state);
});
