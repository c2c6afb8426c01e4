// SPDX-License-Identifier: Apache-2.0
// Unknown identifier: an identifier no account has, and an account with no active device, get
// the same page (one state, one wording), with no code and no device name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, setup } from '../lib/harness.mjs';
import { captures, expectState, loginSkip, nationalId, startLogin, submitIdentifier } from '../lib/login.mjs';

setup();
const skip = loginSkip();

/** The page's visible text, to compare wordings. */
const visibleText = (page) => page.evaluate(() => document.querySelector('main').innerText.replace(/\s+/g, ' ').trim());

test('unknown identifier: the same page as an account without a device', { skip }, async (t) => {
  const snap = captures('unknown');
  const unknown = await startLogin(t);
  await submitIdentifier(unknown.page, '899999999999');
  await expectState(unknown.page, 'no_device');
  assert.equal(await unknown.page.$('#code'), null);
  assert.equal(await unknown.page.$('#device'), null);
  await snap(unknown.page, 'unknown-identifier');

  // The testbed's own practitioners have an activation code but no device.
  const { rpps } = fixture().practitioners[0];
  const noDevice = await startLogin(t);
  await submitIdentifier(noDevice.page, nationalId(rpps));
  await expectState(noDevice.page, 'no_device');
  await snap(noDevice.page, 'no-device');
  assert.equal(await visibleText(noDevice.page), await visibleText(unknown.page), 'one wording for both');
});
