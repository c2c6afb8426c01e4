// SPDX-License-Identifier: Apache-2.0
//! The challenge key's rollover statements (issue 19): what moves a wallet that pinned an
//! older challenge key to its successor, without re-enrolment.
//!
//! Guarantees: `GET /device/key-rollover/{kid}` answers a statement signed by the challenge
//! key `kid` naming the key that took (or takes) over from it, the server's base URL and the
//! successor's `not_before` (`vistalid_core::rollover`); 404 `not_found` when `kid` is no
//! challenge key of this server or has no successor yet. Public: it holds only public keys
//! and a signature that anyone holding the old key could check.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use vistalid_core::protocol::ErrorCode;
use vistalid_core::rollover::{sign_rollover, RolloverResponse};

use crate::api::ApiError;
use crate::keyring::Purpose;
use crate::state::Shared;

/// 404 `not_found`: no such challenge key, or none after it.
fn no_successor() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such challenge key, or no successor yet",
    )
}

/// GET the rollover statement from challenge key `kid` to its successor.
pub(crate) async fn key_rollover(
    State(s): State<Arc<Shared>>,
    Path(kid): Path<String>,
) -> Result<Json<RolloverResponse>, ApiError> {
    let old = s
        .keys
        .by_kid(Purpose::Challenge, &kid)
        .ok_or_else(no_successor)?;
    let new = s
        .keys
        .successor(Purpose::Challenge, &kid)
        .ok_or_else(no_successor)?;
    let statement = sign_rollover(
        &old.key,
        &new.public(),
        &s.issuer,
        new.active_at,
        s.clock.now(),
    )
    .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(RolloverResponse { statement }))
}
