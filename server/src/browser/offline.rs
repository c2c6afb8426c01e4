// SPDX-License-Identifier: Apache-2.0
//! The offline code on the login page (issue 16, docs/offline-code.md): "My phone has no
//! network", then an 8-digit RFC 6238 code instead of the phone's approval.
//!
//! Guarantees:
//! - Offered, and accepted, only for an attempt whose account was identified and whose phone
//!   request is still pending, for a client that does not refuse it, when the request's
//!   `acr_values` do not exclude it ([`id_token::offline_allowed`]), and for an account with
//!   an active device that has an offline secret. Anything else goes back to the login page.
//! - Every code that has the shape of one is counted **before** it is compared
//!   (`store::offline`): 5 wrong codes lock the fallback of the account for 15 minutes, and
//!   the page says so. A value that is not 8 digits is refused without being compared.
//! - The code is compared in constant time with the codes of every active device's secret
//!   for the current step and one step either side, all of them computed whatever matches.
//!   A step is accepted once per device (a replay is refused and counted as a wrong code).
//! - A right code approves the attempt's phone request as approved by the offline code: its
//!   ID token says `amr` `["otp", "pin"]` and `acr` [`id_token::OFFLINE_ACR`]. The answer
//!   sends the browser back to the login page (same origin), whose approved state leads on to
//!   the client: the CSP's `form-action 'self'` also governs the redirects after a form's
//!   POST, so a redirect chain to the client from here would be blocked by the browser.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use vistalid_core::protocol::PATH_LOGIN;
use vistalid_core::totp::{self, Step};

use super::page::{bound, bound_form};
use super::reply::see_other;
use crate::api::{ApiError, PathParam};
use crate::domain::attempt::LoginState;
use crate::id_token;
use crate::pages::mire::login_path;
use crate::pages::offline::{render, OfflineState};
use crate::state::Shared;
use crate::store::offline::{Accepted, Begin, Failed, OfflineAccept};
use crate::store::Attempt;

/// Whether attempt `a` may use the offline code now (see the module guarantees).
pub(super) async fn allowed(s: &Shared, a: &Attempt, now: i64) -> Result<bool, ApiError> {
    let Some(account) = &a.account_id else {
        return Ok(false);
    };
    let pending = matches!(
        a.facts.state(now),
        LoginState::Waiting { .. } | LoginState::Expired { .. }
    );
    if !pending || !s.config.offline_code_keys.is_enabled() {
        return Ok(false);
    }
    let refuses = s.store.offline().client_refuses(&a.client_id).await?;
    if !id_token::offline_allowed(refuses, a.acr_values.as_deref()) {
        return Ok(false);
    }
    Ok(s.store.offline().available(account).await?)
}

/// GET: the offline-code form.
pub(crate) async fn offline_show(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    PathParam(id): PathParam<String>,
) -> Result<Response, ApiError> {
    let a = match bound(&s, &headers, &id).await? {
        Ok(a) => a,
        Err(page) => return Ok(page),
    };
    if !allowed(&s, &a, s.clock.now()).await? {
        return Ok(see_other(&login_path(PATH_LOGIN, &a.id)));
    }
    Ok(render(
        a.lang,
        &a.id,
        &a.csrf,
        &a.client_name,
        OfflineState::Form,
    ))
}

/// POST: a typed offline code.
pub(crate) async fn offline_submit(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    PathParam(id): PathParam<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (a, form) = match bound_form(&s, &headers, &id, &body).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let now = s.clock.now();
    if !allowed(&s, &a, now).await? {
        return Ok(see_other(&login_path(PATH_LOGIN, &a.id)));
    }
    let Some(account_id) = a.account_id.clone() else {
        return Ok(see_other(&login_path(PATH_LOGIN, &a.id)));
    };
    let page = |state| render(a.lang, &a.id, &a.csrf, &a.client_name, state);
    let typed: String = form
        .get("code")
        .unwrap_or_default()
        .chars()
        .filter(|c| *c != ' ')
        .collect();
    if !totp::is_code_shaped(&typed) {
        return Ok(page(OfflineState::Shape));
    }
    let secrets = match s.store.offline().begin(&account_id, now).await? {
        Begin::Locked { until } => {
            return Ok(page(OfflineState::Locked {
                secs: until.saturating_sub(now),
            }))
        }
        Begin::Go(secrets) => secrets,
    };
    let Some(step) = Step::of(now) else {
        return Err(ApiError::internal(&"the clock is before 1970"));
    };
    // Every device's codes for the three steps are computed and compared (constant time
    // each), whatever matches first.
    let mut found: Option<(String, u64)> = None;
    for row in &secrets {
        let Some(secret) =
            s.config
                .offline_code_keys
                .open(&row.key_id, &row.device_id, &row.sealed)
        else {
            tracing::warn!(device = %row.device_id, "an offline secret does not open under the configured keys");
            continue;
        };
        for st in [step.0.saturating_sub(1), step.0, step.0.saturating_add(1)] {
            if totp::matches(&secret, Step(st), &typed) && found.is_none() {
                found = Some((row.device_id.clone(), st));
            }
        }
    }
    if let Some((device_id, st)) = found {
        let accepted = s
            .store
            .offline()
            .accept(OfflineAccept {
                attempt_id: a.id.clone(),
                account_id: account_id.clone(),
                device_id,
                step: i64::try_from(st).unwrap_or(i64::MAX),
                now,
            })
            .await?;
        match accepted {
            Accepted::Approved(request_id) => {
                s.answered(&request_id);
                tracing::info!(client = %a.client_id, "browser login approved with the offline code");
                // Back to the login page (same origin), whose approved state leads on to the
                // client: a browser enforces the page's CSP `form-action 'self'` on every
                // redirect that follows a form's POST, so this answer must not lead off
                // this origin (a 303 to `/continue`, which redirects to the client, would be
                // blocked).
                return Ok(see_other(&login_path(PATH_LOGIN, &a.id)));
            }
            Accepted::Closed => return Ok(see_other(&login_path(PATH_LOGIN, &a.id))),
            Accepted::Replayed => {
                tracing::warn!("an offline code was replayed");
            }
        }
    }
    Ok(match s.store.offline().fail(&account_id, now).await? {
        Failed::Wrong { left } => page(OfflineState::Wrong { left }),
        Failed::Locked { until } => page(OfflineState::Locked {
            secs: until.saturating_sub(now),
        }),
    })
}
