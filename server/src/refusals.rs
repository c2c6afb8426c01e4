// SPDX-License-Identifier: Apache-2.0
//! Attestation refusals (ADR 0001) as the features answer them: a typed error for the
//! wallet or the relying party, counted in the store.
//!
//! Guarantees: every refusal is 403 with `attestation_required` or `attestation_invalid`, its
//! description names the failed check (never a value from the request), and it is counted by
//! stage, code and check ([`crate::store::Refusals`]); a failed count is logged, never turned
//! into another answer.

use axum::http::StatusCode;

use crate::api::ApiError;
use crate::attestation::AttestationRefusal;
use crate::domain::RefusalStage;
use crate::state::Shared;
use crate::store::RefusalCount;

/// Counts `refusal` at `stage` and returns the error to answer.
pub(crate) async fn refuse(
    s: &Shared,
    stage: RefusalStage,
    refusal: &AttestationRefusal,
) -> ApiError {
    let count = RefusalCount {
        stage,
        code: refusal.code(),
        reason: refusal.reason_kind(),
        now: s.clock.now(),
    };
    if let Err(e) = s.store.refusals().count(count).await {
        tracing::warn!(error = %e, "attestation refusal not counted");
    }
    tracing::info!(
        stage = ?stage,
        code = %refusal.code(),
        reason = refusal.reason_kind(),
        "attestation refusal"
    );
    ApiError::new(StatusCode::FORBIDDEN, refusal.code(), refusal.to_string())
}
