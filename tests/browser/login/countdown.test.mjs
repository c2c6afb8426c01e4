// SPDX-License-Identifier: Apache-2.0
// The countdown is announced politely: #countdown is an aria-live="polite" region whose text
// changes at most every 30 s (a screen reader would otherwise read it every second), and
// does change while the challenge runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup } from '../lib/harness.mjs';
import { captures, codeShown, expectState, loginSkip, nationalId, startLogin, submitIdentifier } from '../lib/login.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();
/** ADR 0002: announced at most every 30 s. */
const MIN_GAP_MS = 30_000;
/** Watched this long: two announcement periods and some. */
const WATCH_MS = 65_000;

test('countdown: aria-live polite, its text changes at most every 30 s', { skip, timeout: 120_000 }, async (t) => {
  const snap = captures('countdown');
  const { login } = phone.phoneAccount('practitioner', 11);
  const { page } = await startLogin(t);
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  const live = await page.$eval('#countdown', (e) => ({
    live: e.getAttribute('aria-live'),
    atomic: e.getAttribute('aria-atomic'),
    text: e.textContent.trim(),
  }));
  assert.equal(live.live, 'polite');
  assert.ok(live.text.length > 0, 'the countdown says something from the start');
  await snap(page, 'waiting');
  // Record every change of the region's text, with the time it happened.
  await page.evaluate(() => {
    const el = document.querySelector('#countdown');
    window.__countdown = [{ at: performance.now(), text: el.textContent.trim() }];
    new MutationObserver(() => {
      const text = el.textContent.trim();
      if (text !== window.__countdown.at(-1).text) window.__countdown.push({ at: performance.now(), text });
    }).observe(el, { subtree: true, childList: true, characterData: true });
  });
  await page.waitForTimeout(WATCH_MS);
  await expectState(page, 'waiting');
  const seen = await page.evaluate(() => window.__countdown);
  const changes = seen.slice(1);
  assert.ok(changes.length >= 1, `the countdown never changed in ${WATCH_MS / 1000} s: ${JSON.stringify(seen)}`);
  for (let i = 1; i < changes.length; i++) {
    const gap = changes[i].at - changes[i - 1].at;
    assert.ok(gap >= MIN_GAP_MS - 1_000, `two announcements ${Math.round(gap)} ms apart: ${JSON.stringify(seen)}`);
  }
  assert.ok(changes.length <= Math.ceil(WATCH_MS / MIN_GAP_MS), `too many announcements: ${JSON.stringify(seen)}`);
  await snap(page, 'waiting-later');
  const code = await codeShown(page);
  await phone.approve(login, code);
});
