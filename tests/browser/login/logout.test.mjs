// SPDX-License-Identifier: Apache-2.0
// The pages around the login page: RP-initiated logout without a post_logout_redirect_uri
// shows the "session closed" page and ends the SSO session (the next authorization request
// shows the identifier form again); an unregistered post_logout_redirect_uri is never
// redirected to; an authorization request with an unregistered redirect_uri gets an error
// page, never a redirect (RFC 6749 §4.1.2.1); the confirmation form leads the browser on to
// a registered post_logout_redirect_uri (the page's CSP form-action names its origin).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, codeShown, discovery, expectState, loginSkip, nationalId, params, startLogin, stateOf, submitIdentifier } from '../lib/login.mjs';
import { authorizationRequest, exchangeCode } from '../lib/oidc.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('logout: the session-closed page ends the session; unregistered URIs get error pages, never a redirect', { skip }, async (t) => {
  const snap = captures('logout');
  const { login } = phone.phoneAccount('practitioner', 14);
  const { page, req, rp } = await startLogin(t);
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  const code = await codeShown(page);
  const back = await waitForRedirect(page, rp.redirect_uri, () => phone.approve(login, code));
  const d = await discovery();
  const tokens = await exchangeCode({
    endpoint: d.token_endpoint, clientId: rp.id, clientSecret: rp.secret,
    code: params(back).code, redirectUri: rp.redirect_uri, verifier: req.verifier,
  });
  assert.equal(tokens.status, 200, JSON.stringify(tokens));

  // While the session lives, a new request in this browser comes back at once.
  const sso = authorizationRequest({ endpoint: d.authorization_endpoint, clientId: rp.id, redirectUri: rp.redirect_uri });
  // (A redirect inside page.goto is not routed: watch the request instead; nothing listens
  // at the client's address, so that navigation itself fails, as it may.)
  const [again] = await Promise.all([
    page.waitForRequest((r) => r.url().startsWith(rp.redirect_uri)),
    page.goto(sso.url.href).catch(() => null),
  ]);
  assert.equal(params(again.url()).state, sso.state);
  assert.ok(params(again.url()).code, 'the SSO session answers with a code');

  // That navigation ends at the client's address, where nothing listens, and its error page
  // may still be on its way: go on in a second tab of the same browser (same cookies), so it
  // cannot interrupt the next one.
  const tab = await page.context().newPage();

  // An unregistered post_logout_redirect_uri: an error page, no redirect, the session kept.
  const bad = new URL(d.end_session_endpoint);
  bad.searchParams.set('id_token_hint', tokens.id_token);
  bad.searchParams.set('post_logout_redirect_uri', 'https://attacker.example/after');
  bad.searchParams.set('state', 'x');
  const refused = await tab.goto(bad.href);
  assert.equal(refused.status(), 400);
  assert.equal(new URL(tab.url()).origin, new URL(d.end_session_endpoint).origin, 'not redirected');
  await expectState(tab, 'error');
  await snap(tab, 'logout-unregistered-uri');

  // Logout without id_token_hint: a confirmation first (the session still stands), then
  // the confirmation form ends it.
  const bare = await tab.goto(d.end_session_endpoint);
  assert.equal(bare.status(), 200);
  await expectState(tab, 'logout_confirm');
  await snap(tab, 'logout-confirm');
  await Promise.all([tab.waitForNavigation(), tab.click('form#logout button')]);
  await expectState(tab, 'logged_out');

  // Logout with a hint and without a redirect: the "session closed" page at once.
  const end = new URL(d.end_session_endpoint);
  end.searchParams.set('id_token_hint', tokens.id_token);
  const closed = await tab.goto(end.href);
  assert.equal(closed.status(), 200);
  await expectState(tab, 'logged_out');
  await snap(tab, 'logged-out');

  // The session is over: the next request shows the identifier form.
  const next = authorizationRequest({ endpoint: d.authorization_endpoint, clientId: rp.id, redirectUri: rp.redirect_uri });
  await tab.goto(next.url.href);
  await expectState(tab, 'identifier');

  // An unregistered redirect_uri: an error tab at the server, never a redirect.
  const evil = authorizationRequest({ endpoint: d.authorization_endpoint, clientId: rp.id, redirectUri: 'https://attacker.example/cb' });
  const answer = await tab.goto(evil.url.href);
  assert.equal(answer.status(), 400);
  assert.equal(new URL(tab.url()).origin, new URL(d.authorization_endpoint).origin, 'not redirected');
  assert.equal(await stateOf(tab), 'error');
  await snap(tab, 'authorize-unregistered-redirect-uri');
});

test('logout: the confirmation form leads the browser on to the registered post_logout_redirect_uri', { skip }, async (t) => {
  const snap = captures('logout-redirect');
  const { login } = phone.phoneAccount('practitioner', 19);
  const { page, rp } = await startLogin(t);
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  const code = await codeShown(page);
  const back = await waitForRedirect(page, rp.redirect_uri, () => phone.approve(login, code));
  assert.ok(params(back).code, 'logged in');
  const d = await discovery();
  const tab = await page.context().newPage();

  // Without id_token_hint: the confirmation first; its POST answers with a 303 to the
  // client, which the page's CSP (form-action) must let the browser follow.
  const end = new URL(d.end_session_endpoint);
  end.searchParams.set('client_id', rp.id);
  end.searchParams.set('post_logout_redirect_uri', rp.post_logout_redirect_uri);
  end.searchParams.set('state', 'after-logout');
  await tab.goto(end.href);
  await expectState(tab, 'logout_confirm');
  await snap(tab, 'logout-confirm-redirect');
  const blocked = [];
  tab.on('console', (m) => { if (/form-action/.test(m.text())) blocked.push(m.text()); });
  // Nothing listens at the client's address: watch the request instead of the page.
  const [gone] = await Promise.all([
    tab.waitForRequest((r) => r.url().startsWith(rp.post_logout_redirect_uri), { timeout: 10_000 }),
    tab.click('form#logout button'),
  ]);
  assert.equal(params(gone.url()).state, 'after-logout');
  assert.deepEqual(blocked, [], 'no CSP refusal');

  // The session is over: the next request shows the identifier form.
  const again = await page.context().newPage();
  const next = authorizationRequest({ endpoint: d.authorization_endpoint, clientId: rp.id, redirectUri: rp.redirect_uri });
  await again.goto(next.url.href);
  await expectState(again, 'identifier');
});
