// SPDX-License-Identifier: Apache-2.0
//! The device long-poll: a device's pending challenges, waiting up to `wait` seconds (at
//! most `max_wait_secs`) for one to be queued: woken when one is queued on this instance or,
//! on PostgreSQL, on another, and re-reading every `long_poll_recheck_secs` in any case.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use vistalid_core::protocol::{ChallengesResponse, ErrorCode};

use crate::api::{bearer, ApiError, QueryParams};
use crate::push::wait::{long_poll, Read};
use crate::secrets;
use crate::state::Shared;

/// Query of the long-poll.
#[derive(Debug, Deserialize)]
pub(crate) struct WaitQuery {
    wait: Option<u64>,
}

/// GET: the device's pending challenges, waiting up to `wait` seconds for one.
pub(crate) async fn challenges(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<WaitQuery>,
) -> Result<Json<ChallengesResponse>, ApiError> {
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidToken,
            "missing, unknown or revoked device poll token",
        )
        .with_challenge("Bearer realm=\"vistalid\"")
    };
    let token = bearer(&headers).ok_or_else(unauthorized)?;
    let device_id = s
        .store
        .accounts()
        .device_by_poll_token(secrets::hash(token.as_bytes()))
        .await?
        .ok_or_else(unauthorized)?;
    let wait = q.wait.unwrap_or(0).min(s.config.max_wait_secs);

    let handle = s.notifier.subscribe(&device_id);
    let result = long_poll(
        &handle,
        Duration::from_secs(wait),
        Duration::from_secs(s.config.long_poll_recheck_secs),
        s.shutdown.clone(),
        || async {
            let found = pending(&s, &device_id).await?;
            Ok::<_, ApiError>(if found.is_empty() {
                Read::Wait(found)
            } else {
                Read::Done(found)
            })
        },
    )
    .await;
    s.notifier.release(&device_id, handle);
    Ok(Json(ChallengesResponse {
        challenges: result?,
    }))
}

async fn pending(s: &Shared, device_id: &str) -> Result<Vec<String>, ApiError> {
    Ok(s.store
        .requests()
        .pending_for_device(device_id, s.clock.now())
        .await?)
}
