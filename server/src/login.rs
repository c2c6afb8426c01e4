// SPDX-License-Identifier: Apache-2.0
//! Starting a login: one request for an account, a *code dynamique* for the login page, and
//! one signed challenge queued for each of the account's active devices. CIBA and the browser
//! login (linked to its attempt in the same transaction) both use it.
//!
//! Guarantees:
//! - Nothing is queued for an account the login guard holds, or without an active device.
//! - Challenges go only to the devices that meet the relying party's attestation
//!   requirements (the policy file's `clients`, checked on each device's stored hardware
//!   key); with none, nothing is queued.
//! - At most `max_pending_per_account` pending requests per account (push-fatigue guard);
//!   beyond, nothing is queued.
//! - Each challenge is signed by the server's pinned key and names its device, the service
//!   (the client's registered name), the relying party's display-safe texts, the mode and,
//!   in pick mode, `pick_candidates` shuffled candidates holding the code. It expires with
//!   the request or after `challenge_ttl_secs`, whichever is first.
//! - Devices are woken only after the request is committed.
//! - [`decoy`] costs what signing one device's challenge costs, for answers that must take
//!   the time of a start without starting anything (an unknown identifier on the login page).

use vistalid_core::jws;
use vistalid_core::protocol::{ChallengeClaims, CodeMode, RequestContext, TYP_CHALLENGE};

use crate::api::ApiError;
use crate::domain::guard::HoldRefusal;
use crate::domain::secs;
use crate::keyring::Purpose;
use crate::ordered;
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
    /// Scan mode (issue 16): the browser attempt whose QR code's MAC the answers need.
    pub(crate) scan: Option<String>,
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
    /// The account's active devices all fall short of the relying party's attestation
    /// requirements (ADR 0001); nothing was queued.
    NoEligibleDevice,
    /// The account has the most pending requests allowed.
    TooManyPending,
    /// The browser attempt cannot start a phone challenge now (see `Queued::AttemptClosed`).
    AttemptClosed,
}

/// What every device's challenge of one login shows.
struct Shown<'a> {
    client: &'a ClientRecord,
    ask: &'a Ask,
    candidates: &'a [String],
    iat: i64,
    exp: i64,
}

impl Shown<'_> {
    /// The challenge for `device_id`, signed with the server's pinned key.
    fn sign(
        &self,
        s: &Shared,
        account_id: &str,
        device_id: &str,
    ) -> Result<NewChallenge, ApiError> {
        let claims = ChallengeClaims {
            id: ordered::make_ordered_token()?.to_string(),
            account_id: account_id.to_owned(),
            device_id: device_id.to_owned(),
            service: self.client.name.clone(),
            binding_message: self.ask.binding_message.clone(),
            context: self.ask.context.clone(),
            mode: self.client.mode,
            candidates: self.candidates.to_vec(),
            iat: self.iat,
            exp: self.exp,
            scan: self.ask.scan.clone(),
        };
        let signer = s.keys.signer(Purpose::Challenge, s.clock.now());
        let jws = jws::sign_json(&signer.key, TYP_CHALLENGE, &claims)
            .map_err(|e| ApiError::internal(&e))?;
        Ok(NewChallenge {
            id: claims.id,
            device_id: device_id.to_owned(),
            jws,
            exp: self.exp,
        })
    }
}

/// Starts a login for `target` on behalf of `client` (see the module guarantees); for the
/// browser login, `attempt` names the attempt the request is linked to.
pub(crate) async fn start(
    s: &Shared,
    client: &ClientRecord,
    target: LoginTarget,
    ask: Ask,
    attempt: Option<&str>,
) -> Result<Start, ApiError> {
    let now = s.clock.now();
    if let Some(held) = target.hold.refusal(now) {
        return Ok(Start::Held(held));
    }
    if target.devices.is_empty() {
        return Ok(Start::NoActiveDevice);
    }
    let devices = eligible_devices(s, client, &target);
    if devices.is_empty() {
        return Ok(Start::NoEligibleDevice);
    }
    let cfg = &s.config;
    let request_id = ordered::make_ordered_token()?.to_string();
    let code = secrets::make_dynamic_code()?;
    let candidates = match client.mode {
        CodeMode::Pick => secrets::make_candidates(&code, cfg.pick_candidates)?,
        CodeMode::Type => Vec::new(),
    };
    let exp = now.saturating_add(secs(cfg.challenge_ttl_secs.min(cfg.ciba_expires_in)));
    let shown = Shown {
        client,
        ask: &ask,
        candidates: &candidates,
        iat: now,
        exp,
    };
    let challenges = devices
        .iter()
        .map(|device_id| shown.sign(s, &target.account_id, device_id))
        .collect::<Result<Vec<_>, _>>()?;
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
        attempt: attempt.map(str::to_owned),
        scan_attempt: ask.scan.clone(),
    };
    let queued = s
        .store
        .requests()
        .queue(request, cfg.max_pending_per_account)
        .await?;
    match queued {
        Queued::Queued => {}
        Queued::TooManyPending => return Ok(Start::TooManyPending),
        Queued::AttemptClosed => return Ok(Start::AttemptClosed),
    }
    for c in &challenges {
        s.wake(&c.device_id, &c.id, c.exp);
    }
    tracing::info!(client = %client.client_id, devices = challenges.len(), "login request queued");
    Ok(Start::Started(Started { request_id, code }))
}

/// The ids of `target`'s devices that meet `client`'s attestation requirements (ADR 0001).
fn eligible_devices(s: &Shared, client: &ClientRecord, target: &LoginTarget) -> Vec<String> {
    let requirements = s.attestation.client_requirements(&client.client_id);
    target
        .devices
        .iter()
        .filter(|d| requirements.accepts(d.hardware_key.as_ref()))
        .map(|d| d.id.clone())
        .collect()
}

/// Signs a throwaway challenge and drops it: the cost of one device's challenge, spent where
/// an answer must take the time a start takes without starting anything.
pub(crate) fn decoy(s: &Shared) -> Result<(), ApiError> {
    let claims = ChallengeClaims {
        id: ordered::make_ordered_token()?.to_string(),
        account_id: String::new(),
        device_id: String::new(),
        service: String::new(),
        binding_message: String::new(),
        context: RequestContext::default(),
        mode: CodeMode::Pick,
        candidates: secrets::make_candidates(&secrets::make_dynamic_code()?, 3)?,
        iat: 0,
        exp: 0,
        scan: None,
    };
    let _ = ordered::make_ordered_token()?;
    let signer = s.keys.signer(Purpose::Challenge, s.clock.now());
    jws::sign_json(&signer.key, TYP_CHALLENGE, &claims).map_err(|e| ApiError::internal(&e))?;
    Ok(())
}
