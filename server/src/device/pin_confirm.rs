// SPDX-License-Identifier: Apache-2.0
//! The proof of a successful unlock: resets the device's PIN-guess count (issue 18).
//!
//! Guarantees: only a request signed by the device's registered confirmation key (whose
//! private half lives in the account's PIN tier, so only a right PIN reaches it), fresh and
//! single-use, resets the count, and only while the device's key exists (a blocked device
//! stays blocked).

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use vistalid_core::pin_guard;
use vistalid_core::protocol::{PinConfirmResponse, PinGuardRequest};

use super::pin_guard::{check_refusal, guard_request, keys_of, store_refusal, stored_key};
use crate::api::{ApiError, JsonBody};
use crate::state::Shared;

/// POST: a confirmation of a successful unlock.
pub(crate) async fn pin_confirm(
    State(s): State<Arc<Shared>>,
    JsonBody(req): JsonBody<PinGuardRequest>,
) -> Result<Json<PinConfirmResponse>, ApiError> {
    let keys = keys_of(&s, &req).await?;
    let now = s.clock.now();
    let c = pin_guard::check_confirm(&req, &stored_key(&keys.confirm_key)?, now)
        .map_err(check_refusal)?;
    let guesses_left = s
        .store
        .pin_guards()
        .confirm(guard_request(&c.device_id, &c.key_id, &c.jti, now))
        .await?
        .map_err(store_refusal)?;
    Ok(Json(PinConfirmResponse { guesses_left }))
}
