// SPDX-License-Identifier: Apache-2.0
//! The shells' key-rollover calls (issue 19), on a loopback HTTP server of their own:
//!
//! - `POST /rotate-challenge-key` does what the `rotate-key challenge` admin command does
//!   (`Admin::rotate_key`, the shortest pre-publication the server allows) and answers
//!   `{"old_kid", "new_kid", "active_at"}`. The pre-publication is taken as already elapsed:
//!   the rotation is made at the main server's clock set back by
//!   [`vistalid_server::MIN_PREPUBLISH_SECS`] (the clock reads true again as soon as the call
//!   returns), so the new key signs from now on and the tests need not wait two minutes.
//!   The binding tests run one at a time, so no other request sees the clock set back.
//! - `GET /forged-rollover` answers what a man in the middle would put in place of the
//!   server's `GET /device/key-rollover/…` answer: a rollover statement of the main server's
//!   URL moving wallets to a key of the attacker's, signed by another key of the attacker's
//!   (not the key wallets pinned). The shells' tests hand it to the wallet through their
//!   own `HttpTransport`, and expect `KeyRolloverRefused`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use vistalid_core::clock::{Clock, SystemClock};
use vistalid_core::keys::SigningKey;
use vistalid_core::rollover::{sign_rollover, RolloverResponse};
use vistalid_server::{Admin, KeyPurpose, MIN_PREPUBLISH_SECS};

/// The main server's clock: the system clock, minus a shift that only a rotation sets.
#[derive(Debug, Default)]
pub(crate) struct ShiftableClock {
    back_secs: AtomicI64,
}

impl Clock for ShiftableClock {
    fn now(&self) -> i64 {
        SystemClock
            .now()
            .saturating_sub(self.back_secs.load(Ordering::SeqCst))
    }
}

/// What the calls act on.
#[derive(Clone)]
struct Keys {
    admin: Arc<Admin>,
    clock: Arc<ShiftableClock>,
    base_url: String,
}

/// Serves until the process ends.
pub(crate) async fn serve(
    listener: TcpListener,
    admin: Admin,
    clock: Arc<ShiftableClock>,
    base_url: String,
) {
    let keys = Keys {
        admin: Arc::new(admin),
        clock,
        base_url,
    };
    let app = Router::new()
        .route("/rotate-challenge-key", post(rotate))
        .route("/forged-rollover", get(forged))
        .with_state(keys);
    let _ = axum::serve(listener, app).await;
}

async fn rotate(State(k): State<Keys>) -> Result<Json<serde_json::Value>, (StatusCode, String)> {
    let rotated = tokio::task::spawn_blocking(move || {
        k.clock
            .back_secs
            .store(MIN_PREPUBLISH_SECS, Ordering::SeqCst);
        let r = k
            .admin
            .rotate_key(KeyPurpose::Challenge, MIN_PREPUBLISH_SECS);
        k.clock.back_secs.store(0, Ordering::SeqCst);
        r
    })
    .await
    .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| (StatusCode::CONFLICT, e.to_string()))?;
    Ok(Json(json!({
        "old_kid": rotated.old_kid,
        "new_kid": rotated.new_kid,
        "active_at": rotated.active_at,
    })))
}

async fn forged(State(k): State<Keys>) -> Result<Json<RolloverResponse>, StatusCode> {
    let err = |_| StatusCode::INTERNAL_SERVER_ERROR;
    let signer = SigningKey::make().map_err(err)?;
    let named = SigningKey::make().map_err(err)?;
    let now = SystemClock.now();
    let statement = sign_rollover(&signer, &named.public_key(), &k.base_url, now, now)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(RolloverResponse { statement }))
}
