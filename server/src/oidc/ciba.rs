// SPDX-License-Identifier: Apache-2.0
//! The CIBA backchannel authentication endpoint (poll mode): checks the form, authenticates
//! the client (HTTP Basic or `client_secret_post`, as discovery says), counts it against its per-minute limit, and starts the login (`login`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use vistalid_core::protocol::{CibaResponse, ErrorCode, RequestContext};
use vistalid_core::text;

use crate::api::{no_store, retry_after, too_many, ApiError, FormBody};
use crate::attestation::AttestationRefusal;
use crate::clients;
use crate::domain::guard::HoldRefusal;
use crate::domain::identifier;
use crate::domain::RefusalStage;
use crate::login::{self, Ask, Start};
use crate::refusals::refuse;
use crate::state::Shared;

/// Longest binding message accepted (characters).
const MAX_BINDING_MESSAGE: usize = 128;
/// Longest context hint accepted (characters).
const MAX_HINT: usize = 256;
/// Longest login hint looked up (bytes).
const MAX_LOGIN_HINT: usize = 64;

/// Form parameters of the CIBA endpoint. No `Debug`: it may carry the client's secret.
#[derive(Deserialize)]
pub(crate) struct CibaForm {
    scope: Option<String>,
    login_hint: Option<String>,
    login_hint_token: Option<String>,
    id_token_hint: Option<String>,
    user_code: Option<String>,
    binding_message: Option<String>,
    acr_values: Option<String>,
    vistalid_ip: Option<String>,
    vistalid_user_agent: Option<String>,
    vistalid_place: Option<String>,
    /// `client_secret_post`'s client id (discovery lists that method for every endpoint).
    client_id: Option<String>,
    /// `client_secret_post`'s secret (wiped when dropped).
    #[serde(default, deserialize_with = "wiped")]
    client_secret: Option<zeroize::Zeroizing<String>>,
}

/// Reads an optional secret into memory that is wiped when dropped.
fn wiped<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<zeroize::Zeroizing<String>>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(zeroize::Zeroizing::new))
}

/// POST CIBA backchannel authentication request (poll mode).
pub(crate) async fn ciba(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    FormBody(form): FormBody<CibaForm>,
) -> Result<Response, ApiError> {
    let posted = clients::Posted {
        client_id: form.client_id.as_deref(),
        client_secret: form.client_secret.as_deref().map(String::as_str),
    };
    let client = clients::authenticate_either(&s, &headers, posted).await?;
    if let Err(retry) = s.ciba_limiter.check(&client.client_id, s.clock.now()) {
        return Ok(too_many(ErrorCode::SlowDown, retry));
    }
    let (login_hint, ask) = form.check()?;
    let unknown = |d: &str| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::UnknownUserId, d);
    // Accounts are found by their login identifier only (the national id, with or without
    // its leading 8; the insured's own identifier), never by the pseudonymous id every
    // offline QR code carries: whoever scanned one cannot push logins to the citizen.
    let target = match identifier::read(&login_hint) {
        Some(login_id) => s.store.accounts().login_target(&login_id).await?,
        None => None,
    }
    .ok_or_else(|| unknown("no account has this login_hint"))?;
    match login::start(&s, &client, target, ask, None).await? {
        Start::Started(started) => Ok(no_store(
            Json(CibaResponse {
                auth_req_id: started.request_id,
                expires_in: s.config.ciba_expires_in,
                interval: s.config.poll_interval_secs,
                dynamic_code: started.code,
            })
            .into_response(),
        )),
        Start::Held(held) => Ok(hold_refusal(held)),
        Start::NoActiveDevice => Err(unknown("the account has no active device")),
        Start::NoEligibleDevice => {
            let refusal = AttestationRefusal::Required(
                "no device of this account meets this service's attestation requirements",
            );
            Err(refuse(&s, RefusalStage::Login, &refusal).await)
        }
        Start::TooManyPending | Start::AttemptClosed => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::SlowDown,
            "too many pending login requests for this account; wait for them to be answered \
             or to expire",
        )),
    }
}

impl CibaForm {
    /// The login hint and what the relying party asks, or the first fault.
    fn check(self) -> Result<(String, Ask), ApiError> {
        let scope = self.scope.unwrap_or_default();
        if !scope.split(' ').any(|x| x == "openid") {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidScope,
                "scope must contain openid",
            ));
        }
        if self.login_hint_token.is_some() || self.id_token_hint.is_some() {
            return Err(ApiError::bad_request(
                "only login_hint is supported as a user hint",
            ));
        }
        if self.user_code.is_some() {
            return Err(ApiError::bad_request("user_code is not supported"));
        }
        let login_hint = self
            .login_hint
            .filter(|h| !h.is_empty() && h.len() <= MAX_LOGIN_HINT)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "login_hint (the national id or login identifier) is required",
                )
            })?;
        let binding_message =
            check_text("binding_message", self.binding_message, MAX_BINDING_MESSAGE)
                .map_err(|e| ApiError {
                    error: ErrorCode::InvalidBindingMessage,
                    ..e
                })?
                .unwrap_or_default();
        let ask = Ask {
            scope,
            acr_values: check_text("acr_values", self.acr_values, MAX_HINT)?,
            binding_message,
            context: RequestContext {
                ip: check_text("vistalid_ip", self.vistalid_ip, MAX_HINT)?,
                user_agent: check_text("vistalid_user_agent", self.vistalid_user_agent, MAX_HINT)?,
                place: check_text("vistalid_place", self.vistalid_place, MAX_HINT)?,
            },
            scan: None,
        };
        Ok((login_hint, ask))
    }
}

/// Text the approval card shows: at most `max` characters, none refused by
/// [`text::is_display_safe`] (controls, format and bidirectional controls, line and
/// paragraph separators), so a relying party cannot draw fake lines on the card.
fn check_text(name: &str, v: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    match v {
        Some(v) if v.chars().count() > max || !text::is_display_safe(&v) => {
            Err(ApiError::bad_request(format!(
                "{name} is too long ({max} characters at most) or holds control, format or \
                 line-separator characters"
            )))
        }
        v => Ok(v),
    }
}

/// The answer to a request the login guard holds: 403 `access_denied` after "not me" (CIBA
/// Core §13: the OpenID Provider denies the request; the user's own report is that denial),
/// 429 `slow_down` after wrong picks (as the push-fatigue guard); the reason in the
/// description, the wait in it and in `Retry-After`.
fn hold_refusal(held: HoldRefusal) -> Response {
    let (status, error, why, wait) = match held {
        HoldRefusal::NotMe { wait_secs } => (
            StatusCode::FORBIDDEN,
            ErrorCode::AccessDenied,
            "the user recently reported a login request as not theirs; new requests for this \
             account are held",
            wait_secs,
        ),
        HoldRefusal::WrongPick { wait_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::SlowDown,
            "the user recently picked a wrong code; new requests for this account must wait",
            wait_secs,
        ),
    };
    let e = ApiError::new(status, error, format!("{why} ({wait} s)"));
    retry_after(e, u64::try_from(wait).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    #[test]
    fn a_hold_names_its_reason_and_its_wait() {
        let r = hold_refusal(HoldRefusal::NotMe { wait_secs: 600 });
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(r.headers()[header::RETRY_AFTER], "600");
        let r = hold_refusal(HoldRefusal::WrongPick { wait_secs: 0 });
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            r.headers()[header::RETRY_AFTER],
            "1",
            "never less than a second"
        );
    }
}
