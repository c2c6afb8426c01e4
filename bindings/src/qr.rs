// SPDX-License-Identifier: Apache-2.0
//! QR presentations (the insured's phone) and their verification (the professional's
//! software), mapped from `vistalid_core::qr` and `Wallet::present_qr`.
//!
//! Guarantees: every check is core's ([`vistalid_core::qr::Verifier`]: issuer signature,
//! device signature, times, audience); a [`QrVerified::Offline`] exists only when both
//! signatures verified, and [`QrVerified::RedeemOnline`] carries no identity. Rendering (SVG,
//! PNG) is core's `QrMatrix`.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use vistalid_core::client::ServerClient;
use vistalid_core::clock::SystemClock;
use vistalid_core::keys::JwkSet;
use vistalid_core::qr::{self, QrError, QrMatrix, Verified, Verifier};
use vistalid_core::wallet::{QrPresentation as CoreQr, WalletError};

use crate::error::VistalidError;
use crate::transport::{HttpTransport, TransportBridge};

/// Pixels per QR module in [`QrPresentation::png`] (core's choice, shared with the CLI).
pub use vistalid_core::qr::PNG_SCALE;

/// What a QR code carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum QrMode {
    /// The whole issuer credential: verifiable offline with the issuer's keys.
    Offline,
    /// Only the credential id: smaller, must be redeemed at the server.
    Online,
}

impl From<QrMode> for qr::Mode {
    fn from(m: QrMode) -> Self {
        match m {
            QrMode::Offline => Self::Offline,
            QrMode::Online => Self::Online,
        }
    }
}

impl From<qr::Mode> for QrMode {
    fn from(m: qr::Mode) -> Self {
        match m {
            qr::Mode::Offline => Self::Offline,
            qr::Mode::Online => Self::Online,
        }
    }
}

/// A fresh, device-signed QR presentation, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QrPresentation {
    /// The `VL1:` text encoded in the QR code.
    pub text: String,
    /// Offline or online.
    pub mode: QrMode,
    /// When it expires (seconds since the epoch): show a new one after that.
    pub expires_at: i64,
    /// The QR code as an SVG document.
    pub svg: String,
    /// The QR code as a PNG image, [`PNG_SCALE`] pixels per module, with the quiet zone.
    pub png: Vec<u8>,
}

/// Renders core's presentation.
pub(crate) fn rendered(p: CoreQr) -> Result<QrPresentation, VistalidError> {
    let matrix = QrMatrix::encode(&p.text)?;
    Ok(QrPresentation {
        svg: matrix.to_svg(),
        png: matrix.to_display_png(),
        text: p.text,
        mode: p.mode.into(),
        expires_at: p.expires_at,
    })
}

/// What a verified QR code says.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum QrVerified {
    /// Offline QR: issuer and device signatures verified; the identity is trustworthy.
    Offline {
        /// Pseudonymous subject id.
        subject: String,
        /// Given name.
        given_name: String,
        /// Family name.
        family_name: String,
        /// The issuer (`iss`).
        issuer: String,
        /// Credential id, base64url.
        credential_id: String,
        /// Presentation expiry, seconds since the epoch.
        expires_at: i64,
    },
    /// Online QR: well-formed and fresh, but NOT an identity: redeem it with [`redeem_qr`].
    RedeemOnline {
        /// Credential id, base64url.
        credential_id: String,
        /// Presentation expiry, seconds since the epoch.
        expires_at: i64,
    },
}

/// The professional's QR verifier: trusts the issuer keys it was made with, reads the
/// system clock, tolerates 30 s of skew. Holds no secrets.
#[derive(uniffi::Object)]
pub struct QrVerifier {
    inner: Verifier,
}

#[uniffi::export]
impl QrVerifier {
    /// A verifier trusting the issuer keys in `trusted_issuers_jwks_json` (a JWK set,
    /// `{"keys": [...]}`, as the server's `/qr/issuer-keys` serves it). With `audience`,
    /// only presentations addressed to it are accepted; without, only unaddressed ones.
    #[uniffi::constructor]
    pub fn new(
        trusted_issuers_jwks_json: String,
        audience: Option<String>,
    ) -> Result<Arc<Self>, VistalidError> {
        let keys = JwkSet::parse_public_keys(&trusted_issuers_jwks_json)?;
        let mut inner = Verifier::new(keys, Arc::new(SystemClock));
        if let Some(a) = audience {
            inner = inner.with_audience(a);
        }
        Ok(Arc::new(Self { inner }))
    }

    /// Verifies a scanned `VL1:` text (see [`QrVerified`]).
    pub fn verify(&self, text: String) -> Result<QrVerified, VistalidError> {
        Ok(match self.inner.verify(&text)? {
            Verified::Offline(v) => QrVerified::Offline {
                subject: v.credential.claims.subject,
                given_name: v.credential.claims.given_name,
                family_name: v.credential.claims.family_name,
                issuer: v.credential.claims.issuer,
                credential_id: B64URL.encode(&v.facts.credential_id),
                expires_at: v.facts.expires_at,
            },
            Verified::RedeemOnline(f) => QrVerified::RedeemOnline {
                credential_id: B64URL.encode(&f.credential_id),
                expires_at: f.expires_at,
            },
        })
    }
}

/// An identity the server vouched for when redeeming a QR code.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RedeemedIdentity {
    /// Pseudonymous subject id.
    pub subject: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Credential id the QR referred to, base64url.
    pub credential_id: String,
}

/// Fetches the QR issuer's public keys from `server_url` as a JWK set JSON text, for
/// [`QrVerifier::new`], through the app's `transport`. Fetch them once and keep them: offline
/// verification needs no network.
#[uniffi::export(async_runtime = "tokio")]
pub async fn fetch_issuer_keys(
    server_url: String,
    transport: Arc<dyn HttpTransport>,
) -> Result<String, VistalidError> {
    let client = client(&server_url, transport)?;
    let keys = client.issuer_keys().await.map_err(WalletError::from)?;
    Ok(JwkSet::from_public_keys(&keys).to_json())
}

/// Redeems a QR text at `server_url`, through the app's `transport`, as the registered client
/// `client_id` (HTTP Basic with `client_secret`). The server checks the device signature and
/// accepts each presentation once: a second redemption is
/// `Server { status: 409, code: "already_redeemed" }`.
#[uniffi::export(async_runtime = "tokio")]
pub async fn redeem_qr(
    server_url: String,
    transport: Arc<dyn HttpTransport>,
    qr_text: String,
    client_id: String,
    client_secret: String,
) -> Result<RedeemedIdentity, VistalidError> {
    let client = client(&server_url, transport)?;
    let r = client
        .redeem(&qr_text, &client_id, &client_secret)
        .await
        .map_err(WalletError::from)?;
    Ok(RedeemedIdentity {
        subject: r.identity.subject_name_id,
        given_name: r.identity.given_name,
        family_name: r.identity.family_name,
        credential_id: r.credential_id,
    })
}

/// A core client for `server_url` over the app's transport.
fn client(
    server_url: &str,
    transport: Arc<dyn HttpTransport>,
) -> Result<ServerClient, VistalidError> {
    let transport = Arc::new(TransportBridge::new(transport));
    Ok(ServerClient::with_transport(server_url, transport).map_err(WalletError::from)?)
}

impl From<QrError> for VistalidError {
    fn from(e: QrError) -> Self {
        match e {
            QrError::UnknownIssuer | QrError::BadIssuerSignature | QrError::BadDeviceSignature => {
                Self::BadSignature
            }
            // Signed by a known issuer key outside its window (a retired key's late credential).
            QrError::IssuerKeyNotValid => Self::BadSignature,
            QrError::KeysUnavailable => Self::Network { retryable: true },
            QrError::Expired | QrError::CredentialExpired => Self::QrExpired,
            QrError::Signing => Self::Internal {
                reason: e.to_string(),
            },
            // Structure, times in the future, audience, a text too long for a QR code: the QR
            // is refused as invalid input, with core's reason.
            QrError::BadPrefix
            | QrError::BadBase45
            | QrError::BadCompression
            | QrError::TooLarge
            | QrError::BadCbor
            | QrError::BadCose(_)
            | QrError::UnsupportedAlgorithm(_)
            | QrError::BadCredential(_)
            | QrError::BadPresentation(_)
            | QrError::NotYetValid
            | QrError::CredentialNotYetValid
            | QrError::WrongAudience
            | QrError::QrCapacity => Self::InvalidInput {
                reason: e.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_qr_error_maps_to_its_class() {
        use VistalidError as V;
        let signature = [
            QrError::UnknownIssuer,
            QrError::BadIssuerSignature,
            QrError::BadDeviceSignature,
        ];
        let expired = [QrError::Expired, QrError::CredentialExpired];
        let invalid = [
            QrError::BadPrefix,
            QrError::BadBase45,
            QrError::BadCompression,
            QrError::TooLarge,
            QrError::BadCbor,
            QrError::BadCose("tag"),
            QrError::UnsupportedAlgorithm(-35),
            QrError::BadCredential("iss"),
            QrError::BadPresentation("iat"),
            QrError::NotYetValid,
            QrError::CredentialNotYetValid,
            QrError::WrongAudience,
            QrError::QrCapacity,
        ];
        for e in signature {
            assert_eq!(V::from(e), V::BadSignature);
        }
        for e in expired {
            assert_eq!(V::from(e), V::QrExpired);
        }
        for e in invalid {
            let reason = e.to_string();
            assert_eq!(V::from(e), V::InvalidInput { reason });
        }
        assert!(matches!(V::from(QrError::Signing), V::Internal { .. }));
    }

    #[test]
    fn qr_errors_map_to_actionable_variants() {
        assert_eq!(
            VistalidError::from(QrError::BadDeviceSignature),
            VistalidError::BadSignature
        );
        assert_eq!(
            VistalidError::from(QrError::UnknownIssuer),
            VistalidError::BadSignature
        );
        assert_eq!(
            VistalidError::from(QrError::Expired),
            VistalidError::QrExpired
        );
        assert!(matches!(
            VistalidError::from(QrError::WrongAudience),
            VistalidError::InvalidInput { .. }
        ));
        assert!(matches!(
            VistalidError::from(QrError::BadPrefix),
            VistalidError::InvalidInput { .. }
        ));
    }

    #[test]
    fn verifier_refuses_a_non_jwks_and_garbage_text() {
        assert!(matches!(
            QrVerifier::new("[]".into(), None),
            Err(VistalidError::InvalidInput { .. })
        ));
        let v = QrVerifier::new(r#"{"keys":[]}"#.into(), None).expect("empty set");
        assert!(matches!(
            v.verify("not a QR".into()),
            Err(VistalidError::InvalidInput { .. })
        ));
    }
}
