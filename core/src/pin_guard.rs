// SPDX-License-Identifier: Apache-2.0
//! The server's checks of the PIN-guard requests ([`crate::protocol::PATH_PIN_GUESS`],
//! [`crate::protocol::PATH_PIN_CONFIRM`]), here so the server and the tests share one
//! implementation with the wallet's side (`wallet/guard.rs` builds the requests).
//!
//! Guarantees: a request is accepted only when its JWS is ES256 with the expected `typ`,
//! verifies under the device's registered key, names the device of the body, carries a `jti`
//! of 16 to 64 base64url characters and an `iat` within [`PIN_GUARD_MAX_SKEW_SECS`] of `now`;
//! a guess's blinded element is a valid P-256 point other than the identity (33 compressed
//! bytes). Every refusal is a typed [`PinGuardRequestError`] naming the rule, never a panic.
//! Whether the `jti` was seen before is the caller's store's to check (single use).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;

use crate::jws::{self, JwsError};
use crate::keys::PublicKey;
use crate::oprf::BlindedElement;
use crate::protocol::{
    PinConfirmClaims, PinGuardRequest, PinGuessClaims, PIN_GUARD_MAX_SKEW_SECS, TYP_PIN_CONFIRM,
    TYP_PIN_GUESS,
};

/// Shortest `jti` accepted (16 random bytes in base64url are 22 characters).
pub const MIN_JTI_LEN: usize = 16;
/// Longest `jti` accepted.
pub const MAX_JTI_LEN: usize = 64;

/// Why a PIN-guard request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PinGuardRequestError {
    /// The JWS or its claims do not parse (or `typ`/`alg` is not the expected one).
    #[error("the request is not a well-formed signed PIN-guard request")]
    Malformed,
    /// The signature does not verify under the device's registered key.
    #[error("the request's signature does not verify")]
    BadSignature,
    /// The signed claims name another device than the body.
    #[error("the request names another device")]
    WrongDevice,
    /// The `jti` is too short, too long or not base64url.
    #[error("the request id (jti) is not acceptable")]
    BadJti,
    /// The `iat` is too far from the server's clock.
    #[error("the request is stale or from the future")]
    Stale,
    /// The blinded element is not a valid P-256 point other than the identity.
    #[error("the blinded element is not a valid point")]
    InvalidElement,
}

/// A checked guess: its claims and its blinded element.
#[derive(Debug, Clone)]
pub struct CheckedGuess {
    /// The signed claims.
    pub claims: PinGuessClaims,
    /// The blinded element, parsed and checked.
    pub blinded: BlindedElement,
}

fn verified<T: for<'de> serde::Deserialize<'de>>(
    body: &PinGuardRequest,
    key: &PublicKey,
    typ: &str,
) -> Result<T, PinGuardRequestError> {
    jws::verify_json(&body.request, key, Some(typ)).map_err(|e| match e {
        JwsError::BadSignature => PinGuardRequestError::BadSignature,
        _ => PinGuardRequestError::Malformed,
    })
}

pub(crate) fn check_common(
    body: &PinGuardRequest,
    device_id: &str,
    jti: &str,
    iat: i64,
    now: i64,
) -> Result<(), PinGuardRequestError> {
    if device_id != body.device_id {
        return Err(PinGuardRequestError::WrongDevice);
    }
    let jti_ok = (MIN_JTI_LEN..=MAX_JTI_LEN).contains(&jti.len())
        && B64URL.decode(jti).is_ok_and(|b| !b.is_empty());
    if !jti_ok {
        return Err(PinGuardRequestError::BadJti);
    }
    if now.abs_diff(iat) > PIN_GUARD_MAX_SKEW_SECS.unsigned_abs() {
        return Err(PinGuardRequestError::Stale);
    }
    Ok(())
}

/// Checks a guess request under the device's registered device-tier key.
pub fn check_guess(
    body: &PinGuardRequest,
    unlock_key: &PublicKey,
    now: i64,
) -> Result<CheckedGuess, PinGuardRequestError> {
    let claims: PinGuessClaims = verified(body, unlock_key, TYP_PIN_GUESS)?;
    check_common(body, &claims.device_id, &claims.jti, claims.iat, now)?;
    let bytes = B64URL
        .decode(&claims.blinded_element)
        .map_err(|_| PinGuardRequestError::InvalidElement)?;
    let blinded =
        BlindedElement::from_bytes(&bytes).map_err(|_| PinGuardRequestError::InvalidElement)?;
    Ok(CheckedGuess { claims, blinded })
}

/// Checks a confirmation request under the device's registered confirmation key.
pub fn check_confirm(
    body: &PinGuardRequest,
    confirm_key: &PublicKey,
    now: i64,
) -> Result<PinConfirmClaims, PinGuardRequestError> {
    let claims: PinConfirmClaims = verified(body, confirm_key, TYP_PIN_CONFIRM)?;
    check_common(body, &claims.device_id, &claims.jti, claims.iat, now)?;
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;
    use crate::oprf;

    const NOW: i64 = 1_800_000_000;

    fn guess(key: &SigningKey, claims: &PinGuessClaims, device: &str) -> PinGuardRequest {
        PinGuardRequest {
            device_id: device.into(),
            request: jws::sign_json(key, TYP_PIN_GUESS, claims).expect("sign"),
        }
    }

    fn claims() -> PinGuessClaims {
        let (_, blinded) = oprf::blind(b"k_hw").expect("blind");
        PinGuessClaims {
            device_id: "dev-1".into(),
            key_id: "k".into(),
            blinded_element: B64URL.encode(blinded.to_bytes()),
            jti: B64URL.encode([7u8; 16]),
            iat: NOW,
        }
    }

    #[test]
    fn a_guess_is_checked_rule_by_rule() {
        let key = SigningKey::make().expect("key");
        let public = key.public_key();
        let good = claims();
        assert!(check_guess(&guess(&key, &good, "dev-1"), &public, NOW).is_ok());
        let other = SigningKey::make().expect("key");
        let refused = |c: &PinGuessClaims, signer: &SigningKey, device: &str, now: i64| {
            check_guess(&guess(signer, c, device), &public, now).err()
        };
        use PinGuardRequestError as E;
        assert_eq!(refused(&good, &other, "dev-1", NOW), Some(E::BadSignature));
        assert_eq!(refused(&good, &key, "dev-2", NOW), Some(E::WrongDevice));
        assert_eq!(refused(&good, &key, "dev-1", NOW + 121), Some(E::Stale));
        assert_eq!(refused(&good, &key, "dev-1", NOW - 121), Some(E::Stale));
        assert_eq!(refused(&good, &key, "dev-1", i64::MIN), Some(E::Stale));
        for jti in ["", "short", "!!!!!!!!!!!!!!!!!!!!!!", &"A".repeat(65)] {
            let c = PinGuessClaims {
                jti: jti.into(),
                ..good.clone()
            };
            assert_eq!(refused(&c, &key, "dev-1", NOW), Some(E::BadJti), "{jti:?}");
        }
        // About half of all x-coordinates have no point: take the first small one.
        let off_curve = (0u8..=255)
            .map(|x| {
                let mut p = [0u8; 33];
                p[0] = 2;
                p[32] = x;
                p
            })
            .find(|p| BlindedElement::from_bytes(p).is_err())
            .expect("an x off the curve");
        let identity_ish = [0u8; 33];
        for element in [
            B64URL.encode(off_curve),
            B64URL.encode(identity_ish),
            B64URL.encode([0u8]),
            B64URL.encode([4u8; 65]),
            "not base64!".into(),
        ] {
            let c = PinGuessClaims {
                blinded_element: element,
                ..good.clone()
            };
            assert_eq!(refused(&c, &key, "dev-1", NOW), Some(E::InvalidElement));
        }
        // A confirmation token is no guess (and the other way round).
        let confirm = PinConfirmClaims {
            device_id: "dev-1".into(),
            key_id: "k".into(),
            jti: good.jti.clone(),
            iat: NOW,
        };
        let as_confirm = PinGuardRequest {
            device_id: "dev-1".into(),
            request: jws::sign_json(&key, TYP_PIN_CONFIRM, &confirm).expect("sign"),
        };
        assert_eq!(
            check_guess(&as_confirm, &public, NOW).err(),
            Some(E::Malformed)
        );
        assert!(check_confirm(&as_confirm, &public, NOW).is_ok());
        assert_eq!(
            check_confirm(&guess(&key, &good, "dev-1"), &public, NOW).err(),
            Some(E::Malformed)
        );
        let garbage = PinGuardRequest {
            device_id: "dev-1".into(),
            request: "a.b".into(),
        };
        assert_eq!(
            check_guess(&garbage, &public, NOW).err(),
            Some(E::Malformed)
        );
    }
}
