// SPDX-License-Identifier: Apache-2.0
//! The vault's [`PinGuard`] over HTTP: each account's server evaluates the PIN guesses
//! (`protocol::PATH_PIN_GUESS`) and takes the proofs of successful unlocks
//! (`protocol::PATH_PIN_CONFIRM`).
//!
//! Guarantees:
//! - Every guess is a compact JWS ([`TYP_PIN_GUESS`]) signed by the account's device-tier key,
//!   with a fresh random `jti` and the current `iat`: nobody without the device's files and
//!   keystore can spend its guesses, and a recorded request cannot be sent again.
//! - Every confirmation is a JWS ([`TYP_PIN_CONFIRM`]) signed by the account's confirmation
//!   key (from its PIN tier, so only after a right PIN), also fresh and single-use.
//! - The server's answer is decoded into checked OPRF elements ([`Evaluation::from_bytes`]);
//!   the vault verifies its proof under the pinned key.
//! - Client failures map onto [`PinGuardError`]: no answer is `Unreachable`, the blocked code
//!   is `Blocked`, any other refusal `Refused`, an undecodable answer `BadResponse`.
//! - The calls block the calling thread (the vault runs on tokio's blocking pool) on the
//!   runtime the wallet was called from; no lock is held across them.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

use super::WalletError;
use crate::client::{ClientError, ServerClient};
use crate::clock::Clock;
use crate::jws;
use crate::keys::SigningKey;
use crate::oprf::{BlindedElement, Evaluation};
use crate::protocol::{
    ErrorCode, PinConfirmClaims, PinGuardRequest, PinGuessClaims, TYP_PIN_CONFIRM, TYP_PIN_GUESS,
};
use crate::vault::{GuardAnswer, PinGuard, PinGuardError};

/// One account's server, as the guard reaches it.
pub(super) struct Target {
    /// The account.
    pub(super) account_id: String,
    /// The device id its server gave.
    pub(super) device_id: String,
    /// The account's server.
    pub(super) client: ServerClient,
    /// The account's device-tier key.
    pub(super) unlock_key: SigningKey,
}

/// The HTTP guard of some accounts.
pub(super) struct HttpGuard {
    runtime: tokio::runtime::Handle,
    clock: Arc<dyn Clock>,
    targets: Vec<Target>,
}

impl HttpGuard {
    /// A guard on the current tokio runtime (the wallet's async calls run on one).
    pub(super) fn new(clock: Arc<dyn Clock>, targets: Vec<Target>) -> Result<Self, WalletError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| WalletError::Internal("the wallet must run on a tokio runtime"))?;
        Ok(Self {
            runtime,
            clock,
            targets,
        })
    }

    fn target(&self, account_id: &str) -> Result<&Target, PinGuardError> {
        self.targets
            .iter()
            .find(|t| t.account_id == account_id)
            .ok_or(PinGuardError::UnknownAccount)
    }
}

/// A fresh single-use request id: 16 random bytes, base64url.
fn make_jti() -> Result<String, PinGuardError> {
    let mut jti = [0u8; 16];
    SystemRandom::new()
        .fill(&mut jti)
        .map_err(|_| PinGuardError::Server(ClientError::BadResponse))?;
    Ok(B64URL.encode(jti))
}

fn guard_err(e: ClientError) -> PinGuardError {
    match e {
        ClientError::Server { code, .. }
            if ErrorCode::from_code(&code) == Some(ErrorCode::PinGuardBlocked) =>
        {
            PinGuardError::Blocked
        }
        other => PinGuardError::Server(other),
    }
}

fn signed<T: serde::Serialize>(
    device_id: &str,
    key: &SigningKey,
    typ: &str,
    claims: &T,
) -> Result<PinGuardRequest, PinGuardError> {
    let request = jws::sign_json(key, typ, claims)
        .map_err(|_| PinGuardError::Server(ClientError::BadResponse))?;
    Ok(PinGuardRequest {
        device_id: device_id.to_owned(),
        request,
    })
}

impl PinGuard for HttpGuard {
    fn evaluate(
        &self,
        account_id: &str,
        key_id: &str,
        blinded: &BlindedElement,
    ) -> Result<GuardAnswer, PinGuardError> {
        let t = self.target(account_id)?;
        let claims = PinGuessClaims {
            device_id: t.device_id.clone(),
            key_id: key_id.to_owned(),
            blinded_element: B64URL.encode(blinded.to_bytes()),
            jti: make_jti()?,
            iat: self.clock.now(),
        };
        let body = signed(&t.device_id, &t.unlock_key, TYP_PIN_GUESS, &claims)?;
        let resp = self
            .runtime
            .block_on(t.client.pin_guess(&body))
            .map_err(guard_err)?;
        let element = B64URL
            .decode(&resp.evaluated_element)
            .map_err(|_| PinGuardError::Server(ClientError::BadResponse))?;
        let proof = B64URL
            .decode(&resp.proof)
            .map_err(|_| PinGuardError::Server(ClientError::BadResponse))?;
        let evaluation = Evaluation::from_bytes(&element, &proof)
            .map_err(|_| PinGuardError::Server(ClientError::BadResponse))?;
        Ok(GuardAnswer {
            evaluation,
            guesses_left: resp.guesses_left,
        })
    }

    fn confirm(
        &self,
        account_id: &str,
        key_id: &str,
        confirm_key: &SigningKey,
    ) -> Result<u32, PinGuardError> {
        let t = self.target(account_id)?;
        let claims = PinConfirmClaims {
            device_id: t.device_id.clone(),
            key_id: key_id.to_owned(),
            jti: make_jti()?,
            iat: self.clock.now(),
        };
        let body = signed(&t.device_id, confirm_key, TYP_PIN_CONFIRM, &claims)?;
        let resp = self
            .runtime
            .block_on(t.client.pin_confirm(&body))
            .map_err(guard_err)?;
        Ok(resp.guesses_left)
    }
}
