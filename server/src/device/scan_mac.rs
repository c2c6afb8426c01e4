// SPDX-License-Identifier: Apache-2.0
//! Scan mode (issue 16): the MAC an answer to a scan-mode challenge must carry, checked
//! before the answer is recorded.
//!
//! Guarantees: an answer to a scan-mode challenge without a MAC is `scan_mac_required`
//! (403); one whose MAC does not verify under the attempt's secret over the challenge id and
//! the signed decision is `scan_mac_invalid` (403: another secret, challenge or decision, or
//! the attempt is gone); a MAC on a challenge not in scan mode is `scan_mac_unexpected`
//! (400). A refused answer records nothing: the challenge still waits for its scan.

use axum::http::StatusCode;
use vistalid_core::protocol::{AnswerClaims, ErrorCode};
use vistalid_core::scan;

use crate::api::ApiError;
use crate::state::Shared;
use crate::store::ScanKey;

/// Checks the scan-mode MAC of `claims` (see the module guarantees).
pub(super) async fn check(s: &Shared, claims: &AnswerClaims) -> Result<(), ApiError> {
    let key = s.store.requests().scan_key(&claims.challenge_id).await?;
    let refused = |code: ErrorCode, why: &str| {
        tracing::warn!(code = code.as_str(), "scan-mode answer refused");
        Err(ApiError::new(StatusCode::FORBIDDEN, code, why))
    };
    match (key, claims.scan_mac.as_deref()) {
        // The store's answer step says what is wrong with an unknown challenge.
        (ScanKey::NoChallenge | ScanKey::Plain, None) => Ok(()),
        (ScanKey::NoChallenge | ScanKey::Plain, Some(_)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::ScanMacUnexpected,
            "this challenge is not in scan mode: its answer carries no scan_mac",
        )),
        (ScanKey::Scan(_) | ScanKey::Gone, None) => refused(
            ErrorCode::ScanMacRequired,
            "this challenge is answered only from the login page's QR code (scan_mac)",
        ),
        (ScanKey::Gone, Some(_)) => refused(
            ErrorCode::ScanMacInvalid,
            "the scan_mac does not verify: the login attempt is gone",
        ),
        (ScanKey::Scan(secret), Some(mac)) => {
            if scan::verify_answer_mac(&secret, &claims.challenge_id, claims.decision, mac) {
                Ok(())
            } else {
                refused(
                    ErrorCode::ScanMacInvalid,
                    "the scan_mac does not verify for this challenge and decision",
                )
            }
        }
    }
}
