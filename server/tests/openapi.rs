// SPDX-License-Identifier: Apache-2.0
//! The OpenAPI document: the checked-in `server/openapi.json` equals the code's, the live
//! server serves it at `/openapi.json`, and every documented operation is routed.
//!
//! Regenerate the file after an API change:
//! `UPDATE_OPENAPI=1 cargo test -p vistalid-server --test openapi`.

mod common;

use common::Harness;
use serde_json::Value;

/// Server URL written into the checked-in copy (the live document names the real one).
const DOC_SERVER: &str = "http://127.0.0.1:8080";

fn checked_in_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

#[test]
fn checked_in_document_matches_the_code() {
    let doc = vistalid_server::openapi_document(DOC_SERVER);
    let text = serde_json::to_string_pretty(&doc).expect("serialise") + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(checked_in_path(), &text).expect("write openapi.json");
    }
    let on_disk = std::fs::read_to_string(checked_in_path())
        .expect("server/openapi.json exists (UPDATE_OPENAPI=1 writes it)");
    assert!(
        on_disk == text,
        "server/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p vistalid-server --test openapi"
    );
}

#[test]
fn document_is_internally_consistent() {
    let doc = vistalid_server::openapi_document(DOC_SERVER);
    assert_eq!(doc["openapi"], "3.1.0");
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    // Every $ref points at a defined schema.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("local schema ref");
        assert!(schemas.contains_key(name), "undefined schema {name}");
    }
    // Every error response is an ErrorBody; every operation documents 500.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let responses = op["responses"].as_object().expect("responses");
            assert!(responses.contains_key("500"), "{method} {path}");
            for (code, resp) in responses {
                // The authorization and logout endpoints answer a browser: redirects, and an
                // HTML page for a request they must not redirect (RFC 6749 §4.1.2.1, an
                // unregistered post_logout_redirect_uri).
                let browser = [
                    vistalid_core::protocol::PATH_AUTHORIZE,
                    vistalid_core::protocol::PATH_END_SESSION,
                ]
                .contains(&path.as_str())
                    && (code == "303"
                        || (code == "400" && resp["content"].get("text/html").is_some()));
                if !code.starts_with('2') && !browser {
                    assert_eq!(
                        resp["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {code}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn live_server_serves_it_and_routes_every_operation() {
    let h = Harness::start().await;
    let r = h
        .http
        .get(h.url("/openapi.json"))
        .send()
        .await
        .expect("get");
    assert!(r.status().is_success());
    let live: Value = r.json().await.expect("json");
    assert_eq!(live, vistalid_server::openapi_document(h.server.base_url()));
    for (path, item) in live["paths"].as_object().expect("paths") {
        let path = path.replace("{id}", "x").replace("{attempt}", "x");
        for method in item.as_object().expect("item").keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let r = h.http.request(m, h.url(&path)).send().await.expect("send");
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert!(
                !(status == 404 && body["error_description"] == "no such endpoint")
                    && status != 405,
                "{method} {path} is documented but not routed ({status})"
            );
        }
    }
}
