// SPDX-License-Identifier: Apache-2.0
//! The one error type of the FFI, [`VistalidError`].
//!
//! Guarantees:
//! - Every variant names something the user or the integrating app can act on; the
//!   Kotlin side sees `VistalidException.<Variant>`, the Swift side `VistalidError.<Variant>`.
//! - Core errors map through exhaustive `From` impls (unit-tested below); the messages are
//!   core's `Display` texts, which carry no secrets, PINs or key material.
//! - An exception thrown by a Kotlin or Swift implementation of a foreign trait that is not a
//!   `VistalidError` comes back as [`VistalidError::Internal`], never as a panic.

use vistalid_core::jws::JwsError;
use vistalid_core::keys::KeyError;

/// What went wrong, in terms the app can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum VistalidError {
    /// Wrong PIN: tell the user how many tries are left before the wallet locks.
    #[error("wrong PIN ({tries_left} tries left)")]
    WrongPin {
        /// Tries left before lockout.
        tries_left: u32,
    },
    /// Too many wrong PINs: the wallet is locked; the user must wipe it and enrol again.
    #[error("locked after too many wrong PINs; enrol again")]
    Locked,
    /// The login request expired; the user must start the login again on the service.
    #[error("the request expired; start the login again")]
    ChallengeExpired,
    /// A signature did not verify under the expected key: the data was altered or signed by
    /// someone else. Reject the data; do not retry with the same input.
    #[error("signature does not verify")]
    BadSignature,
    /// The platform keystore cannot be used now (device locked, secure hardware busy or
    /// absent). Retry once the device is unlocked; `reason` says what the platform reported.
    #[error("keystore unavailable: {reason}")]
    KeystoreUnavailable {
        /// The platform's explanation (no secrets).
        reason: String,
    },
    /// The hardware key was invalidated by the platform (e.g. the screen lock was removed):
    /// the wallet cannot be opened any more; wipe it and enrol again.
    #[error("the device key was invalidated; enrol again")]
    KeyInvalidated,
    /// The server could not be reached or the connection broke; retry later when
    /// `retryable`, otherwise check the server address and the network settings.
    #[error("network error (retryable: {retryable})")]
    Network {
        /// Whether the same call may succeed if retried.
        retryable: bool,
    },
    /// The server answered with an error: HTTP `status` and the server's error `code`.
    #[error("server error {status}: {code}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error code (e.g. `invalid_request`).
        code: String,
    },
    /// An argument is malformed (bad JWK, bad token, wrong length…): a bug in the caller or
    /// untrusted data to reject; `reason` names the rule that failed.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// Which rule the input broke.
        reason: String,
    },
    /// Something that should not happen (random generator failure, a foreign callback threw
    /// an unexpected exception). Report it; `reason` helps the bug report.
    #[error("internal error: {reason}")]
    Internal {
        /// What failed.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for VistalidError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Internal {
            reason: format!("foreign callback failed: {}", e.reason),
        }
    }
}

impl From<KeyError> for VistalidError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::InvalidPublicKey
            | KeyError::InvalidPrivateKey
            | KeyError::InvalidEncoding(_) => Self::InvalidInput {
                reason: e.to_string(),
            },
            KeyError::BadSignature => Self::BadSignature,
            KeyError::Random => Self::Internal {
                reason: e.to_string(),
            },
            // KeyError is #[non_exhaustive]: a variant added in core lands here until mapped.
            _ => Self::Internal {
                reason: e.to_string(),
            },
        }
    }
}

impl From<JwsError> for VistalidError {
    fn from(e: JwsError) -> Self {
        match e {
            JwsError::Malformed | JwsError::UnsupportedHeader => Self::InvalidInput {
                reason: e.to_string(),
            },
            JwsError::BadSignature => Self::BadSignature,
            JwsError::Key(k) => k.into(),
            // JwsError is #[non_exhaustive]: a variant added in core lands here until mapped.
            _ => Self::Internal {
                reason: e.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_errors_map_to_actionable_variants() {
        assert!(matches!(
            VistalidError::from(KeyError::InvalidPublicKey),
            VistalidError::InvalidInput { .. }
        ));
        assert!(matches!(
            VistalidError::from(KeyError::InvalidPrivateKey),
            VistalidError::InvalidInput { .. }
        ));
        assert_eq!(
            VistalidError::from(KeyError::InvalidEncoding("crv")),
            VistalidError::InvalidInput {
                reason: "invalid key encoding: crv".into()
            }
        );
        assert_eq!(
            VistalidError::from(KeyError::BadSignature),
            VistalidError::BadSignature
        );
        assert!(matches!(
            VistalidError::from(KeyError::Random),
            VistalidError::Internal { .. }
        ));
    }

    #[test]
    fn jws_errors_map_to_actionable_variants() {
        assert!(matches!(
            VistalidError::from(JwsError::Malformed),
            VistalidError::InvalidInput { .. }
        ));
        assert!(matches!(
            VistalidError::from(JwsError::UnsupportedHeader),
            VistalidError::InvalidInput { .. }
        ));
        assert_eq!(
            VistalidError::from(JwsError::BadSignature),
            VistalidError::BadSignature
        );
        assert_eq!(
            VistalidError::from(JwsError::Key(KeyError::BadSignature)),
            VistalidError::BadSignature
        );
    }

    #[test]
    fn unexpected_foreign_exception_becomes_internal() {
        let e = VistalidError::from(uniffi::UnexpectedUniFFICallbackError::new("boom"));
        assert_eq!(
            e,
            VistalidError::Internal {
                reason: "foreign callback failed: boom".into()
            }
        );
    }
}
