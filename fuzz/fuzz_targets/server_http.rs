// SPDX-License-Identifier: Apache-2.0
//! The server's HTTP router in-process (`tower::ServiceExt::oneshot`) with hostile requests:
//! CIBA and token forms (with and without valid Basic credentials), Basic headers, enrolment
//! and answer JSON, bearer poll tokens, query strings, arbitrary paths. Never a 5xx, never a
//! panic, and every refusal is a JSON `ErrorBody`.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt as _;
use vistalid_core::protocol::{
    CodeMode, ErrorBody, PATH_CHALLENGES, PATH_CIBA, PATH_ENROL, PATH_ENROL_NONCE, PATH_TOKEN,
};
use vistalid_server::{InProcess, ServerConfig};

struct Fixture {
    rt: tokio::runtime::Runtime,
    app: InProcess,
    basic: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = vistalid_fuzz::scratch_dir("server");
        let mut config = ServerConfig::for_tests(&dir);
        config.ciba_per_client_per_min = u32::MAX;
        config.enrol_per_ip_per_min = u32::MAX;
        config.max_pending_per_account = u32::MAX;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let app = {
            let _g = rt.enter();
            InProcess::new(config).expect("server opens")
        };
        let admin = app.admin();
        let (id, secret) = admin.add_client("Fuzz RP", CodeMode::Pick).expect("client");
        admin
            .add_practitioner("10101010101", "Jeanne", "Martin", "10")
            .expect("practitioner");
        let basic = format!("Basic {}", B64.encode(format!("{id}:{}", secret.as_str())));
        Fixture { rt, app, basic }
    })
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let (sel, rest) = vistalid_fuzz::split_selector(data);
    // For the header-carrying cases, the first line is a header value, the rest the body.
    let split = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
    let (line, tail) = (&rest[..split], rest.get(split + 1..).unwrap_or(&[]));
    let line = String::from_utf8_lossy(line).into_owned();
    let mut b = Request::builder();
    let body: Vec<u8>;
    match sel % 9 {
        0 => {
            b = b
                .method(Method::POST)
                .uri(PATH_CIBA)
                .header(header::AUTHORIZATION, &f.basic);
            b = b.header(header::CONTENT_TYPE, FORM);
            body = rest.to_vec();
        }
        1 => {
            b = b
                .method(Method::POST)
                .uri(PATH_TOKEN)
                .header(header::AUTHORIZATION, &f.basic);
            b = b.header(header::CONTENT_TYPE, FORM);
            body = rest.to_vec();
        }
        2 => {
            b = b
                .method(Method::POST)
                .uri(PATH_CIBA)
                .header(header::CONTENT_TYPE, FORM);
            b = b.header(header::AUTHORIZATION, line.as_bytes());
            body = tail.to_vec();
        }
        3 => {
            b = b
                .method(Method::POST)
                .uri(PATH_TOKEN)
                .header(header::CONTENT_TYPE, FORM);
            b = b.header(header::AUTHORIZATION, line.as_bytes());
            body = tail.to_vec();
        }
        4 => {
            b = b
                .method(Method::POST)
                .uri(PATH_ENROL)
                .header(header::CONTENT_TYPE, JSON);
            body = rest.to_vec();
        }
        5 => {
            let uri = format!("/device/challenges/{}/answer", urlencode(&line));
            b = b
                .method(Method::POST)
                .uri(uri)
                .header(header::CONTENT_TYPE, JSON);
            body = tail.to_vec();
        }
        6 => {
            b = b
                .method(Method::GET)
                .uri(format!("{PATH_CHALLENGES}?{}", urlencode_query(tail)));
            b = b.header(header::AUTHORIZATION, format!("Bearer {line}").as_bytes());
            body = Vec::new();
        }
        7 => {
            b = b.method(Method::POST).uri(PATH_ENROL_NONCE);
            body = rest.to_vec();
        }
        _ => {
            let method = if tail.first().is_some_and(|c| c % 2 == 0) {
                Method::GET
            } else {
                Method::POST
            };
            b = b.method(method).uri(format!("/{}", urlencode(&line)));
            b = b.header(header::CONTENT_TYPE, FORM);
            body = tail.to_vec();
        }
    }
    let Ok(req) = b.body(Body::from(body)) else {
        return; // Not a valid HTTP request (e.g. a header value with control characters).
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
    if status != StatusCode::OK {
        let e: ErrorBody = serde_json::from_slice(&bytes).expect("refusals are ErrorBody JSON");
        assert!(!e.error.is_empty());
    }
});

/// Percent-encodes every byte outside unreserved characters, so the path is a valid URI.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|c| {
            if c.is_ascii_alphanumeric() || b"-._~/".contains(&c) {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

fn urlencode_query(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if c.is_ascii_alphanumeric() || b"-._~=&".contains(&c) {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}
