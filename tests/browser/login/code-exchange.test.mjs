// SPDX-License-Identifier: Apache-2.0
// Back at the relying party: the redirect carries code, state and iss (RFC 9207) and nothing
// else; the RP exchanges the code (PKCE verifier, client_secret_basic) for tokens whose ID
// token verifies (signature by kid, iss, aud, exp, nonce, at_hash); userinfo names the
// practitioner; the code is single use, and its second use revokes the tokens of the first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, codeShown, discovery, expectState, loginSkip, nationalId, params, server, startLogin, submitIdentifier } from '../lib/login.mjs';
import { exchangeCode, userinfo, verifyIdToken } from '../lib/oidc.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();

test('the redirect back to the RP carries code, state and iss; the code exchange succeeds', { skip }, async (t) => {
  const snap = captures('code-exchange');
  const { login } = phone.phoneAccount('practitioner', 13);
  const { page, req, rp } = await startLogin(t);
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  await snap(page, 'waiting');
  const code = await codeShown(page);
  const back = await waitForRedirect(page, rp.redirect_uri, () => phone.approve(login, code));
  assert.equal(`${back.origin}${back.pathname}`, rp.redirect_uri);
  const issuer = server().base_url;
  assert.deepEqual(Object.keys(params(back)).sort(), ['code', 'iss', 'state']);
  assert.equal(params(back).state, req.state);
  assert.equal(params(back).iss, issuer);

  const d = await discovery();
  const exchange = () => exchangeCode({
    endpoint: d.token_endpoint, clientId: rp.id, clientSecret: rp.secret,
    code: params(back).code, redirectUri: rp.redirect_uri, verifier: req.verifier,
  });
  const tokens = await exchange();
  assert.equal(tokens.status, 200, JSON.stringify(tokens));
  assert.equal(tokens.token_type, 'Bearer');
  assert.ok(tokens.refresh_token, 'a refresh token');
  const claims = await verifyIdToken({
    jwksUri: d.jwks_uri, issuer, clientId: rp.id, idToken: tokens.id_token,
    nonce: req.nonce, accessToken: tokens.access_token,
  });
  assert.equal(claims.SubjectNameID, nationalId(login));
  assert.ok(claims.sid && claims.auth_time, 'sid and auth_time');
  const info = await userinfo({ endpoint: d.userinfo_endpoint, accessToken: tokens.access_token });
  assert.equal(info.status, 200, JSON.stringify(info));
  assert.equal(info.sub, claims.sub);
  assert.equal(info.SubjectNameID, nationalId(login));
  const again = await exchange();
  assert.equal(again.status, 400);
  assert.equal(again.error, 'invalid_grant', 'the code is single use');
  const revoked = await userinfo({ endpoint: d.userinfo_endpoint, accessToken: tokens.access_token });
  assert.equal(revoked.status, 401, 'a second use revokes what the first issued');
  assert.match(revoked.wwwAuthenticate ?? '', /^Bearer\b.*invalid_token/);
});
