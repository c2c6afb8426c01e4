// SPDX-License-Identifier: Apache-2.0
//! Starting a login: one request for an account, a *code dynamique* for the login page, and
//! one signed challenge queued for each of the account's active devices. CIBA uses it today;
//! the browser login (issue 15) will too.
//!
//! Guarantees:
//! - Nothing is queued for an account the login guard holds, or without an active device.
//! - At most `max_pending_per_account` pending requests per account (push-fatigue guard);
//!   beyond, nothing is queued.
//! - Each challenge is signed by the server's pinned key and names its device, the service
//!   (the client's registered name), the relying party's display-safe texts, the mode and,
//!   in pick mode, `pick_candidates` shuffled candidates holding the code. It expires with
//!   the request or after `challenge_ttl_secs`, whichever is first.
//! - Devices are woken only after the request is committed.

use vistalid_core::jws;
use vistalid_core::protocol::{ChallengeClaims, CodeMode, RequestContext, TYP_CHALLENGE};

use crate::api::ApiError;
use crate::domain::guard::HoldRefusal;
use crate::domain::secs;
use crate::secrets;
use crate::state::Shared;
use crate::store::{ClientRecord, LoginTarget, NewChallenge, NewRequest, Queued};

/// What the relying party asks and what the approval card shows (already checked).
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    /// Requested scope (contains `openid`).
    pub(crate) scope: String,
    /// Requested `acr_values`, kept with the request.
    pub(crate) acr_values: Option<String>,
    /// The relying party's binding message.
    pub(crate) binding_message: String,
    /// Where and how the login was requested.
    pub(crate) context: RequestContext,
}

/// A started login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Started {
    /// The request id (CIBA `auth_req_id`).
    pub(crate) request_id: String,
    /// The *code dynamique* for the login page.
    pub(crate) code: String,
}

/// What starting a login did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Start {
    /// Queued, devices woken.
    Started(Started),
    /// The login guard holds the account.
    Held(HoldRefusal),
    /// The account has no active device.
    NoActiveDevice,
    /// The account has the most pending requests allowed.
    TooManyPending,
}

/// Starts a login for `target` on behalf of `client` (see the module guarantees).
pub(crate) async fn start(
    s: &Shared,
    client: &ClientRecord,
    target: LoginTarget,
    ask: Ask,
) -> Result<Start, ApiError> {
    let now = s.clock.now();
    if let Some(held) = target.hold.refusal(now) {
        return Ok(Start::Held(held));
    }
    if target.devices.is_empty() {
        return Ok(Start::NoActiveDevice);
    }
    let cfg = &s.config;
    let request_id = secrets::make_token()?;
    let code = secrets::make_dynamic_code()?;
    let candidates = match client.mode {
        CodeMode::Pick => secrets::make_candidates(&code, cfg.pick_candidates)?,
        CodeMode::Type => Vec::new(),
    };
    let exp = now.saturating_add(secs(cfg.challenge_ttl_secs.min(cfg.ciba_expires_in)));
    let mut challenges = Vec::with_capacity(target.devices.len());
    for device_id in &target.devices {
        let claims = ChallengeClaims {
            id: secrets::make_token()?,
            account_id: target.account_id.clone(),
            device_id: device_id.clone(),
            service: client.name.clone(),
            binding_message: ask.binding_message.clone(),
            context: ask.context.clone(),
            mode: client.mode,
            candidates: candidates.clone(),
            iat: now,
            exp,
        };
        let jws =
            jws::sign_json(&s.key, TYP_CHALLENGE, &claims).map_err(|e| ApiError::internal(&e))?;
        challenges.push(NewChallenge {
            id: claims.id,
            device_id: device_id.clone(),
            jws,
            exp,
        });
    }
    let request = NewRequest {
        id: request_id.clone(),
        client_id: client.client_id.clone(),
        account_id: target.account_id,
        code: code.clone(),
        scope: ask.scope,
        acr_values: ask.acr_values,
        created_at: now,
        expires_at: now.saturating_add(secs(cfg.ciba_expires_in)),
        interval_secs: secs(cfg.poll_interval_secs),
        challenges: challenges.clone(),
    };
    let queued = s
        .store
        .requests()
        .queue(request, cfg.max_pending_per_account)
        .await?;
    if queued == Queued::TooManyPending {
        return Ok(Start::TooManyPending);
    }
    for c in &challenges {
        s.wake(&c.device_id, &c.id);
    }
    tracing::info!(client = %client.client_id, devices = challenges.len(), "login request queued");
    Ok(Start::Started(Started { request_id, code }))
}
