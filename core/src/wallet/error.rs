// SPDX-License-Identifier: Apache-2.0
//! The one error type of the wallet, and how the errors of the layers below map onto it.
//!
//! Guarantees: every variant names what the user or the integrator can do; the PIN refusals and the
//! client's errors are carried as they are ([`PinRefusal`], [`ClientError`]: stated once, in
//! the layer that finds them); the mappings from [`VaultError`], [`PinGuardError`] and
//! [`ChallengeError`] are exhaustive (a new variant below
//! fails to compile here), and no variant carries a PIN, a key or a secret.

use crate::challenge::ChallengeError;
use crate::client::ClientError;
use crate::keystore::KeystoreError;
use crate::oprf::OprfError;
use crate::protocol::ErrorCode;
use crate::scan::ScanError;
use crate::vault::{PinGuardError, PinRefusal, VaultError};

/// Errors of the wallet, each naming what the user or integrator can do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    /// The PIN was refused: wrong (with the tries left, the fewer of the phone's and the
    /// server's count), locked on this phone, too soon after a wrong one, or too weak.
    #[error(transparent)]
    Pin(#[from] PinRefusal),
    /// The request to a server failed: not https, unreachable (`retryable` says whether a
    /// retry may help), refused with a status and an error code, or answered with something
    /// malformed (including a server message whose content breaks the protocol).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Too many wrong PINs counted by the account's server: it erased its key for this device,
    /// so the account's secrets can never be opened again; enrol the account again (a new
    /// activation code from the service).
    #[error("the server blocked this account after too many wrong PINs; enrol it again")]
    BlockedByServer,
    /// The vault was written by an older version (format 1 or 2, before the server-counted
    /// PIN guesses) and is not migrated: wipe it and enrol the accounts again.
    #[error("this wallet was made by an older version; enrol again")]
    VaultOutdated,
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
    /// The server's key-rollover statement was refused (issue 19): not signed by the pinned
    /// challenge key, about another key or server, or naming an invalid key. The pinned key is
    /// unchanged; challenges signed by the unknown key stay refused.
    #[error("the server's key change was refused: {0}")]
    KeyRolloverRefused(crate::rollover::RolloverError),
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
    /// Scan mode (issue 16): the scanned text is not a login QR code (carried as is).
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// Scan mode: the login QR code comes from a server none of this wallet's accounts is
    /// enrolled with (a look-alike site's page, or the wrong app); nothing was sent to it.
    #[error("this login QR code comes from {scanned}, but this wallet's accounts are with {}", enrolled.join(", "))]
    ScanUnknownServer {
        /// The origin the QR code names.
        scanned: String,
        /// The origins of the wallet's accounts' servers.
        enrolled: Vec<String>,
    },
    /// Scan mode: the server has no pending login request of this QR code's page for this
    /// wallet (the identifier was not entered yet, or the request expired or was answered).
    #[error("no login request waits for this QR code; enter your identifier on the page, then scan again")]
    ScanNoChallenge,
    /// Scan mode: this request can only be answered by scanning the login page's QR code
    /// ([`crate::wallet::Wallet::scan_login`]); nothing was sent.
    #[error("scan the QR code shown on the login page to answer this request")]
    ScanRequired,
    /// Scan mode: the server refused the answer's MAC (`scan_mac_required`,
    /// `scan_mac_invalid`, `scan_mac_unexpected`): the scanned code is not this page's.
    #[error("the server refused the scanned code: {0}")]
    ScanRefused(ErrorCode),
    /// The account has no offline code (issue 16): it was enrolled before the feature, or
    /// with a server that does not offer it. Its logins need the phone's network.
    #[error("this account has no offline code; it was enrolled without one")]
    NoOfflineCode,
    /// The push token is not of its platform's shape (issue 20): pass what the platform
    /// gave (FCM's registration token, APNs' device token bytes).
    #[error("the push token is not of its platform's shape")]
    InvalidPushToken,
    /// The push is not a Vistalid wake-up of a known version, or names a device this wallet
    /// does not hold (issue 20): ignore it.
    #[error("this push is not a wake-up for this wallet")]
    InvalidPush,
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
            VaultError::Pin(refusal) => Self::Pin(refusal),
            VaultError::NotFound => Self::NotEnrolled,
            VaultError::KeystoreMismatch => Self::KeystoreMismatch,
            VaultError::Keystore(k) => Self::Keystore(k),
            VaultError::Io(kind) => Self::Storage(kind),
            VaultError::UnsupportedVersion(v) if v < 3 => Self::VaultOutdated,
            VaultError::Corrupt | VaultError::UnsupportedVersion(_) => Self::Corrupt,
            VaultError::NoSuchAccount => Self::NoSuchAccount,
            VaultError::NoOfflineSecret => Self::NoOfflineCode,
            VaultError::Guard(g) => g.into(),
            VaultError::Oprf(OprfError::ProofMismatch) => Self::BadServerSignature,
            VaultError::Oprf(OprfError::Random) => Self::Internal("random generator failure"),
            VaultError::Oprf(
                OprfError::InvalidElement
                | OprfError::InvalidProof
                | OprfError::InvalidKey
                | OprfError::InvalidInput,
            ) => Self::Client(ClientError::BadResponse),
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
                Some(
                    c @ (ErrorCode::ScanMacRequired
                    | ErrorCode::ScanMacInvalid
                    | ErrorCode::ScanMacUnexpected),
                ) => return Self::ScanRefused(c),
                _ => {}
            }
        }
        e.into()
    }
}

impl From<PinGuardError> for WalletError {
    fn from(e: PinGuardError) -> Self {
        match e {
            PinGuardError::Blocked => Self::BlockedByServer,
            PinGuardError::Server(e) => Self::Client(e),
            PinGuardError::UnknownAccount => Self::NoSuchAccount,
        }
    }
}

impl From<ChallengeError> for WalletError {
    fn from(e: ChallengeError) -> Self {
        match e {
            ChallengeError::BadServerSignature
            | ChallengeError::WrongRecipient
            | ChallengeError::KeyRolloverRefused => Self::BadServerSignature,
            ChallengeError::Expired | ChallengeError::BadTime => Self::ChallengeExpired,
            ChallengeError::Replayed => Self::ChallengeReplayed,
            ChallengeError::BadCandidates => Self::Client(ClientError::BadResponse),
            ChallengeError::InvalidCode => Self::InvalidCode,
            ChallengeError::Signing => Self::Internal("signing failed"),
            ChallengeError::UnsafeText => Self::Client(ClientError::BadResponse),
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
            (
                V::Pin(PinRefusal::WrongPin { tries_left: 2 }),
                W::Pin(PinRefusal::WrongPin { tries_left: 2 }),
            ),
            (V::Pin(PinRefusal::Locked), W::Pin(PinRefusal::Locked)),
            (V::NotFound, W::NotEnrolled),
            (V::Corrupt, W::Corrupt),
            (V::UnsupportedVersion(2), W::VaultOutdated),
            (V::UnsupportedVersion(4), W::Corrupt),
            (V::NoSuchAccount, W::NoSuchAccount),
            (V::NoOfflineSecret, W::NoOfflineCode),
            (V::Guard(PinGuardError::Blocked), W::BlockedByServer),
            (
                V::Guard(PinGuardError::Server(ClientError::Network {
                    retryable: true,
                })),
                W::Client(ClientError::Network { retryable: true }),
            ),
            (
                V::Guard(PinGuardError::Server(ClientError::BadResponse)),
                W::Client(ClientError::BadResponse),
            ),
            (V::Oprf(OprfError::ProofMismatch), W::BadServerSignature),
            (
                V::Oprf(OprfError::InvalidElement),
                W::Client(ClientError::BadResponse),
            ),
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
            WalletError::Client(ClientError::Server {
                status: 403,
                code: "invalid_activation_code".into()
            })
        );
        assert_eq!(
            WalletError::from_refusal(ClientError::Network { retryable: true }),
            WalletError::Client(ClientError::Network { retryable: true })
        );
    }
}
