// SPDX-License-Identifier: Apache-2.0
/**
 * The relying party's side of the browser login, for page tests: discovery, an authorization
 * request with PKCE (S256), `state` and `nonce`, and the code exchange at the token endpoint.
 * Plain OAuth 2.0 / OpenID Connect (RFC 6749, RFC 7636, OIDC Core); nothing Vistalid-specific.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';

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
