// SPDX-License-Identifier: Apache-2.0
// A login attempt is bound to its browser: the attempt's URL opened in another browser
// context (no attempt cookie) gets the "expired or opened in another browser" page, 404, and
// nothing of the attempt; its status URL answers 404. The first browser goes on unharmed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newPage, setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, codeShown, expectState, loginSkip, nationalId, params, startLogin, submitIdentifier } from '../lib/login.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('another browser context gets nothing of the attempt', { skip }, async (t) => {
  const snap = captures('second-context');
  const { login, device_name: deviceName } = phone.phoneAccount('practitioner', 12);
  const { page, req, rp } = await startLogin(t);
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  const code = await codeShown(page);
  const attemptUrl = page.url();
  assert.match(new URL(attemptUrl).pathname, /^\/login\/[^/]+$/);

  const other = await newPage(t);
  const resp = await other.goto(attemptUrl);
  assert.equal(resp.status(), 404);
  await expectState(other, 'error');
  const html = await other.content();
  for (const secret of [code, login, deviceName]) {
    assert.ok(!html.includes(secret), `the other browser sees ${secret}`);
  }
  for (const id of ['#code', '#device', '#service', 'form#identifier', 'form#retry']) {
    assert.equal(await other.$(id), null, `the other browser sees ${id}`);
  }
  await snap(other, 'other-browser');
  const status = await other.request.get(`${attemptUrl}/status`);
  assert.equal(status.status(), 404);
  assert.equal((await status.json()).error, 'not_found');
  const retry = await other.request.post(`${attemptUrl}/retry`, { form: { csrf: 'x' } });
  assert.equal(retry.status(), 404);

  assert.equal(await codeShown(page), code, 'the first browser still shows its code');
  const back = await waitForRedirect(page, rp.redirect_uri, () => phone.approve(login, code));
  assert.equal(params(back).state, req.state);
});
