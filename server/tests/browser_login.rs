// SPDX-License-Identifier: Apache-2.0
//! The browser login's server side over real loopback HTTP (ADR 0002): every rejection of the
//! authorization endpoint (never an open redirect), the login page's states, the binding of
//! an attempt to one browser, CSRF, the security headers, the SSO session, the identifiers.
//! A browser is played by a reqwest client that follows no redirect and keeps its own
//! cookies, so each test sees every 303 and every `Set-Cookie`.

mod common;

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use common::{Device, Harness};
use reqwest::header::{HeaderMap, ACCEPT_LANGUAGE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;
use vistalid_core::protocol::{CodeMode, Decision, PATH_AUTHORIZE};
use vistalid_server::ClientOptions;

const REDIRECT: &str = "http://127.0.0.1:9/cb";
const REDIRECT_2: &str = "http://127.0.0.1:9/other/cb";
const RPPS: &str = "10003456789";

/// A browser: its own cookie jar, no automatic redirects.
struct Browser {
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
    accept_language: Option<&'static str>,
}

/// An answer as the browser saw it.
struct Seen {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Seen {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .map_or("", |v| v.to_str().expect("ascii location"))
    }

    /// The `data-state` of the page's `<main>`.
    fn state(&self) -> &str {
        let at = self
            .body
            .find("data-state=\"")
            .expect("a page with a state")
            + 12;
        let rest = &self.body[at..];
        &rest[..rest.find('"').expect("closing quote")]
    }

    /// The value of the hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field")
            + 19;
        let rest = &self.body[at..];
        rest[..rest.find('"').expect("closing quote")].to_owned()
    }

    /// The text of the element with id `id`.
    fn text_of(&self, id: &str) -> String {
        let at = self
            .body
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("an element #{id}"));
        let rest = &self.body[at..];
        let open = rest.find('>').expect("tag end") + 1;
        let close = rest[open..].find('<').expect("text end");
        rest[open..open + close].to_owned()
    }

    fn query(&self) -> BTreeMap<String, String> {
        let url = url::Url::parse(self.location()).expect("an absolute location");
        url.query_pairs().into_owned().collect()
    }
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            jar: BTreeMap::new(),
            accept_language: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Seen {
        let mut req = req;
        if !self.jar.is_empty() {
            req = req.header(COOKIE, self.cookie_header());
        }
        if let Some(l) = self.accept_language {
            req = req.header(ACCEPT_LANGUAGE, l);
        }
        let r = req.send().await.expect("request");
        let status = r.status();
        let headers = r.headers().clone();
        for v in headers.get_all(SET_COOKIE) {
            let v = v.to_str().expect("ascii cookie");
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if attrs.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = r.text().await.expect("body");
        Seen {
            status,
            headers,
            body,
        }
    }

    async fn get(&mut self, url: &str) -> Seen {
        let req = self.http.get(url);
        self.send(req).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Seen {
        let req = self.http.post(url).form(form);
        self.send(req).await
    }
}

/// A PKCE pair (verifier, S256 challenge).
fn pkce() -> (String, String) {
    let verifier = B64URL.encode(rand_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    (verifier, B64URL.encode(digest.as_ref()))
}

fn rand_bytes() -> [u8; 32] {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut b).expect("rng");
    b
}

/// The query of a valid authorization request for `client_id`, with `extra` pairs.
fn auth_query(client_id: &str, redirect: &str, extra: &[(&str, &str)]) -> String {
    let (_, challenge) = pkce();
    let mut pairs: Vec<(&str, String)> = vec![
        ("response_type", "code".into()),
        ("client_id", client_id.into()),
        ("redirect_uri", redirect.into()),
        ("scope", "openid".into()),
        ("state", "st-123".into()),
        ("nonce", "n-456".into()),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256".into()),
    ];
    for (k, v) in extra {
        pairs.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            pairs.push((k, (*v).to_owned()));
        }
    }
    serde_urlencoded::to_string(&pairs).expect("encode")
}

/// A raw query: `auth_query` without the pairs named in `drop`, plus `raw` appended.
fn auth_query_raw(client_id: &str, drop: &[&str], raw: &str) -> String {
    let q = auth_query(client_id, REDIRECT, &[]);
    let mut kept: Vec<&str> = q
        .split('&')
        .filter(|p| !drop.iter().any(|d| p.starts_with(&format!("{d}="))))
        .collect();
    if !raw.is_empty() {
        kept.push(raw);
    }
    kept.join("&")
}

fn client(h: &Harness, name: &str, mode: CodeMode, uris: &[&str]) -> String {
    let mut o = ClientOptions::new(mode);
    for u in uris {
        o = o.redirect_uri(*u);
    }
    h.admin().add_client_with(name, &o).expect("client").0
}

/// Starts an attempt: the authorization request, then the login page.
async fn begin(h: &Harness, b: &mut Browser, client_id: &str, extra: &[(&str, &str)]) -> Seen {
    let r = b
        .get(&h.url(&format!(
            "{PATH_AUTHORIZE}?{}",
            auth_query(client_id, REDIRECT, extra)
        )))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().starts_with("/login/"), "{}", r.location());
    b.get(&h.url(r.location())).await
}

/// The attempt's page path from a login page.
fn page_path(page: &Seen) -> String {
    let at = page.body.find("action=\"/login/").expect("a form") + 8;
    let rest = &page.body[at..];
    let path = &rest[..rest.find('"').expect("quote")];
    path.trim_end_matches("/retry").to_owned()
}

/// Types `identifier` on the identifier page; returns the next page.
async fn identify(h: &Harness, b: &mut Browser, page: &Seen, identifier: &str) -> Seen {
    let path = page_path(page);
    let csrf = page.csrf();
    let r = b
        .post(
            &h.url(&path),
            &[("csrf", &csrf), ("identifier", identifier)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), path);
    b.get(&h.url(&path)).await
}

async fn practitioner(h: &Harness, rpps: &str) -> Device {
    h.practitioner(rpps).await
}

#[tokio::test]
async fn an_unknown_client_or_redirect_uri_gets_an_error_page_never_a_redirect() {
    let h = Harness::start().await;
    let id = client(&h, "Dossier patient", CodeMode::Pick, &[REDIRECT]);
    let mut b = Browser::new();
    let bad_uris = [
        "https://evil.example/cb",
        "http://127.0.0.1:9/cb/",
        "http://127.0.0.1:9/cb?x=1",
        "http://127.0.0.1:9/cb#frag",
        "http://127.0.0.1:9/cb/../evil",
        "HTTP://127.0.0.1:9/cb",
        "http://127.0.0.1:9@evil.example/cb",
        "http://127.0.0.1:9/CB",
        "//evil.example/cb",
    ];
    for uri in bad_uris {
        let r = b
            .get(&h.url(&format!("{PATH_AUTHORIZE}?{}", auth_query(&id, uri, &[]))))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(r.headers.get(LOCATION).is_none(), "{uri} was redirected to");
        assert_eq!(r.state(), "error");
        assert!(
            r.body.contains("redirect_uri"),
            "{uri}: says which parameter"
        );
    }
    let cases = [
        auth_query("no-such-client", REDIRECT, &[]),
        auth_query_raw(&id, &["client_id"], ""),
        auth_query_raw(&id, &["redirect_uri"], ""),
        auth_query_raw(&id, &[], "redirect_uri=https%3A%2F%2Fevil.example%2Fcb"),
        auth_query_raw(&id, &[], &format!("client_id={id}")),
    ];
    for q in cases {
        let r = b.get(&h.url(&format!("{PATH_AUTHORIZE}?{q}"))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(r.headers.get(LOCATION).is_none(), "{q}");
        assert_eq!(r.state(), "error");
    }
    // A POST that is not a form is not read at all.
    let r = b
        .send(
            b.http
                .post(h.url(PATH_AUTHORIZE))
                .header("content-type", "application/json")
                .body(format!("{{\"client_id\":\"{id}\"}}")),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.headers.get(LOCATION).is_none());
    assert!(b.jar.is_empty(), "no attempt was opened");
}

#[tokio::test]
async fn other_faults_go_back_to_the_registered_uri_with_error_and_state() {
    let h = Harness::start().await;
    let id = client(&h, "Dossier patient", CodeMode::Pick, &[REDIRECT]);
    let mut b = Browser::new();
    let cases: [(&[&str], &str, &str); 13] = [
        (&["code_challenge"], "", "invalid_request"),
        (&["code_challenge_method"], "", "invalid_request"),
        (
            &["code_challenge_method"],
            "code_challenge_method=plain",
            "invalid_request",
        ),
        (
            &["code_challenge"],
            "code_challenge=tooshort",
            "invalid_request",
        ),
        (&[], "prompt=consent", "invalid_request"),
        (&[], "prompt=bogus", "invalid_request"),
        (&[], "prompt=none+login", "invalid_request"),
        (
            &["response_type"],
            "response_type=token",
            "unsupported_response_type",
        ),
        (&["response_type"], "", "invalid_request"),
        (&["scope"], "scope=profile", "invalid_scope"),
        (
            &[],
            "acr_values=eidas3",
            "unmet_authentication_requirements",
        ),
        (&[], "request=eyJ", "request_not_supported"),
        (&[], "max_age=soon", "invalid_request"),
    ];
    for (drop, raw, error) in cases {
        let q = auth_query_raw(&id, drop, raw);
        let r = b.get(&h.url(&format!("{PATH_AUTHORIZE}?{q}"))).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{q}");
        assert!(r.location().starts_with(&format!("{REDIRECT}?")), "{q}");
        let a = r.query();
        assert_eq!(a["error"], error, "{q}");
        assert_eq!(a["state"], "st-123", "{q}");
        assert_eq!(a["iss"], h.server.base_url(), "{q}");
        assert!(a.contains_key("error_description"));
        assert!(!a.contains_key("code"));
    }
    // prompt=none without a session.
    let q = auth_query(&id, REDIRECT, &[("prompt", "none")]);
    let r = b.get(&h.url(&format!("{PATH_AUTHORIZE}?{q}"))).await;
    assert_eq!(r.query()["error"], "login_required");
    // The same checks by POST.
    let form: Vec<(String, String)> =
        serde_urlencoded::from_str(&auth_query_raw(&id, &["code_challenge_method"], ""))
            .expect("pairs");
    let r = b.send(b.http.post(h.url(PATH_AUTHORIZE)).form(&form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.query()["error"], "invalid_request");
    assert!(b.jar.is_empty(), "no attempt was opened");
}

#[tokio::test]
async fn pick_mode_end_to_end_with_its_headers_cookies_and_sso() {
    let h = Harness::start().await;
    let id = client(&h, "Dossier patient", CodeMode::Pick, &[REDIRECT]);
    let device = practitioner(&h, RPPS).await;
    let mut b = Browser::new();
    let r = b
        .get(&h.url(&format!(
            "{PATH_AUTHORIZE}?{}",
            auth_query(&id, REDIRECT, &[("login_hint", RPPS)])
        )))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cookie = r
        .headers
        .get(SET_COOKIE)
        .expect("attempt cookie")
        .to_str()
        .expect("ascii");
    assert!(cookie.starts_with("vl_attempt_"), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/login/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Secure"), "loopback http: no Secure");
    let page = b.get(&h.url(r.location())).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.state(), "identifier");
    assert!(page.body.contains("<form id=\"identifier\""));
    assert!(
        page.body.contains(&format!("value=\"{RPPS}\"")),
        "login_hint pre-fills"
    );
    assert!(page.body.contains("<html lang=\"fr\""));
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(
        !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert!(
        !page.body.contains("<script>") && !page.body.contains("style="),
        "no inline code"
    );

    let waiting = identify(&h, &mut b, &page, RPPS).await;
    assert_eq!(waiting.state(), "waiting");
    assert_eq!(waiting.text_of("service"), "Dossier patient");
    assert_eq!(waiting.text_of("device"), "Pixel 9 test");
    assert!(waiting.body.contains("aria-live=\"polite\""));
    assert!(waiting
        .body
        .contains("<noscript><meta http-equiv=\"refresh\" content=\"3\"></noscript>"));
    let code = waiting.text_of("code");
    assert_eq!(code.len(), 2, "two digits: {code}");

    let path = page_path(&page);
    let status = b.get(&h.url(&format!("{path}/status"))).await;
    let s: Value = serde_json::from_str(&status.body).expect("json");
    assert_eq!(s["state"], "waiting");
    assert!(s["expires_in"].as_i64().expect("number") > 0);
    let keys: Vec<&String> = s.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        ["expires_in", "state"],
        "no code, no identifier in the status"
    );

    let challenge = device.one_challenge(&h).await;
    assert_eq!(challenge.service, "Dossier patient");
    assert_eq!(challenge.binding_message, "Connexion à Dossier patient");
    assert!(challenge.candidates.contains(&code));
    // The long-poll returns when the phone answers.
    let poll = {
        let url = h.url(&format!("{path}/status?wait=20"));
        let req = b.http.get(url).header(COOKIE, b.cookie_header());
        tokio::spawn(async move { req.send().await.expect("poll").text().await.expect("body") })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let t = std::time::Instant::now();
    device
        .answer(&h, &challenge.id, Decision::Approve, Some(&code))
        .await
        .expect("approved");
    let polled: Value = serde_json::from_str(&poll.await.expect("task")).expect("json");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "woken by the answer"
    );
    assert_eq!(polled["state"], "approved");
    let next = polled["continue"].as_str().expect("continue").to_owned();

    let approved = b.get(&h.url(&path)).await;
    assert_eq!(approved.state(), "approved");
    let back = b.get(&h.url(&next)).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert!(back.location().starts_with(&format!("{REDIRECT}?")));
    let q = back.query();
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], h.server.base_url());
    assert_eq!(q["code"].len(), 55, "time prefix and 256 random bits");
    let session = back
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .find(|c| c.starts_with("vl_session="))
        .expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=14400"] {
        assert!(session.contains(attr), "{session} lacks {attr}");
    }
    assert!(
        !b.jar.keys().any(|k| k.starts_with("vl_attempt_")),
        "attempt cookie deleted"
    );
    // The continue step answers once.
    let again = b.get(&h.url(&next)).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    // SSO: another client in the same browser gets a code without a new approval.
    let other = client(&h, "Messagerie", CodeMode::Pick, &[REDIRECT_2]);
    let sso = |extra: &'static [(&'static str, &'static str)]| {
        h.url(&format!(
            "{PATH_AUTHORIZE}?{}",
            auth_query(&other, REDIRECT_2, extra)
        ))
    };
    h.clock.advance(60);
    let r = b.get(&sso(&[])).await;
    assert!(
        r.location().starts_with(&format!("{REDIRECT_2}?")),
        "{}",
        r.location()
    );
    assert_eq!(
        r.query()["code"].len(),
        55,
        "time prefix and 256 random bits"
    );
    let r = b.get(&sso(&[("prompt", "none")])).await;
    assert!(r.query().contains_key("code"), "prompt=none with a session");
    let r = b.get(&sso(&[("max_age", "3600")])).await;
    assert!(r.query().contains_key("code"), "max_age satisfied");
    let r = b.get(&sso(&[("max_age", "30")])).await;
    assert!(
        r.location().starts_with("/login/"),
        "max_age too old: a new login"
    );
    let r = b.get(&sso(&[("prompt", "login")])).await;
    assert!(
        r.location().starts_with("/login/"),
        "prompt=login: a new login"
    );
    let r = b.get(&sso(&[("prompt", "none"), ("max_age", "30")])).await;
    assert_eq!(r.query()["error"], "login_required");
    assert!(
        device.fetch(&h, 0).await.expect("fetch").is_empty(),
        "no new challenge"
    );
    // Idle for over 30 minutes: the session is over.
    h.clock.advance(1801);
    let r = b.get(&sso(&[("prompt", "none")])).await;
    assert_eq!(r.query()["error"], "login_required");
    // Another browser has no session.
    let r = Browser::new().get(&sso(&[("prompt", "none")])).await;
    assert_eq!(r.query()["error"], "login_required");
}

#[tokio::test]
async fn an_attempt_is_bound_to_its_browser() {
    let h = Harness::start().await;
    let id = client(&h, "Dossier patient", CodeMode::Pick, &[REDIRECT]);
    let device = practitioner(&h, RPPS).await;
    let mut a = Browser::new();
    let page = begin(&h, &mut a, &id, &[]).await;
    let path = page_path(&page);
    let csrf = page.csrf();
    let waiting = identify(&h, &mut a, &page, &format!("8{RPPS}")).await;
    assert_eq!(waiting.state(), "waiting");
    let code = waiting.text_of("code");

    for thief in [Browser::new(), {
        let mut b = Browser::new();
        let name = a.jar.keys().next().expect("cookie").clone();
        b.jar.insert(name, "guessed".into());
        b
    }] {
        let mut thief = thief;
        let r = thief.get(&h.url(&path)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(r.state(), "error");
        assert!(!r.body.contains(&csrf) && !r.body.contains("Dossier patient"));
        assert!(!r.body.contains("id=\"code\""));
        let r = thief.get(&h.url(&format!("{path}/status"))).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let e: Value = serde_json::from_str(&r.body).expect("json");
        assert_eq!(e["error"], "not_found");
        let r = thief
            .post(&h.url(&path), &[("csrf", &csrf), ("identifier", RPPS)])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = thief
            .post(&h.url(&format!("{path}/retry")), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = thief.get(&h.url(&format!("{path}/continue"))).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(r.headers.get(LOCATION).is_none());
    }
    // Even after the approval, only its browser continues.
    let c = device.one_challenge(&h).await;
    device
        .answer(&h, &c.id, Decision::Approve, Some(&code))
        .await
        .expect("approved");
    let r = Browser::new()
        .get(&h.url(&format!("{path}/continue")))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = a.get(&h.url(&format!("{path}/continue"))).await;
    assert!(r.query().contains_key("code"));
}

#[tokio::test]
async fn a_form_without_its_csrf_token_does_nothing() {
    let h = Harness::start().await;
    let id = client(&h, "Dossier patient", CodeMode::Pick, &[REDIRECT]);
    let device = practitioner(&h, RPPS).await;
    let mut b = Browser::new();
    let page = begin(&h, &mut b, &id, &[]).await;
    let path = page_path(&page);
    for form in [
        vec![("identifier", RPPS)],
        vec![("csrf", "wrong"), ("identifier", RPPS)],
        vec![("csrf", ""), ("identifier", RPPS)],
    ] {
        let r = b.post(&h.url(&path), &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{form:?}");
        assert_eq!(r.state(), "error");
    }
    assert!(
        device.fetch(&h, 0).await.expect("fetch").is_empty(),
        "nothing sent"
    );
    // The right token works, then a retry without it is refused too.
    let csrf = page.csrf();
    let r = b
        .post(&h.url(&path), &[("csrf", &csrf), ("identifier", RPPS)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let c = device.one_challenge(&h).await;
    device
        .answer(&h, &c.id, Decision::Approve, Some("zz"))
        .await
        .ok();
    let wrong = b.get(&h.url(&path)).await;
    assert_eq!(wrong.state(), "wrong_code");
    let r = b.post(&h.url(&format!("{path}/retry")), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(device.fetch(&h, 0).await.expect("fetch").is_empty());
}

#[tokio::test]
async fn refusals_wrong_codes_retries_and_the_lock() {
    let h = Harness::start_with(|c| {
        c.wrong_pick_backoff_secs = 0;
    })
    .await;
    let id = client(&h, "Dossier patient", CodeMode::Pick, &[REDIRECT]);
    let device = practitioner(&h, RPPS).await;

    // Declined, then back to the service with access_denied, once.
    let mut b = Browser::new();
    let page = begin(&h, &mut b, &id, &[]).await;
    let path = page_path(&page);
    identify(&h, &mut b, &page, RPPS).await;
    let c = device.one_challenge(&h).await;
    device
        .answer(&h, &c.id, Decision::Deny, None)
        .await
        .expect("denied");
    let declined = b.get(&h.url(&path)).await;
    assert_eq!(declined.state(), "declined");
    assert!(declined.body.contains("id=\"back\""));
    let r = b.get(&h.url(&format!("{path}/continue"))).await;
    let q = r.query();
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-123");
    assert!(!q.contains_key("code"));

    // Wrong code three times after the first: each offers a retry, then locked.
    let mut b = Browser::new();
    let page = begin(&h, &mut b, &id, &[]).await;
    let path = page_path(&page);
    identify(&h, &mut b, &page, RPPS).await;
    for left in [3, 2, 1, 0] {
        let c = device.one_challenge(&h).await;
        let shown = b.get(&h.url(&path)).await.text_of("code");
        let wrong = c
            .candidates
            .iter()
            .find(|x| **x != shown)
            .expect("a wrong one")
            .clone();
        let r = device
            .answer(&h, &c.id, Decision::Approve, Some(&wrong))
            .await;
        assert!(r.is_err(), "a wrong code is refused");
        let now = b.get(&h.url(&path)).await;
        if left == 0 {
            assert_eq!(now.state(), "locked");
            assert!(!now.body.contains("id=\"retry\""));
            let r = b
                .post(&h.url(&format!("{path}/retry")), &[("csrf", &page.csrf())])
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            assert!(
                device.fetch(&h, 0).await.expect("fetch").is_empty(),
                "no fifth challenge"
            );
        } else {
            assert_eq!(now.state(), "wrong_code");
            assert!(
                now.body.contains(&format!("Essais restants : {left}.")),
                "{left}"
            );
            let r = b
                .post(&h.url(&format!("{path}/retry")), &[("csrf", &now.csrf())])
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            assert_eq!(b.get(&h.url(&path)).await.state(), "waiting");
        }
    }

    // Expired: the challenge times out, a retry starts a new one.
    let mut b = Browser::new();
    let page = begin(&h, &mut b, &id, &[]).await;
    let path = page_path(&page);
    identify(&h, &mut b, &page, RPPS).await;
    let first = device.one_challenge(&h).await;
    h.clock.advance(121);
    let expired = b.get(&h.url(&path)).await;
    assert_eq!(expired.state(), "expired");
    let r = b
        .post(
            &h.url(&format!("{path}/retry")),
            &[("csrf", &expired.csrf())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let second = device.one_challenge(&h).await;
    assert_ne!(first.id, second.id);
    assert_eq!(b.get(&h.url(&path)).await.state(), "waiting");

    // "Not me": reported; the next attempt for the account is held.
    device
        .answer(&h, &second.id, Decision::NotMe, None)
        .await
        .expect("reported");
    let not_me = b.get(&h.url(&path)).await;
    assert_eq!(not_me.state(), "not_me");
    assert!(not_me.body.contains("signalée"));
    let mut b = Browser::new();
    let page = begin(&h, &mut b, &id, &[]).await;
    let held = identify(&h, &mut b, &page, RPPS).await;
    assert_eq!(held.state(), "held");
    assert!(held.body.contains("min"));
    assert!(device.fetch(&h, 0).await.expect("fetch").is_empty());
    let r = b
        .get(&h.url(&format!("{}/continue", page_path(&page))))
        .await;
    assert_eq!(r.query()["error"], "access_denied");
}

#[tokio::test]
async fn a_held_page_offers_no_retry_until_the_hold_ends() {
    let h = Harness::start_with(|c| c.not_me_hold_secs = 120).await;
    let id = client(&h, "Dossier patient", CodeMode::Pick, &[REDIRECT]);
    let device = practitioner(&h, RPPS).await;
    let mut b = Browser::new();
    let page = begin(&h, &mut b, &id, &[]).await;
    identify(&h, &mut b, &page, RPPS).await;
    let c = device.one_challenge(&h).await;
    device
        .answer(&h, &c.id, Decision::NotMe, None)
        .await
        .expect("reported");

    let mut b = Browser::new();
    let page = begin(&h, &mut b, &id, &[]).await;
    let path = page_path(&page);
    let held = identify(&h, &mut b, &page, RPPS).await;
    assert_eq!(held.state(), "held");
    assert!(
        !held.body.contains("id=\"retry\""),
        "no retry while held: {}",
        held.body
    );
    assert!(
        held.text_of("held-until").contains("2 min"),
        "{}",
        held.body
    );
    // A retry posted anyway starts nothing.
    let r = b
        .post(&h.url(&format!("{path}/retry")), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(device.fetch(&h, 0).await.expect("fetch").is_empty());

    // Once the hold is over, the reloaded page offers the retry, and it works.
    h.clock.advance(120);
    let over = b.get(&h.url(&path)).await;
    assert_eq!(over.state(), "held");
    assert!(over.body.contains("id=\"retry\""), "{}", over.body);
    assert!(over.body.contains("nouvel essai"), "{}", over.body);
    let r = b
        .post(&h.url(&format!("{path}/retry")), &[("csrf", &over.csrf())])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(device.fetch(&h, 0).await.expect("fetch").len(), 1);
    assert_eq!(b.get(&h.url(&path)).await.state(), "waiting");
}

#[tokio::test]
async fn an_unknown_identifier_reads_like_an_account_without_a_device() {
    let h = Harness::start().await;
    let id = client(&h, "Dossier patient", CodeMode::Type, &[REDIRECT]);
    h.admin()
        .add_practitioner("10101010101", "Paul", "Durand", "10")
        .expect("account without a device");
    let main = |s: &Seen| {
        let from = s.body.find("<main").expect("main");
        let to = s.body.find("</main>").expect("main end");
        s.body[from..to]
            .replace(&page_path(s), "P")
            .replace(&s.csrf(), "C")
    };
    let mut pages = Vec::new();
    for typed in ["10101010101", "19999999999", "not an id"] {
        let mut b = Browser::new();
        let page = begin(&h, &mut b, &id, &[]).await;
        let r = identify(&h, &mut b, &page, typed).await;
        assert_eq!(r.state(), "no_device", "{typed}");
        pages.push(main(&r));
    }
    assert_eq!(
        pages[0], pages[1],
        "same page for a known and an unknown identifier"
    );
    assert_eq!(pages[1], pages[2]);
    assert!(
        pages[0].contains("form id=\"identifier\""),
        "another identifier can be typed"
    );
}

#[tokio::test]
async fn type_mode_english_and_the_insured_login_identifier() {
    let h = Harness::start().await;
    let id = client(&h, "Patient record", CodeMode::Type, &[REDIRECT]);
    let code = h
        .admin()
        .add_insured("ps-4f2a9c", "Marie", "Curie")
        .expect("insured");
    let device = Device::enrol(&h, &code).await.expect("enrol");
    let login_id = device.enrolment.login_id.clone().expect("a login id");
    assert!(
        login_id.starts_with('V') && login_id.len() == 12,
        "{login_id}"
    );
    assert_ne!(login_id, device.enrolment.identity.subject_name_id);
    assert_eq!(h.admin().login_id("ps-4f2a9c").expect("login id"), login_id);

    let mut b = Browser::new();
    b.accept_language = Some("en-GB,en;q=0.9,fr;q=0.5");
    let page = begin(&h, &mut b, &id, &[]).await;
    assert!(page.body.contains("<html lang=\"en\""));
    assert!(page.body.contains("Sign in to Patient record"));
    // The pseudonymous id every QR carries does not start a login.
    let r = identify(&h, &mut b, &page, "ps-4f2a9c").await;
    assert_eq!(r.state(), "no_device");
    assert!(device.fetch(&h, 0).await.expect("fetch").is_empty());
    // The login identifier does, typed loosely.
    let typed = format!("{}-{}-{}", &login_id[..4], &login_id[4..8], &login_id[8..]).to_lowercase();
    let waiting = identify(&h, &mut b, &r, &typed).await;
    assert_eq!(waiting.state(), "waiting");
    assert!(waiting.body.contains("Code to type on the phone"));
    let shown = waiting.text_of("code");
    let c = device.one_challenge(&h).await;
    assert_eq!(c.mode, CodeMode::Type);
    // The phone's card says what the request is for, in the attempt's language.
    assert_eq!(c.binding_message, "Sign in to Patient record");
    device
        .answer(&h, &c.id, Decision::Approve, Some(&shown))
        .await
        .expect("approved");
    let r = b
        .get(&h.url(&format!("{}/continue", page_path(&page))))
        .await;
    assert!(r.query().contains_key("code"));

    // ui_locales wins over Accept-Language.
    let mut fr = Browser::new();
    fr.accept_language = Some("en");
    let page = begin(&h, &mut fr, &id, &[("ui_locales", "fr-FR en")]).await;
    assert!(page.body.contains("<html lang=\"fr\""));
}

#[tokio::test]
async fn practitioners_are_named_by_their_national_id() {
    let h = Harness::start().await;
    let device = practitioner(&h, RPPS).await;
    assert_eq!(
        device.enrolment.identity.subject_name_id,
        format!("8{RPPS}")
    );
    assert_eq!(
        device.enrolment.login_id.as_deref(),
        Some(&*format!("8{RPPS}"))
    );
    assert_eq!(
        h.admin().login_id(RPPS).expect("by rpps"),
        format!("8{RPPS}")
    );
    // CIBA takes the national id with or without its 8.
    let rp = h.client(CodeMode::Pick).await;
    for hint in [RPPS.to_owned(), format!("8{RPPS}"), format!("8 {RPPS}")] {
        let r = rp.ciba(&h, &hint).await.expect("ciba");
        assert!(!r.auth_req_id.is_empty());
    }
    assert!(
        h.admin().add_practitioner("123", "A", "B", "10").is_err(),
        "11 digits"
    );
}

#[tokio::test]
async fn static_files_and_their_headers() {
    let h = Harness::start().await;
    let id = client(&h, "Dossier patient", CodeMode::Pick, &[REDIRECT]);
    let mut b = Browser::new();
    let page = begin(&h, &mut b, &id, &[]).await;
    for (ext, kind) in [("css", "text/css"), ("js", "text/javascript")] {
        let href = page
            .body
            .split('"')
            .find(|s| s.starts_with("/login/static/mire-") && s.ends_with(&format!(".{ext}")))
            .expect("a hashed asset link")
            .to_owned();
        let r = b.get(&h.url(&href)).await;
        assert_eq!(r.status, StatusCode::OK, "{href}");
        assert!(r.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with(kind));
        assert!(r.headers["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("immutable"));
    }
    let r = b.get(&h.url("/login/static/other.js")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn phone_challenges_per_network_are_limited() {
    let h = Harness::start_with(|c| c.browser_login_per_ip_per_min = 2).await;
    let id = client(&h, "Dossier patient", CodeMode::Pick, &[REDIRECT]);
    for n in 0..3 {
        let mut b = Browser::new();
        let page = begin(&h, &mut b, &id, &[]).await;
        let path = page_path(&page);
        let r = b
            .post(
                &h.url(&path),
                &[("csrf", &page.csrf()), ("identifier", "19999999999")],
            )
            .await;
        if n < 2 {
            assert_eq!(r.status, StatusCode::SEE_OTHER, "start {n}");
        } else {
            assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(r.state(), "identifier", "the form stays, with why");
            assert!(r.body.contains("role=\"alert\""));
        }
    }
    h.clock.advance(61);
    let mut b = Browser::new();
    let page = begin(&h, &mut b, &id, &[]).await;
    let r = identify(&h, &mut b, &page, "19999999999").await;
    assert_eq!(r.state(), "no_device", "a minute later it works again");
}
