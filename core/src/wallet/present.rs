// SPDX-License-Identifier: Apache-2.0
//! The insured's QR presentation, and what gates it when the server cannot be reached.
//!
//! Guarantees:
//! - A presentation is signed by the account's device-tier key, the key the issuer credential
//!   binds; the credential (shown whole in every offline QR) lives in the device tier too.
//! - The PIN is checked with the account's server before every presentation (a counted try,
//!   as any unlock): a wrong PIN is refused and no QR is made.
//! - Offline mode only: when the server cannot be reached ([`ClientError::Network`](crate::client::ClientError::Network)), the
//!   presentation is made all the same, without a PIN check, so the insured can show the QR
//!   where there is no network (the professional's software checks it offline). It cannot
//!   check the PIN there: any check the phone could run alone would let whoever holds the
//!   phone's files and keystore test PINs without the server's limit (docs/pin-guard.md).
//!   Online mode needs the server's PIN check.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use zeroize::Zeroizing;

use super::records::read_state;
use super::{QrPresentation, Wallet, WalletError};
use crate::client::ClientError;
use crate::qr;
use crate::secret::Pin;

impl Wallet {
    /// Builds a QR presentation for insured account `account_id`: checks the PIN with the
    /// account's server (offline mode goes on without it when the server cannot be reached),
    /// then signs with the device-tier key a fresh presentation valid for
    /// [`qr::presentation::DEFAULT_VALIDITY_SECS`], carrying the whole credential
    /// ([`qr::Mode::Offline`]) or only its id ([`qr::Mode::Online`]), optionally addressed to
    /// `audience`. Returns the `VL1:` text to put in the QR code (see [`qr::QrMatrix`]).
    pub async fn present_qr(
        &self,
        account_id: &str,
        pin: Pin,
        mode: qr::Mode,
        audience: Option<&str>,
    ) -> Result<QrPresentation, WalletError> {
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        let state = read_state(&vault)?;
        let record = state
            .account(account_id)
            .ok_or(WalletError::NoSuchAccount)?;
        let credential_id = record
            .credential_id
            .clone()
            .ok_or(WalletError::NoCredential)?;
        let tier = state.device_tier(account_id)?;
        let credential = tier
            .credential
            .as_deref()
            .ok_or(WalletError::NoCredential)?;
        let credential = Zeroizing::new(
            B64URL
                .decode(credential)
                .map_err(|_| WalletError::Corrupt)?,
        );
        let key = state.unlock_key(account_id)?;
        match self.unlock(&vault, account_id, pin).await {
            Ok(unlocked) => drop(unlocked),
            Err(WalletError::Client(ClientError::Network { .. })) if mode == qr::Mode::Offline => {}
            Err(e) => return Err(e),
        }
        let credential_id = B64URL
            .decode(credential_id)
            .map_err(|_| WalletError::Corrupt)?;
        let source = match mode {
            qr::Mode::Offline => qr::PresentationSource::Offline(&credential),
            qr::Mode::Online => qr::PresentationSource::Online(&credential_id),
        };
        let now = self.clock.now();
        let validity = qr::presentation::DEFAULT_VALIDITY_SECS;
        let failed = || WalletError::Internal("QR presentation failed");
        let expires_at = now.checked_add(i64::from(validity)).ok_or_else(failed)?;
        let text = qr::present(&key, source, now, validity, audience).map_err(|_| failed())?;
        Ok(QrPresentation {
            text,
            mode,
            expires_at,
        })
    }
}
