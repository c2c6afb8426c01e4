// SPDX-License-Identifier: Apache-2.0
//! The login page's status for its script (ADR 0002): `{"state", "expires_in",
//! "continue"?}`, long-polled with `?wait=` seconds (at most 25).
//!
//! Guarantees: only the browser holding the attempt's cookie gets an answer (else 404
//! `not_found`, the same as an unknown attempt); the answer never carries the *code
//! dynamique* or the identifier; a waiting long-poll returns as soon as a device answers
//! (woken by the answer, on this instance or, on PostgreSQL, on another; re-read every
//! `long_poll_recheck_secs` in any case), when the challenge expires, when the server stops,
//! or after `wait` seconds.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use vistalid_core::protocol::{ErrorCode, PATH_LOGIN_CONTINUE};

use super::page::bound;
use crate::api::{ApiError, PathParam, QueryParams};
use crate::domain::attempt::LoginState;
use crate::pages::{harden, mire::login_path};
use crate::push::wait::{long_poll, Read};
use crate::state::Shared;
use crate::store::Attempt;

/// Longest long-poll (ADR 0002).
const MAX_WAIT_SECS: u64 = 25;

/// The query of the status endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusQuery {
    /// Seconds to wait for a change while the state is `waiting` (0..=25).
    #[serde(default)]
    wait: u64,
}

/// The status answer (`LoginStatus` in the OpenAPI document).
#[derive(Debug, Serialize)]
struct LoginStatus {
    /// The page's state (`data-state`).
    state: &'static str,
    /// Seconds left: of the phone challenge while waiting, else of the attempt.
    expires_in: i64,
    /// Where the page goes next (approved only).
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// GET: the attempt's state, long-polled.
pub(crate) async fn status(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    PathParam(id): PathParam<String>,
    QueryParams(q): QueryParams<StatusQuery>,
) -> Result<Response, ApiError> {
    if q.wait > MAX_WAIT_SECS {
        return Err(ApiError::bad_request("wait is at most 25 seconds"));
    }
    let Ok(mut a) = bound(&s, &headers, &id).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "no such login attempt in this browser",
        ));
    };
    let now = s.clock.now();
    if let (LoginState::Waiting { expires_in }, Some(request), true) =
        (a.facts.state(now), a.request.clone(), q.wait > 0)
    {
        let handle = s.answers.subscribe(&request.id);
        let wait = q.wait.min(u64::try_from(expires_in).unwrap_or(0));
        let waited = long_poll(
            &handle,
            Duration::from_secs(wait),
            Duration::from_secs(s.config.long_poll_recheck_secs),
            s.shutdown.clone(),
            || async {
                let fresh = s.store.attempts().find(&id).await?;
                Ok::<_, ApiError>(match fresh {
                    Some(f)
                        if matches!(f.facts.state(s.clock.now()), LoginState::Waiting { .. }) =>
                    {
                        Read::Wait(Some(f))
                    }
                    other => Read::Done(other),
                })
            },
        )
        .await;
        s.answers.release(&request.id, handle);
        if let Some(fresh) = waited? {
            a = fresh;
        }
    }
    let mut resp = Json(body(&a, s.clock.now())).into_response();
    harden(resp.headers_mut());
    Ok(resp)
}

/// The status of `a` at `now`.
fn body(a: &Attempt, now: i64) -> LoginStatus {
    let state = a.facts.state(now);
    let expires_in = match state {
        LoginState::Waiting { expires_in } => expires_in,
        _ => a.facts.expires_at.saturating_sub(now).max(0),
    };
    LoginStatus {
        state: state.as_str(),
        expires_in,
        next: (state == LoginState::Approved).then(|| login_path(PATH_LOGIN_CONTINUE, &a.id)),
    }
}
