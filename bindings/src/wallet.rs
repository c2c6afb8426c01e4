// SPDX-License-Identifier: Apache-2.0
//! The wallet, mapped from `vistalid_core::wallet::Wallet`: open, enrol, fetch and answer
//! challenges, change the PIN, wipe.
//!
//! Guarantees:
//! - Every function parses its arguments into core types, calls core and maps the result;
//!   every rule (PIN counting, challenge checks, replay cache) is core's.
//! - A PIN arrives as a foreign `String` and is moved into core's [`Pin`] (wiped on drop) at
//!   the first line of the export. The Kotlin/Swift copy cannot be wiped from Rust: keep it
//!   as short-lived as the UI allows.
//! - Async exports run on tokio (`async_runtime = "tokio"`): core's blocking pool (Argon2,
//!   file I/O) and its per-account fetch tasks need it. HTTP goes through the app's
//!   [`HttpTransport`].

use std::path::Path;
use std::sync::Arc;

use vistalid_core::challenge::Challenge as CoreChallenge;
use vistalid_core::clock::SystemClock;
use vistalid_core::protocol::{AccountKind as CoreKind, CodeMode as CoreMode};
use vistalid_core::secret::Pin;
use vistalid_core::vault::VaultConfig;
use vistalid_core::wallet::{
    AccountInfo as CoreAccount, AnswerOutcome as CoreOutcome, Wallet as CoreWallet, WalletConfig,
};

use crate::error::VistalidError;
use crate::keystore::{KeystoreBridge, PlatformKeystore};
use crate::qr::{QrMode, QrPresentation};
use crate::transport::{HttpTransport, TransportBridge};

/// Options of [`Wallet::open`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WalletOptions {
    /// Human name of this device, sent at enrolment and shown in the server's device list.
    pub device_name: String,
}

/// An offline code (issue 16) and how long it stays valid.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct OfflineCode {
    /// The 8 digits to type on the login page.
    pub code: String,
    /// Seconds until its 30-second step ends (the server also takes it one step later).
    pub valid_for_secs: u32,
}

impl std::fmt::Debug for OfflineCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineCode")
            .field("code", &"<redacted>")
            .field("valid_for_secs", &self.valid_for_secs)
            .finish()
    }
}

/// Kind of account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AccountKind {
    /// Health professional identified by an RPPS number (e-CPS role).
    Practitioner,
    /// Insured citizen identified by a pseudonymous id (ApCV role).
    Insured,
}

/// An enrolled account (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AccountInfo {
    /// Server-side account id.
    pub account_id: String,
    /// Server-side id of this device.
    pub device_id: String,
    /// Practitioner or insured.
    pub kind: AccountKind,
    /// National id `8` + RPPS (practitioner) or pseudonymous id (insured): Pro Santé
    /// Connect's `SubjectNameID`.
    pub subject_name_id: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Profession code (practitioners only), e.g. `10` doctor.
    pub profession: Option<String>,
    /// Base URL of the server the account is enrolled with.
    pub server_url: String,
    /// The identifier to type on a service's login page: the national id (`8` + RPPS) for a
    /// practitioner, an identifier of their own for an insured citizen (never in their QR
    /// code). `None` when the server predates the browser login.
    pub login_id: Option<String>,
}

/// How the user proves they see the login page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CodeMode {
    /// Pick the code shown on the login page among [`Challenge::candidates`].
    Pick,
    /// Type the 2-digit code shown on the login page.
    Type,
}

/// A login request the wallet verified (signature, recipient, freshness, not replayed):
/// what to show the user before they approve.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Challenge {
    /// Challenge id, to pass to [`Wallet::approve`], [`Wallet::deny`], [`Wallet::report_not_me`].
    pub id: String,
    /// The account it is for.
    pub account_id: String,
    /// The service (relying party) asking.
    pub service: String,
    /// The service's binding message.
    pub binding_message: String,
    /// Browser IP address, as the service reported it.
    pub ip: Option<String>,
    /// Browser user agent, as the service reported it.
    pub user_agent: Option<String>,
    /// Approximate place, as the service reported it.
    pub place: Option<String>,
    /// Pick or type the code.
    pub mode: CodeMode,
    /// Candidates to show in this order (pick mode); empty in type mode.
    pub candidates: Vec<String>,
    /// Issued at, seconds since the epoch.
    pub issued_at: i64,
    /// Expires at, seconds since the epoch.
    pub expires_at: i64,
    /// Scan mode (issue 16): answer it only after `scanLogin` read the login page's QR code.
    pub scan: bool,
}

/// The result of [`Wallet::fetch_challenges`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FetchedChallenges {
    /// Verified challenges, oldest first.
    pub challenges: Vec<Challenge>,
    /// How many received challenges failed verification (never shown; worth a warning).
    pub rejected_count: u32,
}

/// What the server confirmed for an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AnswerOutcome {
    /// Login approved.
    Approved,
    /// Login declined.
    Denied,
    /// Declined and reported as "this was not me".
    Reported,
}

/// A Vistalid wallet stored in one directory: PIN-protected keys of one or more accounts.
///
/// Holds native memory and key material while open: in Kotlin close it (`use { }`), in
/// Swift let it go out of scope.
#[derive(Debug, uniffi::Object)]
pub struct Wallet {
    pub(crate) inner: CoreWallet,
}

#[uniffi::export(async_runtime = "tokio")]
impl Wallet {
    /// Opens the wallet stored in `dir` (created at the first enrolment), with the app's
    /// platform `keystore` and HTTP `transport`. Nothing is sent to the network. The vault
    /// uses the product's Argon2 parameters and back-off (core's `VaultConfig::default`).
    #[uniffi::constructor]
    pub fn open(
        dir: String,
        keystore: Arc<dyn PlatformKeystore>,
        transport: Arc<dyn HttpTransport>,
        options: WalletOptions,
    ) -> Result<Arc<Self>, VistalidError> {
        Self::open_with_vault(dir, keystore, transport, options, VaultConfig::default())
    }

    /// The enrolled accounts (empty before the first enrolment).
    pub fn accounts(&self) -> Result<Vec<AccountInfo>, VistalidError> {
        Ok(self.inner.accounts()?.into_iter().map(Into::into).collect())
    }

    /// Wrong-PIN tries left before the wallet locks.
    pub fn attempts_left(&self) -> Result<u32, VistalidError> {
        Ok(self.inner.attempts_left()?)
    }

    /// Enrols an account with `server_url` using its one-time `activation_code`. The first
    /// enrolment sets the wallet `pin` (checked against the PIN policy); later ones must
    /// give the wallet's PIN. The foreign copy of `pin` cannot be wiped from Rust.
    pub async fn enrol(
        &self,
        server_url: String,
        activation_code: String,
        pin: String,
    ) -> Result<AccountInfo, VistalidError> {
        let pin = Pin::new(pin);
        let info = self.inner.enrol(&server_url, &activation_code, pin).await?;
        Ok(info.into())
    }

    /// Fetches pending login requests for every account, waiting up to `wait_secs` (at most
    /// 30) for one to arrive. Only verified challenges are returned.
    pub async fn fetch_challenges(
        &self,
        wait_secs: u32,
    ) -> Result<FetchedChallenges, VistalidError> {
        let fetched = self.inner.fetch_challenges(wait_secs).await?;
        Ok(FetchedChallenges {
            challenges: fetched.challenges.into_iter().map(Into::into).collect(),
            rejected_count: u32::try_from(fetched.rejected.len()).unwrap_or(u32::MAX),
        })
    }

    /// Scan mode (issue 16): reads the text of the login page's QR code, checks that it comes
    /// from the server of one of the accounts (else `ScanUnknownServer`, naming both), and
    /// fetches the login request it shows, to display as usual and answer with `approve`,
    /// `deny` or `reportNotMe` (the answer then carries the MAC of the scanned secret).
    pub async fn scan_login(&self, text: String) -> Result<Challenge, VistalidError> {
        let text = zeroize::Zeroizing::new(text);
        Ok(self.inner.scan_login(&text).await?.into())
    }

    /// Moves account `account_id` to its server's newest challenge key by following the
    /// server's key-rollover statements from the pinned key (issue 19); whether the pin
    /// changed. A statement not signed by the pinned key throws `KeyRolloverRefused` and
    /// changes nothing. (Fetching challenges does this by itself when a challenge names an
    /// unknown key.)
    pub async fn update_server_key(&self, account_id: String) -> Result<bool, VistalidError> {
        Ok(self.inner.update_server_key(&account_id).await?)
    }

    /// Approves challenge `challenge_id` with the wallet PIN and the code the user picked or
    /// typed. Throws `WrongCode` when the server refused the code (the login is refused).
    pub async fn approve(
        &self,
        challenge_id: String,
        pin: String,
        code: String,
    ) -> Result<AnswerOutcome, VistalidError> {
        let pin = Pin::new(pin);
        Ok(self.inner.approve(&challenge_id, pin, &code).await?.into())
    }

    /// Declines challenge `challenge_id` (signed with the device key, so the PIN is needed).
    pub async fn deny(
        &self,
        challenge_id: String,
        pin: String,
    ) -> Result<AnswerOutcome, VistalidError> {
        let pin = Pin::new(pin);
        Ok(self.inner.deny(&challenge_id, pin).await?.into())
    }

    /// Declines challenge `challenge_id` and reports it as "this was not me".
    pub async fn report_not_me(
        &self,
        challenge_id: String,
        pin: String,
    ) -> Result<AnswerOutcome, VistalidError> {
        let pin = Pin::new(pin);
        Ok(self.inner.report_not_me(&challenge_id, pin).await?.into())
    }

    /// Makes a fresh QR presentation for insured account `account_id` (unlocks with `pin`,
    /// signs with the device key), optionally addressed to `audience`, rendered as SVG and
    /// PNG. Throws `NoCredential` for an account without a QR credential.
    pub async fn present_qr(
        &self,
        account_id: String,
        pin: String,
        mode: QrMode,
        audience: Option<String>,
    ) -> Result<QrPresentation, VistalidError> {
        let pin = Pin::new(pin);
        let shown = self
            .inner
            .present_qr(&account_id, pin, mode.into(), audience.as_deref())
            .await?;
        crate::qr::rendered(shown)
    }

    /// The offline code of `account_id` (issue 16): 8 digits and the seconds they stay valid,
    /// after the PIN, with **no network** (Argon2 and the keystore only). A wrong PIN gives
    /// a wrong code (the server refuses and counts it); throws `NoOfflineCode` for an
    /// account enrolled without one, `Locked` / `Backoff` as the vault's local counter says.
    pub async fn offline_code(
        &self,
        account_id: String,
        pin: String,
    ) -> Result<OfflineCode, VistalidError> {
        let c = self.inner.offline_code(&account_id, Pin::new(pin)).await?;
        Ok(OfflineCode {
            code: c.code.clone(),
            valid_for_secs: c.valid_for_secs,
        })
    }

    /// Changes the wallet PIN; the old PIN counts as a try, the new one must meet the policy.
    pub async fn change_pin(&self, old_pin: String, new_pin: String) -> Result<(), VistalidError> {
        let (old, new) = (Pin::new(old_pin), Pin::new(new_pin));
        Ok(self.inner.change_pin(old, new).await?)
    }

    /// Erases the wallet: the platform key first (crypto-erase), then the files.
    pub async fn wipe(&self) -> Result<(), VistalidError> {
        Ok(self.inner.wipe().await?)
    }
}

impl Wallet {
    fn open_with_vault(
        dir: String,
        keystore: Arc<dyn PlatformKeystore>,
        transport: Arc<dyn HttpTransport>,
        options: WalletOptions,
        vault: VaultConfig,
    ) -> Result<Arc<Self>, VistalidError> {
        let config = WalletConfig {
            vault,
            device_name: options.device_name,
        };
        let keystore = Arc::new(KeystoreBridge::new(keystore));
        let transport = Arc::new(TransportBridge::new(transport));
        let inner = CoreWallet::open_with(
            Path::new(&dir),
            keystore,
            config,
            transport,
            Arc::new(SystemClock),
        )?;
        Ok(Arc::new(Self { inner }))
    }
}

/// The vault configuration of [`Wallet::open_for_tests`]: tiny Argon2 parameters, no
/// back-off, the product's lockout and PIN policy.
#[cfg(feature = "test-support")]
fn insecure_fast_vault() -> VaultConfig {
    VaultConfig {
        argon2: vistalid_core::vault::Argon2Params::insecure_fast_for_tests(),
        backoff: false,
        ..VaultConfig::default()
    }
}

/// Only in builds with the `test-support` cargo feature, which the library apps ship is built
/// without: the binding tests' constructor.
#[cfg(feature = "test-support")]
#[uniffi::export]
impl Wallet {
    /// **Test builds only** (cargo feature `test-support`; absent from the shipped library).
    /// Like [`Wallet::open`], but the vault uses tiny Argon2 parameters (a PIN guess is nearly
    /// free) and no delay after a wrong PIN; the 5-try lockout and the PIN policy still
    /// apply. For the Kotlin, Swift and Rust binding tests, which would otherwise spend most
    /// of their time in Argon2.
    #[uniffi::constructor]
    pub fn open_for_tests(
        dir: String,
        keystore: Arc<dyn PlatformKeystore>,
        transport: Arc<dyn HttpTransport>,
        options: WalletOptions,
    ) -> Result<Arc<Self>, VistalidError> {
        Self::open_with_vault(dir, keystore, transport, options, insecure_fast_vault())
    }
}

impl From<CoreAccount> for AccountInfo {
    fn from(a: CoreAccount) -> Self {
        Self {
            account_id: a.account_id,
            device_id: a.device_id,
            kind: match a.kind {
                CoreKind::Practitioner => AccountKind::Practitioner,
                CoreKind::Insured => AccountKind::Insured,
            },
            subject_name_id: a.identity.subject_name_id,
            given_name: a.identity.given_name,
            family_name: a.identity.family_name,
            profession: a.identity.profession,
            server_url: a.server_url,
            login_id: a.login_id,
        }
    }
}

impl From<CoreChallenge> for Challenge {
    fn from(c: CoreChallenge) -> Self {
        Self {
            id: c.id,
            account_id: c.account_id,
            service: c.service,
            binding_message: c.binding_message,
            ip: c.context.ip,
            user_agent: c.context.user_agent,
            place: c.context.place,
            mode: match c.mode {
                CoreMode::Pick => CodeMode::Pick,
                CoreMode::Type => CodeMode::Type,
            },
            candidates: c.candidates,
            issued_at: c.issued_at,
            expires_at: c.expires_at,
            scan: c.scan_attempt.is_some(),
        }
    }
}

impl From<CoreOutcome> for AnswerOutcome {
    fn from(o: CoreOutcome) -> Self {
        match o {
            CoreOutcome::Approved => Self::Approved,
            CoreOutcome::Denied => Self::Denied,
            CoreOutcome::Reported => Self::Reported,
        }
    }
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use vistalid_core::vault::Argon2Params;

    #[test]
    fn the_test_constructor_only_changes_argon2_and_the_backoff() {
        let product = VaultConfig::default();
        let fast = insecure_fast_vault();
        assert_eq!(fast.argon2, Argon2Params::insecure_fast_for_tests());
        assert_ne!(product.argon2, fast.argon2);
        assert!(product.backoff && !fast.backoff);
        assert_eq!(fast.max_attempts, 5);
        assert_eq!(fast.max_attempts, product.max_attempts);
        assert_eq!(
            format!("{:?}", fast.pin_policy),
            format!("{:?}", product.pin_policy)
        );
    }
}
