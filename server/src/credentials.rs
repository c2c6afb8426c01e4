// SPDX-License-Identifier: Apache-2.0
//! QR credential issuance for insured accounts, at enrolment (used by `device`; the `qr`
//! feature redeems what this issues).
//!
//! Guarantees: a credential binds the account's identity to the enrolled device key, is
//! signed by the issuer key (a key of its own, not the OIDC key), is valid one year, and its
//! id is recorded with the device before it is handed out.

use vistalid_core::keys::{Jwk, PublicKey};
use vistalid_core::protocol::Identity;
use vistalid_core::qr::credential::{self, CredentialClaims};

use crate::api::ApiError;
use crate::keyring::Purpose;
use crate::state::Shared;
use crate::store::NewCredential;

/// Validity of an issued credential: one year, then the insured enrols again.
pub(crate) const VALIDITY_SECS: i64 = 365 * 24 * 3600;

/// Issues and records the credential of an insured account's newly enrolled device; returns
/// its bytes (COSE_Sign1) and the public JWK of the issuer key that signed it (the one that
/// signs now, issue 19).
pub(crate) async fn issue(
    s: &Shared,
    account_id: &str,
    device_id: &str,
    identity: &Identity,
    device_key: &PublicKey,
) -> Result<(Vec<u8>, Jwk), ApiError> {
    let now = s.clock.now();
    let id = credential::make_credential_id().map_err(|e| ApiError::internal(&e))?;
    let claims = CredentialClaims {
        issuer: s.issuer.clone(),
        subject: identity.subject_name_id.clone(),
        given_name: identity.given_name.clone(),
        family_name: identity.family_name.clone(),
        credential_id: id.to_vec(),
        issued_at: now,
        expires_at: now.saturating_add(VALIDITY_SECS),
    };
    let signer = s.keys.signer(Purpose::Issuer, now);
    let bytes =
        credential::issue(&signer.key, &claims, device_key).map_err(|e| ApiError::internal(&e))?;
    s.store
        .credentials()
        .record(NewCredential {
            id: id.to_vec(),
            account_id: account_id.to_owned(),
            device_id: device_id.to_owned(),
            issued_at: now,
            expires_at: claims.expires_at,
        })
        .await?;
    Ok((bytes, signer.jwk.clone()))
}
