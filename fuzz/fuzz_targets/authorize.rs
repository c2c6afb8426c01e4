// SPDX-License-Identifier: Apache-2.0
//! The authorization endpoint in-process (`tower::ServiceExt::oneshot`) with hostile
//! requests: arbitrary query strings (GET) and form bodies (POST), alone or after a valid
//! prefix naming a registered client and redirect URI (so the checks after the target are
//! reached). Never a 5xx, never a panic, and never a redirect anywhere but the login page
//! or the one registered redirect URI (RFC 6749 §4.1.2.1: no open redirect).
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, Method, Request};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt as _;
use vistalid_core::protocol::{CodeMode, PATH_AUTHORIZE};
use vistalid_server::{ClientOptions, InProcess, ServerConfig};

const REDIRECT: &str = "https://rp.example/cb";

struct Fixture {
    rt: tokio::runtime::Runtime,
    app: InProcess,
    prefix: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = vistalid_fuzz::scratch_dir("authorize");
        let config = ServerConfig::for_tests(&dir);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let app = {
            let _g = rt.enter();
            InProcess::new(config).expect("server opens")
        };
        let (id, _secret) = app
            .admin()
            .add_client_with(
                "Fuzz RP",
                &ClientOptions::new(CodeMode::Pick).redirect_uri(REDIRECT),
            )
            .expect("client");
        let prefix = format!("client_id={id}&redirect_uri=https%3A%2F%2Frp.example%2Fcb&");
        Fixture { rt, app, prefix }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let (sel, rest) = vistalid_fuzz::split_selector(data);
    let mut encoded = Vec::new();
    if sel & 1 == 1 {
        encoded.extend_from_slice(f.prefix.as_bytes());
    }
    encoded.extend_from_slice(rest);
    let req = if sel & 2 == 0 {
        let query: String = encoded
            .iter()
            .map(|&b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'&'
                | b'=' | b'%' | b'+' => (b as char).to_string(),
                b => format!("%{b:02X}"),
            })
            .collect();
        Request::builder()
            .method(Method::GET)
            .uri(format!("{PATH_AUTHORIZE}?{query}"))
            .body(Body::empty())
    } else {
        Request::builder()
            .method(Method::POST)
            .uri(PATH_AUTHORIZE)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(encoded))
    };
    let Ok(req) = req else {
        return;
    };
    let router = f.app.router();
    let resp = f
        .rt
        .block_on(router.oneshot(req))
        .expect("the router is infallible");
    let status = resp.status();
    assert!(!status.is_server_error(), "{status}");
    if let Some(location) = resp.headers().get(header::LOCATION) {
        let location = location.to_str().expect("ASCII location");
        assert!(
            location.starts_with("/login/") || location.starts_with(&format!("{REDIRECT}?")),
            "redirected to {location}"
        );
    }
});
