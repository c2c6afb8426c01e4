// SPDX-License-Identifier: Apache-2.0
//! One PIN guess: the server's VOPRF evaluation of the wallet's blinded element (issue 18).
//!
//! Guarantees: the request is signed by the device's registered device-tier key, fresh and
//! single-use; the guess is counted and committed before anything is evaluated (a crash
//! after the commit still counts it), refused at the limit (the key is then erased), and the
//! evaluation carries its DLEQ proof.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use vistalid_core::oprf::OprfServerKey;
use vistalid_core::pin_guard;
use vistalid_core::protocol::{PinGuardRequest, PinGuessResponse};

use super::pin_guard::{check_refusal, guard_request, keys_of, store_refusal, stored_key};
use crate::api::{ApiError, JsonBody};
use crate::state::Shared;
use crate::store::GuessOutcome;

/// POST: one counted PIN guess.
pub(crate) async fn pin_guess(
    State(s): State<Arc<Shared>>,
    JsonBody(req): JsonBody<PinGuardRequest>,
) -> Result<Json<PinGuessResponse>, ApiError> {
    let keys = keys_of(&s, &req).await?;
    let now = s.clock.now();
    let guess =
        pin_guard::check_guess(&req, &stored_key(&keys.unlock_key)?, now).map_err(check_refusal)?;
    let c = &guess.claims;
    let counted = s
        .store
        .pin_guards()
        .count_guess(guard_request(&c.device_id, &c.key_id, &c.jti, now))
        .await?;
    let (secret_key, guesses_left) = match counted {
        GuessOutcome::Counted {
            secret_key,
            guesses_left,
        } => (secret_key, guesses_left),
        GuessOutcome::Refused(why) => {
            tracing::warn!(device_id = %c.device_id, ?why, "PIN guess refused");
            return Err(store_refusal(why));
        }
    };
    // Test only (`ServerConfig::test_hold_after_guess_ms`, 0 in production): the window in
    // which the kill test stops the server, after the count is committed, before the answer.
    if s.config.test_hold_after_guess_ms > 0 {
        eprintln!("test hold: PIN guess counted");
        tokio::time::sleep(Duration::from_millis(s.config.test_hold_after_guess_ms)).await;
    }
    let key = OprfServerKey::from_bytes(&secret_key)
        .map_err(|_| ApiError::internal(&"corrupt OPRF key"))?;
    let evaluation = key
        .evaluate(&guess.blinded)
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(PinGuessResponse {
        evaluated_element: B64URL.encode(evaluation.element_bytes()),
        proof: B64URL.encode(evaluation.proof_bytes()),
        guesses_left,
    }))
}
