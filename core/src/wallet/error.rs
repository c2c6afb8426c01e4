// SPDX-License-Identifier: Apache-2.0
//! The one error type of the wallet, and how the errors of the layers below map onto it.
//!
//! Guarantees: every variant names what the user or the integrator can do; the mappings from
//! [`VaultError`], [`ClientError`] and [`ChallengeError`] are exhaustive (a new variant below
//! fails to compile here), and no variant carries a PIN, a key or a secret.

use crate::challenge::ChallengeError;
use crate::client::ClientError;
use crate::keystore::KeystoreError;
use crate::protocol::ErrorCode;
use crate::vault::VaultError;

/// Errors of the wallet, each naming what the user or integrator can do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// Wrong PIN; `tries_left` more tries before the vault locks.
    #[error("wrong PIN ({tries_left} tries left)")]
    WrongPin {
        /// Tries left before lockout.
        tries_left: u32,
    },
    /// Too many wrong PINs: the vault is locked; wipe and enrol again.
    #[error("locked after too many wrong PINs; enrol again")]
    Locked,
    /// A PIN was tried too soon after a wrong one; wait and retry.
    #[error("wait {retry_after_secs} s before the next try")]
    Backoff {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The new PIN does not meet the policy (the reason names the rule, not the digits).
    #[error("PIN refused: {0}")]
    WeakPin(&'static str),
    /// No vault yet: enrol an account first.
    #[error("no account enrolled yet")]
    NotEnrolled,
    /// No account with that id in this wallet.
    #[error("no such account")]
    NoSuchAccount,
    /// The server enrolled an account this wallet already holds (same account id): refused,
    /// the existing account is kept as it was and nothing was written. The server has spent
    /// the activation code; nothing local is lost.
    #[error("this account is already in the wallet; nothing was changed")]
    AccountAlreadyEnrolled,
    /// The challenge id is not among the fetched pending challenges.
    #[error("no such pending challenge; fetch challenges again")]
    NoSuchChallenge,
    /// The challenge expired; the user must start the login again.
    #[error("the request expired; start the login again")]
    ChallengeExpired,
    /// The challenge was already answered (replay).
    #[error("this request was already answered")]
    ChallengeReplayed,
    /// The code given is not well-formed or not one of the choices.
    #[error("that code is not one of the choices")]
    InvalidCode,
    /// The server says the code was wrong; the login was refused.
    #[error("wrong code: the login was refused")]
    WrongCode,
    /// A server message was not signed by the pinned server key.
    #[error("server signature invalid")]
    BadServerSignature,
    /// The server's answer is malformed (e.g. an invalid key).
    #[error("unexpected answer from the server")]
    BadServerResponse,
    /// The server URL is not https (http is allowed on loopback only).
    #[error("server URL must be https")]
    InsecureServerUrl,
    /// The server could not be reached; `retryable` when trying again later may help.
    #[error("network error (retryable: {retryable})")]
    Network {
        /// Whether a retry may succeed.
        retryable: bool,
    },
    /// The server refused the request.
    #[error("server error {status}: {code}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error code.
        code: String,
    },
    /// The server does not accept this device as genuine (ADR 0001): `missing` when its policy
    /// needs what the device did not send (an attestation at enrolment: this keystore cannot
    /// attest and unattested keystores are not let in; or the hardware key's co-signature on
    /// an answer: the wallet was copied to a keystore without it), otherwise the device's
    /// attestation or co-signature did not verify (an emulator, a rooted or unlocked phone, a
    /// modified app, or a policy this phone falls short of). Enrol on a genuine device.
    #[error("the server does not accept this device as genuine")]
    DeviceNotTrusted {
        /// The server wanted evidence the device did not send (`attestation_required`);
        /// `false`: what it sent did not verify (`attestation_invalid`).
        missing: bool,
    },
    /// The account has no QR credential (a practitioner account, or enrolment without one).
    #[error("this account has no QR credential")]
    NoCredential,
    /// Stored data is damaged or was tampered with.
    #[error("stored data is corrupt")]
    Corrupt,
    /// The vault belongs to another device or the platform key was lost: enrol again.
    #[error("the vault cannot be opened with this device's key; enrol again")]
    KeystoreMismatch,
    /// The platform keystore failed.
    #[error("platform keystore error: {0}")]
    Keystore(KeystoreError),
    /// A file operation failed.
    #[error("storage error: {0:?}")]
    Storage(std::io::ErrorKind),
    /// An internal invariant failed (a bug); the message has no secrets.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl From<VaultError> for WalletError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::WrongPin { tries_left } => Self::WrongPin { tries_left },
            VaultError::Locked => Self::Locked,
            VaultError::Backoff { retry_after_secs } => Self::Backoff { retry_after_secs },
            VaultError::WeakPin(why) => Self::WeakPin(why),
            VaultError::NotFound => Self::NotEnrolled,
            VaultError::KeystoreMismatch => Self::KeystoreMismatch,
            VaultError::Keystore(k) => Self::Keystore(k),
            VaultError::Io(kind) => Self::Storage(kind),
            VaultError::Corrupt | VaultError::UnsupportedVersion(_) => Self::Corrupt,
            VaultError::AlreadyExists => Self::Internal("vault already exists"),
            VaultError::Random => Self::Internal("random generator failure"),
            VaultError::InvalidConfig(why) => Self::Internal(why),
            // Only when the app changes the PIN while another call holds the vault unlocked.
            VaultError::Stale => Self::Internal("the PIN was changed during the operation; retry"),
        }
    }
}

impl WalletError {
    /// The wallet's error for a server refusal `e` of an enrolment or an answer: the
    /// attestation codes become [`WalletError::DeviceNotTrusted`], the rest maps as usual.
    pub(super) fn from_refusal(e: ClientError) -> Self {
        if let ClientError::Server { code, .. } = &e {
            match ErrorCode::from_code(code) {
                Some(ErrorCode::AttestationRequired) => {
                    return Self::DeviceNotTrusted { missing: true }
                }
                Some(ErrorCode::AttestationInvalid) => {
                    return Self::DeviceNotTrusted { missing: false }
                }
                _ => {}
            }
        }
        e.into()
    }
}

impl From<ClientError> for WalletError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::InsecureUrl => Self::InsecureServerUrl,
            ClientError::Network { retryable } => Self::Network { retryable },
            ClientError::Server { status, code } => Self::Server { status, code },
            ClientError::BadResponse => Self::BadServerResponse,
        }
    }
}

impl From<ChallengeError> for WalletError {
    fn from(e: ChallengeError) -> Self {
        match e {
            ChallengeError::BadServerSignature | ChallengeError::WrongRecipient => {
                Self::BadServerSignature
            }
            ChallengeError::Expired | ChallengeError::BadTime => Self::ChallengeExpired,
            ChallengeError::Replayed => Self::ChallengeReplayed,
            ChallengeError::BadCandidates => Self::BadServerResponse,
            ChallengeError::InvalidCode => Self::InvalidCode,
            ChallengeError::Signing => Self::Internal("signing failed"),
            ChallengeError::UnsafeText => Self::BadServerResponse,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_errors_map_to_what_the_user_can_do() {
        use VaultError as V;
        use WalletError as W;
        let cases = [
            (V::WrongPin { tries_left: 2 }, W::WrongPin { tries_left: 2 }),
            (V::Locked, W::Locked),
            (
                V::Backoff {
                    retry_after_secs: 5,
                },
                W::Backoff {
                    retry_after_secs: 5,
                },
            ),
            (
                V::WeakPin("all the same digit"),
                W::WeakPin("all the same digit"),
            ),
            (V::NotFound, W::NotEnrolled),
            (V::Corrupt, W::Corrupt),
            (V::UnsupportedVersion(1), W::Corrupt),
            (V::KeystoreMismatch, W::KeystoreMismatch),
            (
                V::Keystore(KeystoreError::BadOutputLength(0)),
                W::Keystore(KeystoreError::BadOutputLength(0)),
            ),
            (
                V::Io(std::io::ErrorKind::PermissionDenied),
                W::Storage(std::io::ErrorKind::PermissionDenied),
            ),
        ];
        for (vault, wallet) in cases {
            assert_eq!(W::from(vault), wallet);
        }
        for internal in [V::AlreadyExists, V::Random, V::InvalidConfig("p"), V::Stale] {
            assert!(matches!(W::from(internal), W::Internal(_)));
        }
    }

    #[test]
    fn attestation_refusals_are_typed_and_other_refusals_map_as_usual() {
        let server = |code: &str| ClientError::Server {
            status: 403,
            code: code.into(),
        };
        assert_eq!(
            WalletError::from_refusal(server("attestation_required")),
            WalletError::DeviceNotTrusted { missing: true }
        );
        assert_eq!(
            WalletError::from_refusal(server("attestation_invalid")),
            WalletError::DeviceNotTrusted { missing: false }
        );
        assert_eq!(
            WalletError::from_refusal(server("invalid_activation_code")),
            WalletError::Server {
                status: 403,
                code: "invalid_activation_code".into()
            }
        );
        assert_eq!(
            WalletError::from_refusal(ClientError::Network { retryable: true }),
            WalletError::Network { retryable: true }
        );
    }
}
