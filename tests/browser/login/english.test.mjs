// SPDX-License-Identifier: Apache-2.0
// Languages: French by default; English through ui_locales=en or through Accept-Language;
// the attempt keeps its language on the next pages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup, waitForRedirect } from '../lib/harness.mjs';
import { captures, codeShown, expectState, loginSkip, nationalId, params, startLogin, submitIdentifier } from '../lib/login.mjs';
import * as phone from '../lib/phone.mjs';

setup();
const skip = loginSkip();
const snap = captures('english');
const { login } = skip ? {} : phone.phoneAccount('practitioner', 9);
const mainText = (page) => page.evaluate(() => document.querySelector('main').innerText);

/** The identifier page and the waiting page in one language; then the login finishes. */
async function walk(t, { params: extra, page: pageOptions, lang, name }) {
  const { page, req, rp } = await startLogin(t, { params: extra, page: pageOptions });
  assert.equal(await page.getAttribute('html', 'lang'), lang);
  const identifierText = await mainText(page);
  await snap(page, `${name}-identifier`);
  await submitIdentifier(page, nationalId(login));
  await expectState(page, 'waiting');
  assert.equal(await page.getAttribute('html', 'lang'), lang, 'the attempt keeps its language');
  const waitingText = await mainText(page);
  await snap(page, `${name}-waiting`);
  const code = await codeShown(page);
  const back = await waitForRedirect(page, rp.redirect_uri, () => phone.approve(login, code));
  assert.equal(params(back).state, req.state);
  return { identifierText, waitingText };
}

test('English: ui_locales=en, Accept-Language en-GB, and French by default', { skip }, async (t) => {
  const fr = await walk(t, { lang: 'fr', name: 'fr-default' });
  const byParam = await walk(t, { params: { ui_locales: 'en' }, lang: 'en', name: 'en-ui-locales' });
  const byHeader = await walk(t, { page: { locale: 'en-GB' }, lang: 'en', name: 'en-accept-language' });
  assert.notEqual(byParam.identifierText, fr.identifierText, 'English is not the French text');
  assert.equal(byHeader.identifierText, byParam.identifierText, 'one English text, however chosen');
  assert.notEqual(byParam.waitingText, fr.waitingText);
  // ui_locales wins over the browser's language.
  const frByParam = await walk(t, { params: { ui_locales: 'fr' }, page: { locale: 'en-GB' }, lang: 'fr', name: 'fr-ui-locales' });
  assert.equal(frByParam.identifierText, fr.identifierText);
});
