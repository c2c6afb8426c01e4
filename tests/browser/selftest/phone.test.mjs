// SPDX-License-Identifier: Apache-2.0
// The phone client (lib/phone.mjs) against the testbed's phone: a relying party starts CIBA
// logins from Node, the phone answers them, and the token endpoint shows what the server got.
// This is the same phone the login-page tests use; CIBA exists today, so it is tested now.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { fixture } from '../lib/harness.mjs';
import { discover } from '../lib/oidc.mjs';
import * as phone from '../lib/phone.mjs';

const testbed = fixture();
const skip = testbed?.phone_url ? false : 'needs the testbed phone (scripts/test-browser.sh)';
let endpoints;

before(async () => {
  if (skip) return;
  const discovery = await discover(testbed.base_url);
  endpoints = { ciba: discovery.backchannel_authentication_endpoint, token: discovery.token_endpoint };
});

/** A relying party's CIBA request for `login`: { auth_req_id, dynamic_code, … }. */
async function ciba(client, login, binding) {
  const auth = Buffer.from(`${client.id}:${client.secret}`).toString('base64');
  const resp = await fetch(endpoints.ciba, {
    method: 'POST',
    headers: { authorization: `Basic ${auth}` },
    body: new URLSearchParams({ login_hint: login, binding_message: binding, scope: 'openid' }),
  });
  assert.equal(resp.status, 200, await resp.clone().text());
  return resp.json();
}

async function token(client, authReqId) {
  const auth = Buffer.from(`${client.id}:${client.secret}`).toString('base64');
  const resp = await fetch(endpoints.token, {
    method: 'POST',
    headers: { authorization: `Basic ${auth}` },
    body: new URLSearchParams({ grant_type: 'urn:openid:params:grant-type:ciba', auth_req_id: authReqId }),
  });
  return { status: resp.status, ...(await resp.json()) };
}

test('the phone shows the challenge and approves it with the code the test read', { skip }, async () => {
  const { login, device_name: deviceName } = phone.phoneAccount('practitioner', 1);
  const req = await ciba(testbed.pick_client, login, 'Connexion au DMP');
  const shown = await phone.pending(login);
  assert.equal(shown.device_name, deviceName);
  const [ch] = shown.challenges;
  assert.equal(ch.service, 'Dossier Médical Partagé');
  assert.equal(ch.binding_message, 'Connexion au DMP');
  assert.ok(ch.candidates.includes(req.dynamic_code), `${req.dynamic_code} in ${ch.candidates}`);
  assert.equal((await token(testbed.pick_client, req.auth_req_id)).error, 'authorization_pending');

  const answer = await phone.approve(login, req.dynamic_code);
  assert.equal(answer.outcome, 'approved', JSON.stringify(answer));
  const issued = await token(testbed.pick_client, req.auth_req_id);
  assert.equal(issued.status, 200, JSON.stringify(issued));
  assert.equal(typeof issued.id_token, 'string');
});

test('wrong, deny and not-me reach the server as refusals', { skip }, async () => {
  const { login } = phone.phoneAccount('practitioner', 1);
  let req = await ciba(testbed.pick_client, login, 'Connexion');
  const picked = await phone.wrong(login, req.dynamic_code);
  assert.equal(picked.error, 'wrong_code', JSON.stringify(picked));
  assert.notEqual(picked.code, req.dynamic_code);
  assert.equal((await token(testbed.pick_client, req.auth_req_id)).error, 'access_denied');
  for (const [answer, outcome] of [[phone.deny, 'denied'], [phone.notMe, 'reported']]) {
    req = await ciba(testbed.pick_client, login, 'Connexion');
    assert.equal((await answer(login)).outcome, outcome);
    assert.equal((await token(testbed.pick_client, req.auth_req_id)).error, 'access_denied');
  }
});

test('type mode: the phone types the code; a wrong PIN is the wallet\'s error', { skip }, async () => {
  const { login } = phone.phoneAccount('practitioner', 1);
  const req = await ciba(testbed.type_client, login, 'Connexion');
  const bad = await phone.approve(login, req.dynamic_code, { pin: '975310' });
  assert.deepEqual([bad.status, bad.error], [409, 'wrong_pin']);
  assert.equal((await phone.approve(login, req.dynamic_code)).outcome, 'approved');
  assert.equal((await token(testbed.type_client, req.auth_req_id)).status, 200);
  const none = await phone.deny(login, { wait: 0 });
  assert.deepEqual([none.status, none.error], [404, 'no_pending_challenge']);
  assert.throws(() => phone.phoneAccount('practitioner', 99), /no practitioner number 99/);
});
