// SPDX-License-Identifier: Apache-2.0
/**
 * The relying party's side of the browser login, for page tests: discovery, an authorization
 * request with PKCE (S256), `state` and `nonce`, and the code exchange at the token endpoint.
 * Plain OAuth 2.0 / OpenID Connect (RFC 6749, RFC 7636, OIDC Core); nothing Vistalid-specific.
 *
 * @module
 */
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';

/**
 * The server's discovery document: ISSUER/.well-known/openid-configuration (OIDC Discovery
 * §4: appended to the issuer's path, as Keycloak realms have it).
 */
export async function discover(issuer) {
  const resp = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!resp.ok) throw new Error(`discovery of ${issuer}: HTTP ${resp.status}`);
  return resp.json();
}

/** A fresh random base64url string of `bytes` random bytes. */
export function randomToken(bytes = 32) {
  return randomBytes(bytes).toString('base64url');
}

/** The PKCE S256 challenge of `verifier` (RFC 7636 §4.2). */
export function pkceChallenge(verifier) {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/**
 * An authorization request (response_type=code, PKCE S256, fresh state and nonce).
 * @param {object} o
 * @param {string} o.endpoint the authorization endpoint (from {@link discover})
 * @param {string} o.clientId
 * @param {string} o.redirectUri
 * @param {string} [o.scope] default 'openid'
 * @param {Record<string,string>} [o.params] more parameters: login_hint, ui_locales, prompt,
 *   max_age, acr_values…; a parameter set to undefined is left out
 * @returns {{ url: URL, state: string, nonce: string, verifier: string }}
 */
export function authorizationRequest({ endpoint, clientId, redirectUri, scope = 'openid', params = {} }) {
  const state = randomToken(16);
  const nonce = randomToken(16);
  const verifier = randomToken(32);
  const url = new URL(endpoint);
  const all = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    state,
    nonce,
    code_challenge: pkceChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v);
  return { url, state, nonce, verifier };
}

/**
 * Exchanges an authorization code (client_secret_basic).
 * @returns {Promise<{ status: number } & Record<string, unknown>>} the token endpoint's JSON with its status
 */
export async function exchangeCode({ endpoint, clientId, clientSecret, code, redirectUri, verifier }) {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
  const resp = await fetch(endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}` },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    }),
  });
  return { status: resp.status, ...(await resp.json()) };
}

/** `at_hash` of an access token for ES256 (OIDC Core §3.1.3.6): the left half of its SHA-256. */
export function atHash(accessToken) {
  return createHash('sha256').update(accessToken, 'ascii').digest().subarray(0, 16).toString('base64url');
}

/** The JSON payload of a compact JWS, unverified (to read what a page test was given). */
export function decodeJwt(token) {
  const [header, payload] = String(token).split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')),
    claims: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')),
  };
}

/**
 * Verifies an ID token as a relying party must (OIDC Core §3.1.3.7): ES256 signature by the
 * JWKS key its header's `kid` names, `iss`, `aud`, `exp`, `nonce` and, when `accessToken` is
 * given, `at_hash`. Throws an Error naming the first check that fails.
 * @returns {Promise<object>} the claims
 */
export async function verifyIdToken({ jwksUri, issuer, clientId, idToken, nonce, accessToken, now = Date.now() / 1000 }) {
  const parts = String(idToken).split('.');
  if (parts.length !== 3) throw new Error('ID token: not a compact JWS');
  const { header, claims } = decodeJwt(idToken);
  if (header.alg !== 'ES256') throw new Error(`ID token: alg ${header.alg}, not ES256`);
  if (!header.kid) throw new Error('ID token: no kid');
  const resp = await fetch(jwksUri);
  if (!resp.ok) throw new Error(`JWKS: HTTP ${resp.status}`);
  const jwk = (await resp.json()).keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`ID token: kid ${header.kid} is not in the JWKS`);
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii'),
    { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
  if (!ok) throw new Error('ID token: bad signature');
  if (claims.iss !== issuer) throw new Error(`ID token: iss ${claims.iss}`);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(clientId)) throw new Error(`ID token: aud ${claims.aud}`);
  if (!(claims.exp > now)) throw new Error('ID token: expired');
  if (nonce !== undefined && claims.nonce !== nonce) throw new Error('ID token: nonce');
  if (accessToken !== undefined && claims.at_hash !== atHash(accessToken)) throw new Error('ID token: at_hash');
  return claims;
}

/**
 * Calls userinfo with a bearer access token (GET).
 * @returns {Promise<{ status: number, wwwAuthenticate: string|null } & Record<string, unknown>>}
 */
export async function userinfo({ endpoint, accessToken }) {
  const resp = await fetch(endpoint, { headers: { authorization: `Bearer ${accessToken}` } });
  const text = await resp.text();
  let json = {};
  try { json = text ? JSON.parse(text) : {}; } catch { json = { body: text }; }
  return { status: resp.status, wwwAuthenticate: resp.headers.get('www-authenticate'), ...json };
}
