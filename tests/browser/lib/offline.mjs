// SPDX-License-Identifier: Apache-2.0
/**
 * Helpers of the offline-code tests (issue 16; tests/browser/login/offline-*.test.mjs): the
 * waiting page's "Mon téléphone n'a pas de réseau / My phone has no network" link, the
 * offline form (`form#offline`, `#offline-code`), the phone's code (the real wallet, through
 * the testbed's phone), a code that is surely wrong, and the ID token the relying party gets.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { discovery, expectState, server, stateOf } from './login.mjs';
import { exchangeCode, verifyIdToken } from './oidc.mjs';
import * as phone from './phone.mjs';

/** The offline code's acr (server/src/id_token.rs, OFFLINE_ACR). */
export const OFFLINE_ACR = 'urn:vistalid:acr:offline-otp';

/**
 * Follows the waiting page's offline link (keyboard: focus and Enter) to the offline form.
 * With JavaScript off the waiting page reloads itself every 3 s (meta refresh): a reload can
 * replace the document while the link is looked up, or between the focus and the Enter. So
 * the link is awaited (up to 10 s, three reloads: a page without it fails), and the keyboard
 * steps are done again, at most 3 times, when the page that loaded is the waiting page again.
 */
export async function chooseOffline(page) {
  for (let tries = 1; ; tries++) {
    const link = page.locator('a#offline');
    try {
      await link.waitFor({ state: 'attached', timeout: 10_000 });
    } catch {
      assert.fail(`the waiting page offers the offline code (no a#offline at ${page.url()})`);
    }
    await link.focus();
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
    const shown = await stateOf(page).catch(() => null);
    if (shown !== 'waiting' || tries === 3) break;
  }
  await expectState(page, 'offline');
}

/** The phone's offline code for `login` (8 digits), computed by its wallet without network. */
export async function phoneCode(login) {
  const r = await phone.offlineCode(login);
  assert.equal(r.status, 200, JSON.stringify(r));
  assert.match(r.code, /^\d{8}$/);
  assert.ok(r.valid_for_secs >= 1 && r.valid_for_secs <= 30, `valid_for_secs ${r.valid_for_secs}`);
  return r.code;
}

/**
 * A code that differs from `right` in every digit: not the right one, and (one chance in
 * 10^8 each) not the code of the step before or after either.
 */
export function wrongCode(right) {
  return [...right].map((d) => String((Number(d) + 5) % 10)).join('');
}

/** Types `code` in the offline form and submits it (Enter in the field); waits for the answer page. */
export async function typeCode(page, code) {
  await page.fill('#offline-code', code);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.press('#offline-code', 'Enter')]);
}

/**
 * Types the right `code` and submits it, without waiting: the answer is the login page's
 * approved state, which leads on to the client at once (catch that with waitForRedirect).
 */
export async function sendCode(page, code) {
  await page.fill('#offline-code', code);
  await page.press('#offline-code', 'Enter');
}

/** The offline page's alert (#offline-error or #offline-locked), its text. */
export async function alertText(page) {
  const text = await page.textContent('#offline-error, #offline-locked');
  return (text ?? '').trim();
}

/**
 * The relying party's side of a login that came back to it: the code exchanged (PKCE,
 * client_secret_basic), the ID token verified (signature, iss, aud, exp, nonce, at_hash);
 * its claims.
 */
export async function idTokenOf({ rp, req, back }) {
  const d = await discovery();
  const tokens = await exchangeCode({
    endpoint: d.token_endpoint, clientId: rp.id, clientSecret: rp.secret,
    code: back.searchParams.get('code'), redirectUri: rp.redirect_uri, verifier: req.verifier,
  });
  assert.equal(tokens.status, 200, JSON.stringify(tokens));
  return verifyIdToken({
    jwksUri: d.jwks_uri, issuer: server().base_url, clientId: rp.id, idToken: tokens.id_token,
    nonce: req.nonce, accessToken: tokens.access_token,
  });
}

/** Checks an offline-code login's ID token: acr the offline level, amr otp and pin only. */
export function assertOfflineClaims(claims) {
  assert.equal(claims.acr, OFFLINE_ACR);
  assert.deepEqual([...claims.amr].sort(), ['otp', 'pin']);
  for (const never of ['hwk', 'swk', 'mfa']) assert.ok(!claims.amr.includes(never), `${never} in amr`);
}
