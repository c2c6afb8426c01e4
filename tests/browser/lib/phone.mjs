// SPDX-License-Identifier: Apache-2.0
/**
 * The client of the testbed's test-only phone (tests/src/bin/testbed/phone.rs): real wallets,
 * enrolled for the accounts listed in the fixture's `phone_accounts`, that answer the pending
 * challenge when a test asks.
 *
 * Every call returns the phone's JSON answer with its HTTP `status` added: `200` with
 * `outcome` ('approved', 'denied', 'reported'), or an `error` code ('wrong_code',
 * 'wrong_pin', 'no_pending_challenge', …) and a `message`. Only a phone that cannot be
 * reached throws.
 *
 * @module
 */
import { fixture } from './harness.mjs';

/** The phone's base URL and accounts, from the fixture; throws when there is no phone. */
export function phoneFixture() {
  const f = fixture();
  if (!f?.phone_url) {
    throw new Error('no phone: run the tests with scripts/test-browser.sh (testbed --phone M)');
  }
  return { url: f.phone_url, pin: f.phone_pin, accounts: f.phone_accounts };
}

/**
 * The `n`th phone account of `kind` ('practitioner' or 'insured') on server `on` ('main', the
 * default, or 'strict'): { login, login_id, kind, account_id, device_name, server }. A test file
 * uses accounts no other file uses (files run in parallel; selftest/accounts.test.mjs checks).
 */
export function phoneAccount(kind, n = 0, { on = 'main' } = {}) {
  const account = phoneFixture().accounts.filter((a) => a.kind === kind && (a.server ?? 'main') === on)[n];
  if (!account) throw new Error(`the phone holds no ${kind} number ${n}${on === 'main' ? '' : ` on the ${on} server`}`);
  return account;
}

async function call(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(phoneFixture().url + path, init);
  const json = await resp.json();
  return { status: resp.status, ...json };
}

const seg = (login) => `/phone/${encodeURIComponent(login)}`;

/** The pending challenges as the phone shows them: { device_name, challenges: [{ service, binding_message, candidates, mode, … }] }. */
export function pending(login, { wait = 10 } = {}) {
  return call('GET', `${seg(login)}/pending?wait=${wait}`);
}

/**
 * Approves the newest pending challenge with `code`, the code the test read on the page:
 * picked among the candidates (pick mode) or typed (type mode). `options` may give `pin`
 * (a wrong PIN), `challenge_id`, `wait` (seconds to wait for the challenge).
 */
export function approve(login, code, options = {}) {
  return call('POST', `${seg(login)}/approve`, { code, ...options });
}

/** Sends a code other than `code` (another candidate, or another typed code): a wrong pick. */
export function wrong(login, code, options = {}) {
  return call('POST', `${seg(login)}/wrong`, { code, ...options });
}

/** Declines the newest pending challenge. */
export function deny(login, options = {}) {
  return call('POST', `${seg(login)}/deny`, options);
}

/** Reports the newest pending challenge as "this was not me". */
export function notMe(login, options = {}) {
  return call('POST', `${seg(login)}/not-me`, options);
}

/** An insured person's QR presentation: { text, mode, expires_at, png_base64 }. */
export function qr(login, options = {}) {
  return call('POST', `${seg(login)}/qr`, options);
}

/**
 * The account's offline code (issue 16), as the wallet shows it after the PIN, computed
 * without the network: { code (8 digits), valid_for_secs }. `options` may give `pin`.
 */
export function offlineCode(login, options = {}) {
  return call('POST', `${seg(login)}/code`, options);
}
