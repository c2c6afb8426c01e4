// SPDX-License-Identifier: Apache-2.0
//! Helpers of the token-side tests: a browser-login client, an enrolled practitioner, the
//! token endpoint's requests (code exchange, refresh) with either client authentication, and
//! userinfo.
#![allow(dead_code, unreachable_pub)]

use serde_json::Value;
use vistalid_core::protocol::{CodeMode, PATH_TOKEN, PATH_USERINFO};
use vistalid_server::ClientOptions;

use crate::browser::{Ask, Browser, Callback};
use crate::common::{read, Device, Failure, Harness, Rp};

pub const CALLBACK: &str = "http://127.0.0.1:9/callback";
pub const BYE: &str = "http://127.0.0.1:9/bye";
pub const RPPS: &str = "10003456789";

/// A client registered for the browser login.
pub fn client(h: &Harness, signed: bool) -> Rp {
    let options = ClientOptions::new(CodeMode::Pick)
        .redirect_uri(CALLBACK)
        .post_logout_redirect_uri(BYE)
        .userinfo_signed(signed);
    let (id, secret) = h
        .admin()
        .add_client_with("Dossier patient test", &options)
        .expect("client");
    Rp {
        id,
        secret: secret.to_string(),
    }
}

/// A server, a browser-login client, an enrolled practitioner and their login identifier.
pub async fn setup() -> (Harness, Rp, Device, String) {
    let h = Harness::start().await;
    let rp = client(&h, false);
    let device = h.practitioner(RPPS).await;
    let login_id = format!("8{RPPS}");
    (h, rp, device, login_id)
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy)]
pub enum Auth {
    Basic,
    Post,
}

/// One token request of `rp` with `form`.
pub async fn token(
    h: &Harness,
    rp: &Rp,
    auth: Auth,
    form: &[(&str, &str)],
) -> Result<Value, Failure> {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    let mut req = h.http.post(h.url(PATH_TOKEN));
    match auth {
        Auth::Basic => req = req.basic_auth(&rp.id, Some(&rp.secret)),
        Auth::Post => {
            form.push(("client_id", &rp.id));
            form.push(("client_secret", &rp.secret));
        }
    }
    read(req.form(&form).send().await.expect("token")).await
}

/// The code exchange of `code` with `verifier`.
pub async fn exchange(
    h: &Harness,
    rp: &Rp,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Value, Failure> {
    token(
        h,
        rp,
        Auth::Basic,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ],
    )
    .await
}

pub async fn refresh(h: &Harness, rp: &Rp, refresh_token: &str) -> Result<Value, Failure> {
    token(
        h,
        rp,
        Auth::Basic,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// A fresh login of `device` for `rp`: the browser, the request and the callback.
pub async fn login(
    h: &Harness,
    rp: &Rp,
    device: &Device,
    login_id: &str,
) -> (Browser, Ask, Callback) {
    let mut b = Browser::new();
    let ask = Ask::new(CALLBACK);
    let cb = b.login(h, rp, device, login_id, &ask).await;
    assert_eq!(cb.state.as_deref(), Some(ask.state.as_str()));
    (b, ask, cb)
}

pub fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_owned()
}

pub async fn userinfo(h: &Harness, access_token: &str) -> reqwest::Response {
    h.http
        .get(h.url(PATH_USERINFO))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo")
}
