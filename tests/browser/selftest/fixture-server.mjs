// SPDX-License-Identifier: Apache-2.0
/**
 * The pages the harness's self-tests run against, served over HTTP on 127.0.0.1 (a random
 * port) with a strict Content-Security-Policy like the login page's: scripts run only with
 * the per-response nonce, styles only from /style.css.
 *
 * | path | what it is |
 * |---|---|
 * | /clean | an accessible form page: skip link, labelled input, button with a visible focus |
 * | /violations | an image without alt, an input without label, low-contrast text |
 * | /js | text that a nonce'd script changes; an image without alt inside `<noscript>` |
 * | /no-focus | nothing focusable (a `<span id="go">` that looks like a button) |
 * | /invisible-focus | a button whose focus shows nothing (`outline: none`) |
 * | /submit (POST) | 303 to the relying party: REDIRECT?code=abc&state=xyz |
 * | /meta-redirect | a meta refresh to the relying party (the JavaScript-off path) |
 * | /qr, /not-qr | an image of a QR code (the PNG given to the server) / of no QR code |
 * | /set-cookie, /headers | sets a cookie / echoes Cookie and Accept-Language as JSON |
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

/** Where /submit and /meta-redirect send the browser: a port nothing listens on. */
export const REDIRECT = 'http://127.0.0.1:9/rp/callback';

/** A 1×1 white PNG. */
const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAsTj2FAAAAABJRU5ErkJggg==',
  'base64',
);

const CSS = `
body { font: 18px/1.5 system-ui, sans-serif; color: #1a1a1a; background: #fff; margin: 2rem; }
a, button, input { font: inherit; }
button { color: #fff; background: #000091; border: 2px solid #000091; padding: .4rem 1rem; }
input { border: 2px solid #3a3a3a; padding: .3rem; }
:focus-visible { outline: 3px solid #b34000; outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; }
.faint { color: #bbb; }
.bare:focus, .bare:focus-visible { outline: none; }
img.qr { image-rendering: pixelated; }
`;

/** A page; the handler replaces NONCE with the response's script nonce. */
function page(title, body, lang = 'fr') {
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><title>${title}</title>
<link rel="stylesheet" href="/style.css"></head>
<body>${body}</body></html>`;
}

const PAGES = {
  '/clean': () => page('Connexion — page propre', `
<a href="#main" class="skip">Aller au contenu</a>
<main id="main"><h1>Connexion</h1>
<form method="post" action="/submit">
<label for="id">Identifiant</label> <input id="id" name="id" autocomplete="username">
<button id="go" type="submit">Continuer</button>
</form></main>`),
  '/violations': () => page('Page fautive', `
<main><h1>Page fautive</h1>
<img src="/pixel.png" width="40" height="40">
<form><input id="nolabel" name="x"></form>
<p class="faint">Texte trop pâle sur fond blanc.</p></main>`),
  '/js': () => page('JavaScript', `
<main><h1>JavaScript</h1><p id="state">Sans JavaScript</p>
<noscript><img src="/pixel.png" width="40" height="40"></noscript>
<script nonce="NONCE">document.getElementById('state').textContent = 'Avec JavaScript';</script>
<script>document.title = 'script sans nonce';</script></main>`),
  '/no-focus': () => page('Rien à atteindre', `
<main><h1>Rien à atteindre</h1><p>Du texte seulement.</p><span id="go">Continuer</span></main>`),
  '/invisible-focus': () => page('Focus invisible', `
<main><h1>Focus invisible</h1><button id="go" class="bare">Continuer</button></main>`),
  '/meta-redirect': () => page('Redirection', `
<main><h1>Redirection</h1><p>Vous allez être redirigé.</p></main>`)
    .replace('</head>', `<meta http-equiv="refresh" content="0;url=${REDIRECT}?code=meta&amp;state=js-off"></head>`),
  '/qr': () => page('QR', `
<main><h1>Code QR</h1><img id="qr" class="qr" src="/qr.png" alt="Code QR de connexion"></main>`),
  '/not-qr': () => page('Pas de QR', `
<main><h1>Pas de QR</h1><img id="qr" src="/pixel.png" width="200" height="200" alt="Une image blanche"></main>`),
};

/**
 * Starts the fixture server.
 * @param {{ qrPng?: Buffer }} [options] the PNG served as /qr.png
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function startFixtureServer({ qrPng } = {}) {
  const server = createServer((req, res) => {
    const nonce = randomBytes(16).toString('base64');
    const path = new URL(req.url, 'http://x').pathname;
    const send = (status, type, body, headers = {}) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      res.end(body);
    };
    if (path === '/style.css') return send(200, 'text/css', CSS);
    if (path === '/pixel.png') return send(200, 'image/png', PIXEL);
    if (path === '/qr.png' && qrPng) return send(200, 'image/png', qrPng);
    if (path === '/submit' && req.method === 'POST') {
      req.resume();
      return send(303, 'text/plain', '', { location: `${REDIRECT}?code=abc&state=xyz` });
    }
    if (path === '/set-cookie') {
      return send(200, 'text/plain', 'ok', { 'set-cookie': 'login=secret; HttpOnly; SameSite=Lax; Path=/' });
    }
    if (path === '/headers') {
      return send(200, 'application/json', JSON.stringify({
        cookie: req.headers.cookie ?? null,
        acceptLanguage: req.headers['accept-language'] ?? null,
      }));
    }
    const render = PAGES[path];
    if (!render) return send(404, 'text/plain', 'not found');
    return send(200, 'text/html; charset=utf-8', render().replaceAll('NONCE', nonce), {
      'content-security-policy':
        `default-src 'self'; script-src 'nonce-${nonce}'; style-src 'self'; frame-ancestors 'none'`,
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
