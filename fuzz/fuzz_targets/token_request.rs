// SPDX-License-Identifier: Apache-2.0
//! The token endpoint's request parser and grants, through the server's router in-process:
//! `authorization_code` and `refresh_token` forms built from hostile fields (code,
//! redirect_uri, code_verifier, refresh_token, scope), with `client_secret_basic`,
//! `client_secret_post`, both or neither, and raw form bodies. No code or refresh token was
//! ever issued in this database, so nothing may be granted: never a 200, never a 5xx, never a
//! panic, and every refusal is a JSON `ErrorBody` with a token-endpoint error code.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, Method, Request};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt as _;
use vistalid_core::protocol::{CodeMode, ErrorBody, PATH_TOKEN};
use vistalid_server::{InProcess, ServerConfig};

struct Fixture {
    rt: tokio::runtime::Runtime,
    app: InProcess,
    id: String,
    secret: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = vistalid_fuzz::scratch_dir("token");
        let config = ServerConfig::for_tests(&dir);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let app = {
            let _g = rt.enter();
            InProcess::new(config).expect("server opens")
        };
        let (id, secret) = app
            .admin()
            .add_client("Fuzz RP", CodeMode::Pick)
            .expect("client");
        Fixture {
            rt,
            app,
            id,
            secret: secret.as_str().to_owned(),
        }
    })
}

/// The codes the token endpoint may answer a request that grants nothing.
const REFUSALS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "invalid_scope",
    "unsupported_grant_type",
    "request_too_large",
];

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let (sel, rest) = vistalid_fuzz::split_selector(data);
    let text = String::from_utf8_lossy(rest);
    let mut fields = text.split('\n');
    let mut next = || fields.next().unwrap_or_default().to_owned();
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    let raw: Option<Vec<u8>> = match sel % 4 {
        0 => {
            form.append_pair("grant_type", "authorization_code");
            form.append_pair("code", &next());
            form.append_pair("redirect_uri", &next());
            form.append_pair("code_verifier", &next());
            None
        }
        1 => {
            form.append_pair("grant_type", "refresh_token");
            form.append_pair("refresh_token", &next());
            let scope = next();
            if !scope.is_empty() {
                form.append_pair("scope", &scope);
            }
            None
        }
        2 => {
            form.append_pair("grant_type", &next());
            for _ in 0..4 {
                let (k, v) = (next(), next());
                form.append_pair(&k, &v);
            }
            None
        }
        _ => Some(rest.to_vec()),
    };
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(PATH_TOKEN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let basic = format!("Basic {}", B64.encode(format!("{}:{}", f.id, f.secret)));
    match (sel / 4) % 4 {
        0 => b = b.header(header::AUTHORIZATION, &basic),
        1 => {
            form.append_pair("client_id", &f.id);
            form.append_pair("client_secret", &f.secret);
        }
        2 => {
            b = b.header(header::AUTHORIZATION, &basic);
            form.append_pair("client_secret", &f.secret);
        }
        _ => {}
    }
    let body = raw.unwrap_or_else(|| form.finish().into_bytes());
    let Ok(req) = b.body(Body::from(body)) else {
        return;
    };
    let router = f.app.router();
    let (status, bytes) = f.rt.block_on(async move {
        let resp = router.oneshot(req).await.expect("the router is infallible");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("response body is bounded");
        (status, bytes)
    });
    assert!(!status.is_server_error(), "5xx for hostile input: {status}");
    assert!(!status.is_success(), "granted without any issued code: {status}");
    let e: ErrorBody = serde_json::from_slice(&bytes).expect("refusals are ErrorBody JSON");
    assert!(REFUSALS.contains(&e.error.as_str()), "unexpected code {}", e.error);
});
