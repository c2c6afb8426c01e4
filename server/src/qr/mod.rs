// SPDX-License-Identifier: Apache-2.0
//! The verifiers' side of the insured's QR codes: the issuer's public keys, and single-use
//! online redemption (credentials are issued at enrolment, by `credentials`).
//!
//! Guarantees:
//! - Redemption is for registered clients only (HTTP Basic), checks the presentation's device
//!   signature with the key bound at enrolment (a revoked device's presentations are refused)
//!   and its time window, and accepts each presentation (by nonce) once: a second redemption
//!   answers 409 `already_redeemed`, even across restarts (the nonce is in the database).
//! - Redemption is bound to the audience: a client registered with an audience (admin
//!   `add-client --audience`) redeems only presentations addressed to exactly that audience;
//!   a client without one redeems only presentations that name no audience. Anything else is
//!   403 `wrong_audience`, checked after the device signature and before the single use is
//!   spent, so a QR shown to one professional cannot be burnt (or read) by another.

mod redeem;

use std::sync::Arc;

use axum::extract::State;
use axum::Json;

pub(crate) use redeem::redeem;

use vistalid_core::qr::{IssuerKey, IssuerKeySet};

use crate::keyring::Purpose;
use crate::state::Shared;

/// GET the issuer's public keys (JWKS shape), each with its validity window (issue 19:
/// `not_before`, `retired_at`, `not_after`, see `vistalid_core::qr::issuer_keys`): every key
/// published now, the next one from its pre-publication on, a retired one until the last
/// credential it signed has expired.
pub(crate) async fn issuer_keys(State(s): State<Arc<Shared>>) -> Json<IssuerKeySet> {
    let keys: Vec<IssuerKey> = s
        .keys
        .published(Purpose::Issuer, s.clock.now())
        .iter()
        .map(|k| IssuerKey {
            key: k.public(),
            not_before: k.active_at,
            retired_at: k.retired_at,
            not_after: k.expires_at,
        })
        .collect();
    Json(IssuerKeySet::from_keys(&keys))
}
