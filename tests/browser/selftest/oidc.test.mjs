// SPDX-License-Identifier: Apache-2.0
// The relying-party helpers (lib/oidc.mjs): the PKCE vector of RFC 7636, the authorization
// request's parameters, and the code exchange against a small token endpoint that checks the
// request as a server would (Basic auth, grant, PKCE verifier).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { generateKeyPairSync, sign } from 'node:crypto';
import {
  atHash, authorizationRequest, decodeJwt, discover, exchangeCode, pkceChallenge, verifyIdToken,
} from '../lib/oidc.mjs';
import { fixture } from '../lib/harness.mjs';

test('pkceChallenge matches RFC 7636 Appendix B', () => {
  assert.equal(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
});

test('authorizationRequest carries code, PKCE S256, fresh state and nonce, and extra parameters', () => {
  const a = authorizationRequest({
    endpoint: 'http://127.0.0.1:1/protocol/openid-connect/auth?kc=1',
    clientId: 'rp',
    redirectUri: 'http://127.0.0.1:9/cb',
    params: { login_hint: '810003456789', ui_locales: 'en', prompt: undefined },
  });
  const p = a.url.searchParams;
  assert.equal(p.get('kc'), '1');
  assert.deepEqual(
    [p.get('response_type'), p.get('client_id'), p.get('redirect_uri'), p.get('scope')],
    ['code', 'rp', 'http://127.0.0.1:9/cb', 'openid'],
  );
  assert.equal(p.get('code_challenge_method'), 'S256');
  assert.equal(p.get('code_challenge'), pkceChallenge(a.verifier));
  assert.equal(p.get('state'), a.state);
  assert.equal(p.get('nonce'), a.nonce);
  assert.equal(p.get('login_hint'), '810003456789');
  assert.equal(p.has('prompt'), false);
  assert.ok(a.verifier.length >= 43, 'RFC 7636: at least 43 characters');
  const b = authorizationRequest({ endpoint: 'http://127.0.0.1:1/a', clientId: 'rp', redirectUri: 'x:' });
  assert.notEqual(a.state, b.state);
  assert.notEqual(a.verifier, b.verifier);
});

test('exchangeCode sends the grant with Basic auth and the PKCE verifier', async () => {
  const { verifier, url } = authorizationRequest({ endpoint: 'http://127.0.0.1:1/a', clientId: 'r p', redirectUri: 'http://127.0.0.1:9/cb' });
  const challenge = url.searchParams.get('code_challenge');
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const [id, secret] = Buffer.from(req.headers.authorization.replace(/^Basic /, ''), 'base64')
        .toString().split(':').map(decodeURIComponent);
      const ok = id === 'r p' && secret === 's:é' && form.get('grant_type') === 'authorization_code' &&
        form.get('code') === 'abc' && form.get('redirect_uri') === 'http://127.0.0.1:9/cb' &&
        pkceChallenge(form.get('code_verifier')) === challenge;
      res.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { id_token: 'x.y.z' } : { error: 'invalid_grant' }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${server.address().port}/token`;
  try {
    const args = { endpoint, clientId: 'r p', clientSecret: 's:é', code: 'abc', redirectUri: 'http://127.0.0.1:9/cb' };
    assert.deepEqual(await exchangeCode({ ...args, verifier }), { status: 200, id_token: 'x.y.z' });
    assert.equal((await exchangeCode({ ...args, verifier: `${verifier}x` })).error, 'invalid_grant');
  } finally {
    server.close();
  }
});

test('discover reads the testbed server\'s discovery document', { skip: fixture() ? false : 'needs the testbed' }, async () => {
  const { base_url: issuer } = fixture();
  const d = await discover(issuer);
  assert.equal(d.issuer, issuer);
  assert.ok(d.token_endpoint.startsWith(issuer));
  await assert.rejects(discover(`${issuer}/nowhere/`), /discovery of .*: HTTP 404/);
});

test('atHash matches the OIDC Core example (Appendix A.3)', () => {
  assert.equal(atHash('jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y'), '77QmUPtjPfzWtF2AnpK9RQ');
});

test('verifyIdToken accepts a good token and names the check each bad one fails', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' };
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const jwksUri = `http://127.0.0.1:${server.address().port}/certs`;
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = (claims, { kid = 'k1', alg = 'ES256', key = privateKey } = {}) => {
    const input = `${b64({ alg, typ: 'JWT', kid })}.${b64(claims)}`;
    const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${sig.toString('base64url')}`;
  };
  const good = { iss: 'http://idp', aud: 'rp', exp: 2_000_000_000, nonce: 'n1', at_hash: atHash('tok') };
  const args = { jwksUri, issuer: 'http://idp', clientId: 'rp', nonce: 'n1', accessToken: 'tok', now: 1_000 };
  try {
    assert.deepEqual(await verifyIdToken({ ...args, idToken: jwt(good) }), good);
    assert.equal(decodeJwt(jwt(good)).header.kid, 'k1');
    const bad = [
      [jwt({ ...good, nonce: 'n2' }), /nonce/],
      [jwt({ ...good, at_hash: atHash('other') }), /at_hash/],
      [jwt({ ...good, iss: 'http://evil' }), /iss/],
      [jwt({ ...good, aud: 'rp2' }), /aud/],
      [jwt({ ...good, exp: 999 }), /expired/],
      [jwt(good, { kid: 'k2' }), /kid k2 is not in the JWKS/],
      [jwt(good, { alg: 'ES384' }), /alg ES384/],
      [jwt(good, { key: other.privateKey }), /bad signature/],
      ['a.b', /not a compact JWS/],
    ];
    for (const [idToken, error] of bad) {
      await assert.rejects(verifyIdToken({ ...args, idToken }), error);
    }
  } finally {
    server.close();
  }
});
