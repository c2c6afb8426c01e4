// SPDX-License-Identifier: Apache-2.0
//! The push-token registration (issue 20): signed by the device-tier key, fresh, single-use;
//! every bad request a typed 4xx; a revoked device gets no token.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde_json::json;
use vistalid_core::jws;
use vistalid_core::keys::SigningKey;
use vistalid_core::push::{
    PushPlatform, PushTarget, PushTokenClaims, PushTokenResponse, PATH_PUSH_TOKEN, TYP_PUSH_TOKEN,
};

use common::guarded::{enrol_guarded, Guarded};
use common::{expect_err, read, Harness};

fn body(
    g: &Guarded,
    key: &SigningKey,
    token: Option<&str>,
    jti: u8,
    iat: i64,
) -> serde_json::Value {
    let claims = PushTokenClaims {
        device_id: g.device_id.clone(),
        push: token.map(|t| PushTarget {
            platform: PushPlatform::Fcm,
            token: t.into(),
        }),
        jti: B64URL.encode([jti; 16]),
        iat,
    };
    json!({
        "device_id": g.device_id,
        "request": jws::sign_json(key, TYP_PUSH_TOKEN, &claims).unwrap(),
    })
}

#[tokio::test]
async fn a_registration_is_signed_fresh_single_use_and_revocation_ends_it() {
    let h = Harness::start().await;
    let code = h
        .admin()
        .add_practitioner("10003456789", "Jeanne", "Martin", "10")
        .unwrap();
    let g = enrol_guarded(&h.http, h.server.base_url(), &code, h.now()).await;
    let post = |b: serde_json::Value| {
        let http = h.http.clone();
        let url = h.url(PATH_PUSH_TOKEN);
        async move { read::<PushTokenResponse>(http.post(url).json(&b).send().await.unwrap()).await }
    };
    let now = h.now();
    let ok = post(body(&g, &g.unlock, Some("tok:1"), 1, now))
        .await
        .unwrap();
    assert!(ok.registered);
    expect_err(
        post(body(&g, &g.unlock, Some("tok:1"), 1, now)).await,
        409,
        "replayed_request",
    );
    expect_err(
        post(body(&g, &g.confirm, Some("tok:1"), 2, now)).await,
        401,
        "invalid_signature",
    );
    expect_err(
        post(body(&g, &g.unlock, Some("tok:1"), 3, now - 1000)).await,
        400,
        "stale_request",
    );
    expect_err(
        post(body(&g, &g.unlock, Some("bad token"), 4, now)).await,
        400,
        "invalid_request",
    );
    let mut other = body(&g, &g.unlock, Some("tok:1"), 5, now);
    other["device_id"] = json!("nobody");
    expect_err(post(other).await, 404, "unknown_device");
    let removed = post(body(&g, &g.unlock, None, 6, now)).await.unwrap();
    assert!(!removed.registered);
    assert!(
        post(body(&g, &g.unlock, Some("tok:2"), 7, now))
            .await
            .unwrap()
            .registered
    );

    assert!(h.admin().revoke_device(&g.device_id).unwrap());
    expect_err(
        post(body(&g, &g.unlock, Some("tok:3"), 8, now)).await,
        403,
        "device_revoked",
    );
}
