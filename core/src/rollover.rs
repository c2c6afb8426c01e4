// SPDX-License-Identifier: Apache-2.0
//! The challenge key's rollover statement (issue 19): how a server moves the wallets that
//! pinned its challenge-signing key at enrolment to its next key, without re-enrolment.
//!
//! A statement is a compact JWS (`typ` [`TYP_KEY_ROLLOVER`]) signed by the **old** key,
//! naming the server's origin (`iss`), the old key's id, the new key (a JWK and its id) and
//! the time from which the new key signs challenges (`not_before`).
//!
//! Guarantees: [`verify_rollover`] returns the new key only when the statement's signature
//! verifies under the pinned key, its header `kid` and `old_kid` name the pinned key, `iss`
//! is the server the wallet enrolled with, the new key is a valid P-256 key whose thumbprint
//! is `new_kid` and differs from the old one; anything else is a typed
//! [`RolloverError`], and nothing is re-pinned.

use serde::{Deserialize, Serialize};

use crate::jws;
use crate::keys::{Jwk, PublicKey, SigningKey};

/// `typ` of a key-rollover statement.
pub const TYP_KEY_ROLLOVER: &str = "vistalid-key-rollover+jwt";

/// Why a rollover statement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloverError {
    /// Not a well-formed statement, or not signed by the pinned key (a forged statement, or
    /// one signed by a key this wallet never pinned).
    #[error("key rollover not signed by the pinned server key")]
    NotSignedByPinnedKey,
    /// The statement is about another key or another server than the pinned one.
    #[error("key rollover names another key or server")]
    WrongSubject,
    /// The new key is not a valid P-256 key, its id does not match it, or it is the old key.
    #[error("key rollover names an invalid new key")]
    BadNewKey,
}

/// The claims of a rollover statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloverClaims {
    /// The server's base URL (its origin as the wallet enrolled with it).
    pub iss: String,
    /// Id (RFC 7638 thumbprint) of the old key, which signs the statement.
    pub old_kid: String,
    /// Id of the new key.
    pub new_kid: String,
    /// The new key.
    pub new_key: Jwk,
    /// From then on (seconds since the epoch) the new key signs challenges.
    pub not_before: i64,
    /// When the statement was made.
    pub iat: i64,
}

/// The body of the server's answer to `GET` [`crate::protocol::PATH_KEY_ROLLOVER`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloverResponse {
    /// The statement (compact JWS).
    pub statement: String,
}

/// The server's side: `old` signs a statement moving wallets to `new` from `not_before`.
pub fn sign_rollover(
    old: &SigningKey,
    new: &PublicKey,
    issuer: &str,
    not_before: i64,
    now: i64,
) -> Result<String, jws::JwsError> {
    let claims = RolloverClaims {
        iss: issuer.to_owned(),
        old_kid: old.public_key().thumbprint(),
        new_kid: new.thumbprint(),
        new_key: new.to_jwk(),
        not_before,
        iat: now,
    };
    jws::sign_json(old, TYP_KEY_ROLLOVER, &claims)
}

/// The wallet's side: checks `statement` against the `pinned` key and the `server_url` the
/// account enrolled with (see the module's guarantees); the new key and its claims.
pub fn verify_rollover(
    statement: &str,
    pinned: &PublicKey,
    server_url: &str,
) -> Result<(PublicKey, RolloverClaims), RolloverError> {
    let pinned_kid = pinned.thumbprint();
    let header = jws::peek_header(statement).map_err(|_| RolloverError::NotSignedByPinnedKey)?;
    if header.kid.as_deref() != Some(pinned_kid.as_str()) {
        return Err(RolloverError::NotSignedByPinnedKey);
    }
    let claims: RolloverClaims = jws::verify_json(statement, pinned, Some(TYP_KEY_ROLLOVER))
        .map_err(|_| RolloverError::NotSignedByPinnedKey)?;
    if claims.old_kid != pinned_kid
        || claims.iss.trim_end_matches('/') != server_url.trim_end_matches('/')
    {
        return Err(RolloverError::WrongSubject);
    }
    let new = PublicKey::from_jwk(&claims.new_key).map_err(|_| RolloverError::BadNewKey)?;
    if new.thumbprint() != claims.new_kid || claims.new_kid == pinned_kid {
        return Err(RolloverError::BadNewKey);
    }
    Ok((new, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://idp.example.fr";

    #[test]
    fn a_statement_by_the_pinned_key_moves_to_the_new_key() {
        let (old, new) = (
            SigningKey::make().expect("k"),
            SigningKey::make().expect("k"),
        );
        let s = sign_rollover(&old, &new.public_key(), URL, 100, 50).expect("sign");
        let (key, claims) = verify_rollover(&s, &old.public_key(), URL).expect("verify");
        assert_eq!(key, new.public_key());
        assert_eq!(claims.not_before, 100);
        assert_eq!(claims.new_kid, new.public_key().thumbprint());
    }

    #[test]
    fn every_bad_statement_is_refused_with_its_reason() {
        let (old, new, other) = (
            SigningKey::make().expect("k"),
            SigningKey::make().expect("k"),
            SigningKey::make().expect("k"),
        );
        let pinned = old.public_key();
        // Signed by a key the wallet did not pin (an attacker's, or the new key itself).
        for signer in [&other, &new] {
            let s = sign_rollover(signer, &new.public_key(), URL, 1, 1).expect("sign");
            assert_eq!(
                verify_rollover(&s, &pinned, URL),
                Err(RolloverError::NotSignedByPinnedKey)
            );
        }
        // Another server.
        let s = sign_rollover(&old, &new.public_key(), "https://evil.example", 1, 1).expect("s");
        assert_eq!(
            verify_rollover(&s, &pinned, URL),
            Err(RolloverError::WrongSubject)
        );
        // A new key whose id does not match it, or the old key again.
        let mut claims = RolloverClaims {
            iss: URL.into(),
            old_kid: pinned.thumbprint(),
            new_kid: other.public_key().thumbprint(),
            new_key: new.public_key().to_jwk(),
            not_before: 1,
            iat: 1,
        };
        let s = jws::sign_json(&old, TYP_KEY_ROLLOVER, &claims).expect("s");
        assert_eq!(
            verify_rollover(&s, &pinned, URL),
            Err(RolloverError::BadNewKey)
        );
        claims.new_kid = pinned.thumbprint();
        claims.new_key = pinned.to_jwk();
        let s = jws::sign_json(&old, TYP_KEY_ROLLOVER, &claims).expect("s");
        assert_eq!(
            verify_rollover(&s, &pinned, URL),
            Err(RolloverError::BadNewKey)
        );
        // A challenge-typed token is no statement; garbage neither.
        let s = jws::sign_json(&old, "vistalid-challenge+jwt", &claims).expect("s");
        assert_eq!(
            verify_rollover(&s, &pinned, URL),
            Err(RolloverError::NotSignedByPinnedKey)
        );
        assert_eq!(
            verify_rollover("a.b.c", &pinned, URL),
            Err(RolloverError::NotSignedByPinnedKey)
        );
    }
}
