// SPDX-License-Identifier: Apache-2.0
//! ID tokens: the claims of a granted login and their ES256 signature (CIBA's token endpoint
//! today, the authorization-code flow next).
//!
//! Guarantees: a token is an ES256 JWT (`typ` JWT, `kid` = the JWKS key's thumbprint) with
//! `iss` (this server), `sub` (the account id: stable, opaque, not the RPPS number), `aud`
//! (the client id), `iat`, `exp` (`token_ttl_secs` later), `auth_time` (the approval),
//! `acr` ([`ACR`]), `amr` ([`AMR`]) and Pro Santé Connect's identity claims.

use serde_json::json;

use crate::api::ApiError;
use crate::domain::secs;
use crate::state::Shared;
use crate::store::Grant;

/// Value of the `acr` claim of every ID token: the Pro Santé Connect level its relying
/// parties ask for (`acr_values=eidas1`). A device-bound key unlocked by a PIN, with a
/// *code dynamique* matched by the user.
pub const ACR: &str = "eidas1";
/// Value of the `amr` claim of every ID token (RFC 8176): `pin` (the wallet PIN unlocks the
/// key), `hwk` (proof of possession of the device-bound key), `mfa` (both).
pub const AMR: [&str; 3] = ["pin", "hwk", "mfa"];

/// The signed ID token of `grant` for `client_id`, issued at `now`.
pub(crate) fn sign(
    s: &Shared,
    client_id: &str,
    grant: &Grant,
    now: i64,
) -> Result<String, ApiError> {
    let who = &grant.identity;
    let mut claims = json!({
        "iss": s.issuer,
        "sub": grant.account_id,
        "aud": client_id,
        "iat": now,
        "exp": now.saturating_add(secs(s.config.token_ttl_secs)),
        "auth_time": grant.auth_time,
        "acr": ACR,
        "amr": AMR,
        "SubjectNameID": who.subject_name_id,
        "preferred_username": who.subject_name_id,
        "given_name": who.given_name,
        "family_name": who.family_name,
        "vistalid_account_kind": grant.kind,
    });
    if let Some(p) = &who.profession {
        claims["SubjectRefPro"] = json!({ "exercices": [ { "codeProfession": p } ] });
    }
    vistalid_core::jws::sign_json(&s.key, "JWT", &claims).map_err(|e| ApiError::internal(&e))
}
