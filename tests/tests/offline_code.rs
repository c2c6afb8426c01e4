// SPDX-License-Identifier: Apache-2.0
//! The offline code end to end (issue 16): the real wallet computes the code with no
//! server reachable for it, a cookie-keeping browser types it on the login page, the shared
//! relying party exchanges the code and verifies the ID token. Every rule of the fallback:
//! once per step, a window of one step either side, 5 wrong codes lock it for 15 minutes,
//! a code of another account, a code after the device's revocation, a client that refuses
//! it, `acr_values` that exclude it, and an enrolment without it.
#![allow(clippy::unwrap_used, missing_docs)]

use reqwest::header::LOCATION;
use reqwest::StatusCode;
use vistalid_core::protocol::CodeMode;
use vistalid_core::secret::Pin;
use vistalid_core::wallet::{Wallet, WalletError};
use vistalid_e2e::{wallet, Env};
use vistalid_server::relying_party::code_flow::{AuthorizationRequest, AuthorizeOptions};
use vistalid_server::relying_party::RelyingParty;
use vistalid_server::{ClientOptions, OfflineCodeKey, OfflineKeys, OFFLINE_ACR};

const RPPS: &str = "10003456789";
const RPPS_2: &str = "10003456790";
const PIN: &str = "204862";
const CALLBACK: &str = "http://127.0.0.1:9/callback";

struct Browser {
    http: reqwest::Client,
    cookies: vistalid_e2e::CookieJar,
}

/// What the browser saw.
struct Seen {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Seen {
    fn state(&self) -> &str {
        let at = self.body.find("data-state=\"").expect("a state") + 12;
        let rest = &self.body[at..];
        &rest[..rest.find('"').unwrap()]
    }

    fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("csrf") + 19;
        let rest = &self.body[at..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

impl Browser {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: vistalid_e2e::CookieJar::default(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Seen {
        let r = self.cookies.send(req).await;
        let status = r.status();
        let location = r
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        Seen {
            status,
            location,
            body: r.text().await.unwrap(),
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

/// A server offering the offline code, a browser client, an enrolled practitioner.
struct Fix {
    env: Env,
    rp: RelyingParty,
    w: Wallet,
    _dir: tempfile::TempDir,
    account_id: String,
    login_id: String,
}

fn keys() -> OfflineKeys {
    OfflineKeys::new(vec![OfflineCodeKey::new("k1", [7u8; 32]).unwrap()])
}

fn client(env: &Env, options: ClientOptions) -> RelyingParty {
    let (id, secret) = env
        .server
        .admin()
        .add_client_with("Dossier Médical Partagé", &options.redirect_uri(CALLBACK))
        .unwrap();
    RelyingParty::new(env.url(), id, &secret)
}

async fn enrolled(env: &Env, rpps: &str) -> (Wallet, tempfile::TempDir, String, String) {
    let (w, dir) = wallet();
    let code = env.practitioner(rpps);
    let info = w.enrol(&env.url(), &code, Pin::new(PIN)).await.unwrap();
    let login_id = info.login_id.clone().unwrap();
    (w, dir, info.account_id, login_id)
}

async fn fix_with(tweak: impl FnOnce(&mut vistalid_server::ServerConfig)) -> Fix {
    let env = Env::start_with(|c, _| tweak(c)).await;
    let rp = client(&env, ClientOptions::new(CodeMode::Pick));
    let (w, dir, account_id, login_id) = enrolled(&env, RPPS).await;
    Fix {
        env,
        rp,
        w,
        _dir: dir,
        account_id,
        login_id,
    }
}

async fn fix() -> Fix {
    fix_with(|c| c.offline_code_keys = keys()).await
}

/// Opens a login for `rp` and types `login_id`: the waiting page and its URL.
async fn waiting(
    b: &mut Browser,
    env: &Env,
    rp: &RelyingParty,
    login_id: &str,
    acr: Option<&str>,
) -> (AuthorizationRequest, String, Seen, String) {
    let options = AuthorizeOptions {
        acr_values: acr.map(str::to_owned),
        ..AuthorizeOptions::default()
    };
    let req = rp.authorization_request(CALLBACK, &options).unwrap();
    let r = b.get(&req.url).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = format!("{}{}", env.url(), r.location.unwrap());
    let form = b.get(&page).await;
    let csrf = form.csrf();
    let r = b
        .post(&page, &[("identifier", login_id), ("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let seen = b.get(&page).await;
    assert_eq!(seen.state(), "waiting", "{}", seen.body);
    (req, page, seen, csrf)
}

/// Types `code` on the offline page of `page`.
async fn type_code(b: &mut Browser, page: &str, code: &str) -> Seen {
    let form = b.get(&format!("{page}/offline")).await;
    assert_eq!(form.state(), "offline", "{}", form.body);
    let csrf = form.csrf();
    b.post(
        &format!("{page}/offline"),
        &[("code", code), ("csrf", &csrf)],
    )
    .await
}

#[tokio::test]
async fn an_offline_code_logs_in_once_with_amr_otp_and_pin() {
    let f = fix().await;
    let mut b = Browser::new();
    let (req, page, seen, _) = waiting(&mut b, &f.env, &f.rp, &f.login_id, None).await;
    assert!(seen.body.contains("id=\"offline\""), "the page offers it");
    assert!(seen.body.contains("n&#39;a pas de réseau") || seen.body.contains("no network"));
    let code =
        f.w.offline_code(&f.account_id, Pin::new(PIN))
            .await
            .unwrap();
    assert_eq!(code.code.len(), 8);
    assert!((1..=30).contains(&code.valid_for_secs));
    let r = type_code(&mut b, &page, &code.code).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Back to the login page (the CSP's form-action 'self' governs the POST's redirects),
    // which is approved and leads on to the client.
    assert_eq!(
        format!("{}{}", f.env.url(), r.location.as_deref().unwrap()),
        page
    );
    assert_eq!(b.get(&page).await.state(), "approved");
    let r = b.get(&format!("{page}/continue")).await;
    let callback = r.location.unwrap();
    assert!(callback.starts_with(CALLBACK), "{callback}");
    let auth_code = f.rp.callback_code(&req, &callback).unwrap();
    let login = f.rp.exchange_code(&req, &auth_code).await.unwrap();
    assert_eq!(login.sub(), f.account_id);
    assert_eq!(login.claims["amr"], serde_json::json!(["otp", "pin"]));
    assert_eq!(login.claims["acr"], OFFLINE_ACR);

    // The same code (the same step) on a new attempt: refused, counted as a wrong code.
    let mut b = Browser::new();
    let (_req, page, _, _) = waiting(&mut b, &f.env, &f.rp, &f.login_id, None).await;
    let r = type_code(&mut b, &page, &code.code).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.state(), "offline-wrong", "{}", r.body);
}

#[tokio::test]
async fn five_wrong_codes_lock_the_fallback_for_fifteen_minutes() {
    let f = fix().await;
    let mut b = Browser::new();
    let (_req, page, _, _) = waiting(&mut b, &f.env, &f.rp, &f.login_id, None).await;
    let right =
        f.w.offline_code(&f.account_id, Pin::new(PIN))
            .await
            .unwrap();
    // A wrong code that is surely not one of the window's three.
    let wrong = if right.code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let mut refused = 0;
    for left in (1..=4).rev() {
        let r = type_code(&mut b, &page, wrong).await;
        assert_eq!(r.state(), "offline-wrong");
        assert!(r.body.contains(&format!(": {left}.")), "{}", r.body);
        refused += 1;
    }
    let r = type_code(&mut b, &page, wrong).await;
    refused += 1;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.state(), "offline-locked");
    assert!(r.body.contains("15 minutes"), "{}", r.body);
    // Locked: even the right code is not compared.
    let r = type_code(&mut b, &page, &right.code).await;
    assert_eq!(r.state(), "offline-locked");
    assert_eq!(refused, 5);
    // Not 8 digits: refused without a try.
    let mut b2 = Browser::new();
    let other = fix().await;
    let (_r, page2, _, _) = waiting(&mut b2, &other.env, &other.rp, &other.login_id, None).await;
    let r = type_code(&mut b2, &page2, "1234").await;
    assert_eq!(r.state(), "offline-wrong");
}

#[tokio::test]
async fn a_code_of_another_account_is_refused() {
    let f = fix().await;
    let (w2, _dir2, account_2, _login_2) = enrolled(&f.env, RPPS_2).await;
    let mut b = Browser::new();
    let (_req, page, _, _) = waiting(&mut b, &f.env, &f.rp, &f.login_id, None).await;
    let theirs = w2.offline_code(&account_2, Pin::new(PIN)).await.unwrap();
    let r = type_code(&mut b, &page, &theirs.code).await;
    assert_eq!(r.state(), "offline-wrong", "{}", r.body);
}

#[tokio::test]
async fn a_code_after_the_device_is_revoked_is_refused() {
    let f = fix().await;
    let mut b = Browser::new();
    let (_req, page, _, csrf) = waiting(&mut b, &f.env, &f.rp, &f.login_id, None).await;
    let code =
        f.w.offline_code(&f.account_id, Pin::new(PIN))
            .await
            .unwrap();
    let device = f.env.server.admin().list_devices(RPPS).unwrap()[0]
        .device_id
        .clone();
    assert!(f.env.server.admin().revoke_device(&device).unwrap());
    // The attempt's page no longer offers it, and a post of the code approves nothing.
    let form = b.get(&format!("{page}/offline")).await;
    assert_eq!(form.status, StatusCode::SEE_OTHER);
    let r = b
        .post(
            &format!("{page}/offline"),
            &[("code", code.code.as_str()), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!r.location.unwrap().ends_with("/continue"));
    assert_ne!(b.get(&page).await.state(), "approved");
}

#[tokio::test]
async fn a_client_that_refuses_it_and_acr_values_that_exclude_it_never_offer_it() {
    let f = fix().await;
    let strict = client(
        &f.env,
        ClientOptions::new(CodeMode::Pick).no_offline_code(true),
    );
    let code =
        f.w.offline_code(&f.account_id, Pin::new(PIN))
            .await
            .unwrap();
    for (rp, acr) in [(&strict, None), (&f.rp, Some("eidas1"))] {
        let mut b = Browser::new();
        let (_req, page, seen, csrf) = waiting(&mut b, &f.env, rp, &f.login_id, acr).await;
        assert!(!seen.body.contains("id=\"offline\""));
        assert_eq!(
            b.get(&format!("{page}/offline")).await.status,
            StatusCode::SEE_OTHER
        );
        let r = b
            .post(
                &format!("{page}/offline"),
                &[("code", code.code.as_str()), ("csrf", &csrf)],
            )
            .await;
        assert!(!r.location.unwrap().ends_with("/continue"));
        assert_eq!(b.get(&page).await.state(), "waiting", "nothing approved");
    }
    // acr_values naming the fallback's level allow it.
    let mut b = Browser::new();
    let acr = format!("eidas1 {OFFLINE_ACR}");
    let (_req, _page, seen, _) = waiting(&mut b, &f.env, &f.rp, &f.login_id, Some(&acr)).await;
    assert!(seen.body.contains("id=\"offline\""));
}

#[tokio::test]
async fn an_enrolment_without_the_fallback_keeps_working_without_it() {
    // A server with no offline-code key: the enrolment has no secret.
    let f = fix_with(|_| {}).await;
    assert_eq!(
        f.w.offline_code(&f.account_id, Pin::new(PIN)).await.err(),
        Some(WalletError::NoOfflineCode)
    );
    let mut b = Browser::new();
    let (_req, _page, seen, _) = waiting(&mut b, &f.env, &f.rp, &f.login_id, None).await;
    assert!(!seen.body.contains("id=\"offline\""));
    // ... and the phone's approval works as before.
    let ch = f.w.fetch_challenges(5).await.unwrap().challenges.remove(0);
    let shown = seen
        .body
        .split("id=\"code\" class=\"code\">")
        .nth(1)
        .unwrap();
    let shown = &shown[..shown.find('<').unwrap()];
    f.w.approve(&ch.id, Pin::new(PIN), shown).await.unwrap();
}

/// The wallet's code and its step, read at least 3 s before the step ends.
async fn code_and_step(w: &Wallet, account_id: &str) -> (String, i64) {
    loop {
        let c = w.offline_code(account_id, Pin::new(PIN)).await.unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        if c.valid_for_secs >= 3 {
            return (c.code, i64::try_from(now / 30).unwrap());
        }
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
}

#[tokio::test]
async fn the_server_takes_one_step_either_side_and_no_more() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let clock = std::sync::Arc::new(vistalid_core::clock::ManualClock::new(
        i64::try_from(now).unwrap(),
    ));
    let server_clock = clock.clone();
    let f = fix_with(move |c| {
        c.offline_code_keys = keys();
        c.clock = server_clock.into();
    })
    .await;
    let mut accepted = 0;
    let mut refused = 0;
    // (server step - wallet step, accepted?)
    for (offset, ok) in [(-1i64, true), (1, true), (2, false), (-2, false), (0, true)] {
        let (code, step) = code_and_step(&f.w, &f.account_id).await;
        clock.set((step + offset) * 30 + 10);
        let mut b = Browser::new();
        let (_req, page, _, _) = waiting(&mut b, &f.env, &f.rp, &f.login_id, None).await;
        let r = type_code(&mut b, &page, &code).await;
        if ok {
            assert_eq!(
                r.status,
                StatusCode::SEE_OTHER,
                "offset {offset}: {}",
                r.body
            );
            assert_eq!(b.get(&page).await.state(), "approved", "offset {offset}");
            accepted += 1;
            // Each accepted step is above the last: wait for the wallet's next step.
            tokio::time::sleep(std::time::Duration::from_secs(
                (30 - std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    % 30)
                    .min(30),
            ))
            .await;
        } else {
            assert_eq!(r.state(), "offline-wrong", "offset {offset}");
            refused += 1;
        }
    }
    assert_eq!((accepted, refused), (3, 2));
}
