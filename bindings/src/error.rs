// SPDX-License-Identifier: Apache-2.0
//! The one error type of the FFI, [`VistalidError`].
//!
//! Guarantees:
//! - Every variant names something the user or the integrating app can act on; the
//!   Kotlin side sees `VistalidException.<Variant>`, the Swift side `VistalidError.<Variant>`.
//! - Core errors map through exhaustive `From` impls, with no catch-all arm (unit-tested
//!   below): core's enums are not `#[non_exhaustive]`, so a variant added in core fails to
//!   compile here until it is mapped, instead of turning into `Internal` unnoticed. The
//!   messages are core's `Display` texts, which carry no secrets, PINs or key material.
//! - An exception thrown by a Kotlin or Swift implementation of a foreign trait that is not a
//!   `VistalidError` comes back as [`VistalidError::Internal`], never as a panic.

use vistalid_core::client::ClientError;
use vistalid_core::jws::JwsError;
use vistalid_core::keys::KeyError;
use vistalid_core::keystore::KeystoreError;
use vistalid_core::vault::PinRefusal;
use vistalid_core::wallet::WalletError;

/// What went wrong, in terms the app can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum VistalidError {
    /// Wrong PIN: tell the user how many tries are left before the wallet locks.
    #[error("{}", PinRefusal::WrongPin { tries_left: *tries_left })]
    WrongPin {
        /// Tries left before lockout.
        tries_left: u32,
    },
    /// Too many wrong PINs on this phone: the wallet is locked; the user must wipe it and
    /// enrol again.
    #[error("{}", PinRefusal::Locked)]
    Locked,
    /// Too many wrong PINs counted by the account's server: it erased its key for this
    /// device, so the account can never be opened again here; the user must enrol it again
    /// (a new activation code from the service).
    #[error("the server blocked this account after too many wrong PINs; enrol it again")]
    BlockedByServer,
    /// The wallet's files were written by an older version and are not migrated: wipe the
    /// wallet and enrol the accounts again.
    #[error("this wallet was made by an older version; enrol again")]
    VaultOutdated,
    /// A PIN was tried too soon after a wrong one: wait `retry_after_secs` and retry.
    #[error("{}", PinRefusal::Backoff { retry_after_secs: *retry_after_secs })]
    Backoff {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The new PIN breaks the PIN policy; `reason` names the rule (never the digits).
    #[error("PIN refused: {reason}")]
    WeakPin {
        /// The rule the PIN broke.
        reason: String,
    },
    /// No account is enrolled in this wallet yet: enrol first.
    #[error("no account enrolled yet")]
    NotEnrolled,
    /// The challenge id is not among the fetched pending challenges: fetch again.
    #[error("no such pending challenge; fetch challenges again")]
    NoSuchChallenge,
    /// This login request was already answered: nothing to do.
    #[error("this request was already answered")]
    ChallengeReplayed,
    /// The code is malformed or not one of the choices; it was not sent: let the user retry.
    #[error("that code is not one of the choices")]
    InvalidCode,
    /// The server says the code was wrong: the login was refused; start it again.
    #[error("wrong code: the login was refused")]
    WrongCode,
    /// The QR presentation (or its credential) has expired: ask for a fresh one.
    #[error("the QR code has expired")]
    QrExpired,
    /// This account has no QR credential (a practitioner account).
    #[error("this account has no QR credential")]
    NoCredential,
    /// This account has no offline code (enrolled before the feature, or with a server that
    /// does not offer it): its logins need the phone's network.
    #[error("this account has no offline code")]
    NoOfflineCode,
    /// The wallet's files are damaged or were tampered with: wipe it and enrol again.
    #[error("stored data is corrupt; enrol again")]
    Corrupt,
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
    /// The app's `PlatformKeystore.prf` answered `length` bytes instead of 32: a bug in the
    /// app's keystore implementation. The wallet refused it before deriving anything (and,
    /// at a first enrolment, before the activation code was spent).
    #[error("the keystore's PRF answered {length} bytes instead of 32")]
    InvalidKeystoreOutput {
        /// The length the keystore answered.
        length: u32,
    },
    /// The server enrolled an account this wallet already holds: the wallet kept that
    /// account as it was and wrote nothing. The activation code is spent on the server.
    #[error("this account is already in the wallet; nothing was changed")]
    AccountAlreadyEnrolled,
    /// The server's key-rollover statement was refused (issue 19): not signed by the key the
    /// wallet pinned at enrolment, or about another key or server. Nothing changed; the
    /// challenges signed by the unknown key stay refused. `reason` is core's.
    #[error("the server's key change was refused: {reason}")]
    KeyRolloverRefused {
        /// Why (core's text).
        reason: String,
    },
    /// The server does not accept this device as genuine: `missing` when it needs what the
    /// device did not send (an attestation: this keystore cannot attest; or the hardware key's
    /// co-signature: the wallet's files were copied to another keystore), otherwise the
    /// device's attestation did not verify (emulator, rooted or unlocked phone, modified app,
    /// or below the server's policy). Tell the user to use the genuine app on a genuine,
    /// up-to-date phone; retrying does not help.
    #[error("the server does not accept this device as genuine")]
    DeviceNotTrusted {
        /// The server wanted evidence the device did not send.
        missing: bool,
    },
    /// Scan mode (issue 16): the scanned text is not a Vistalid login QR code (or was
    /// misread); `reason` names the fault. Ask the user to scan the login page's code again.
    #[error("not a login QR code: {reason}")]
    NotALoginQr {
        /// What is wrong with the text.
        reason: String,
    },
    /// Scan mode: the login QR code comes from `scanned`, a server none of the accounts is
    /// enrolled with (`enrolled`); nothing was sent. Warn the user: a look-alike site.
    #[error("this login QR code comes from {scanned}, but the accounts are with {}", enrolled.join(", "))]
    ScanUnknownServer {
        /// The origin the QR code names.
        scanned: String,
        /// The origins of the accounts' servers.
        enrolled: Vec<String>,
    },
    /// Scan mode: no login request waits for this QR code (the identifier was not entered
    /// yet, or the request expired or was answered): enter it on the page, then scan again.
    #[error("no login request waits for this QR code")]
    ScanNoRequest,
    /// Scan mode: this request can only be answered after scanning the login page's QR code
    /// (`scanLogin`); nothing was sent.
    #[error("scan the QR code shown on the login page to answer this request")]
    ScanRequired,
    /// Scan mode: the server refused the answer's MAC (`code`: `scan_mac_required`,
    /// `scan_mac_invalid` or `scan_mac_unexpected`).
    #[error("the server refused the scanned code: {code}")]
    ScanRefused {
        /// The server's error code.
        code: String,
    },
    /// The server could not be reached or the connection broke; retry later when
    /// `retryable`, otherwise check the server address and the network settings.
    #[error("{}", ClientError::Network { retryable: *retryable })]
    Network {
        /// Whether the same call may succeed if retried.
        retryable: bool,
    },
    /// The server answered with an error: HTTP `status` and the server's error `code`.
    #[error("{}", ClientError::Server { status: *status, code: code.clone() })]
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
        }
    }
}

impl From<KeystoreError> for VistalidError {
    fn from(e: KeystoreError) -> Self {
        match e {
            KeystoreError::Unavailable(reason) => Self::KeystoreUnavailable { reason },
            KeystoreError::KeyInvalidated => Self::KeyInvalidated,
            KeystoreError::BadOutputLength(len) => Self::InvalidKeystoreOutput {
                length: u32::try_from(len).unwrap_or(u32::MAX),
            },
            KeystoreError::Failed(_) => Self::Internal {
                reason: e.to_string(),
            },
        }
    }
}

impl From<PinRefusal> for VistalidError {
    fn from(e: PinRefusal) -> Self {
        match e {
            PinRefusal::WrongPin { tries_left } => Self::WrongPin { tries_left },
            PinRefusal::Locked => Self::Locked,
            PinRefusal::Backoff { retry_after_secs } => Self::Backoff { retry_after_secs },
            PinRefusal::WeakPin(why) => Self::WeakPin {
                reason: why.to_owned(),
            },
        }
    }
}

impl From<ClientError> for VistalidError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Network { retryable } => Self::Network { retryable },
            ClientError::Server { status, code } => Self::Server { status, code },
            ClientError::InsecureUrl | ClientError::BadResponse => Self::InvalidInput {
                reason: e.to_string(),
            },
        }
    }
}

impl From<WalletError> for VistalidError {
    fn from(e: WalletError) -> Self {
        let invalid = |e: &WalletError| Self::InvalidInput {
            reason: e.to_string(),
        };
        match e {
            WalletError::Pin(refusal) => refusal.into(),
            WalletError::Client(e) => e.into(),
            WalletError::BlockedByServer => Self::BlockedByServer,
            WalletError::VaultOutdated => Self::VaultOutdated,
            WalletError::NotEnrolled => Self::NotEnrolled,
            WalletError::NoSuchChallenge => Self::NoSuchChallenge,
            WalletError::ChallengeExpired => Self::ChallengeExpired,
            WalletError::ChallengeReplayed => Self::ChallengeReplayed,
            WalletError::InvalidCode => Self::InvalidCode,
            WalletError::WrongCode => Self::WrongCode,
            WalletError::BadServerSignature => Self::BadSignature,
            WalletError::Corrupt => Self::Corrupt,
            WalletError::NoCredential => Self::NoCredential,
            WalletError::NoOfflineCode => Self::NoOfflineCode,
            WalletError::KeystoreMismatch => Self::KeyInvalidated,
            WalletError::Keystore(k) => k.into(),
            WalletError::AccountAlreadyEnrolled => Self::AccountAlreadyEnrolled,
            WalletError::DeviceNotTrusted { missing } => Self::DeviceNotTrusted { missing },
            WalletError::NoSuchAccount
            | WalletError::InvalidPushToken
            | WalletError::InvalidPush => invalid(&e),
            WalletError::Scan(s) => Self::NotALoginQr {
                reason: s.to_string(),
            },
            WalletError::ScanUnknownServer { scanned, enrolled } => {
                Self::ScanUnknownServer { scanned, enrolled }
            }
            WalletError::ScanNoChallenge => Self::ScanNoRequest,
            WalletError::ScanRequired => Self::ScanRequired,
            WalletError::ScanRefused(code) => Self::ScanRefused {
                code: code.as_str().to_owned(),
            },
            WalletError::KeyRolloverRefused(r) => Self::KeyRolloverRefused {
                reason: r.to_string(),
            },
            WalletError::Storage(_) | WalletError::Internal(_) => Self::Internal {
                reason: e.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallet_errors_map_to_actionable_variants() {
        use VistalidError as V;
        let cases = [
            (
                WalletError::Pin(PinRefusal::WrongPin { tries_left: 3 }),
                V::WrongPin { tries_left: 3 },
            ),
            (WalletError::Pin(PinRefusal::Locked), V::Locked),
            (WalletError::BlockedByServer, V::BlockedByServer),
            (WalletError::VaultOutdated, V::VaultOutdated),
            (
                WalletError::Pin(PinRefusal::Backoff {
                    retry_after_secs: 30,
                }),
                V::Backoff {
                    retry_after_secs: 30,
                },
            ),
            (
                WalletError::Pin(PinRefusal::WeakPin("too simple")),
                V::WeakPin {
                    reason: "too simple".into(),
                },
            ),
            (WalletError::NotEnrolled, V::NotEnrolled),
            (WalletError::NoSuchChallenge, V::NoSuchChallenge),
            (WalletError::ChallengeExpired, V::ChallengeExpired),
            (WalletError::ChallengeReplayed, V::ChallengeReplayed),
            (WalletError::InvalidCode, V::InvalidCode),
            (WalletError::WrongCode, V::WrongCode),
            (WalletError::BadServerSignature, V::BadSignature),
            (
                WalletError::KeyRolloverRefused(
                    vistalid_core::rollover::RolloverError::NotSignedByPinnedKey,
                ),
                V::KeyRolloverRefused {
                    reason: "key rollover not signed by the pinned server key".into(),
                },
            ),
            (
                WalletError::Client(ClientError::Network { retryable: true }),
                V::Network { retryable: true },
            ),
            (
                WalletError::Client(ClientError::Server {
                    status: 403,
                    code: "access_denied".into(),
                }),
                V::Server {
                    status: 403,
                    code: "access_denied".into(),
                },
            ),
            (WalletError::Corrupt, V::Corrupt),
            (WalletError::NoCredential, V::NoCredential),
            (WalletError::ScanNoChallenge, V::ScanNoRequest),
            (WalletError::ScanRequired, V::ScanRequired),
            (
                WalletError::ScanRefused(vistalid_core::protocol::ErrorCode::ScanMacInvalid),
                V::ScanRefused {
                    code: "scan_mac_invalid".into(),
                },
            ),
            (
                WalletError::ScanUnknownServer {
                    scanned: "https://evil.example".into(),
                    enrolled: vec!["https://id.example".into()],
                },
                V::ScanUnknownServer {
                    scanned: "https://evil.example".into(),
                    enrolled: vec!["https://id.example".into()],
                },
            ),
            (
                WalletError::Scan(vistalid_core::scan::ScanError::BadOrigin),
                V::NotALoginQr {
                    reason: vistalid_core::scan::ScanError::BadOrigin.to_string(),
                },
            ),
            (WalletError::NoOfflineCode, V::NoOfflineCode),
            (WalletError::KeystoreMismatch, V::KeyInvalidated),
            (
                WalletError::DeviceNotTrusted { missing: true },
                V::DeviceNotTrusted { missing: true },
            ),
            (
                WalletError::Keystore(KeystoreError::Unavailable("locked".into())),
                V::KeystoreUnavailable {
                    reason: "locked".into(),
                },
            ),
            (
                WalletError::Keystore(KeystoreError::KeyInvalidated),
                V::KeyInvalidated,
            ),
            (
                WalletError::Keystore(KeystoreError::BadOutputLength(31)),
                V::InvalidKeystoreOutput { length: 31 },
            ),
            (
                WalletError::AccountAlreadyEnrolled,
                V::AccountAlreadyEnrolled,
            ),
        ];
        for (core, ffi) in cases {
            assert_eq!(VistalidError::from(core), ffi);
        }
        for core in [
            WalletError::NoSuchAccount,
            WalletError::Client(ClientError::BadResponse),
            WalletError::Client(ClientError::InsecureUrl),
        ] {
            assert!(matches!(VistalidError::from(core), V::InvalidInput { .. }));
        }
        for core in [
            WalletError::Storage(std::io::ErrorKind::PermissionDenied),
            WalletError::Internal("lock"),
            WalletError::Keystore(KeystoreError::Failed("StrongBox".into())),
        ] {
            assert!(matches!(VistalidError::from(core), V::Internal { .. }));
        }
    }

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
