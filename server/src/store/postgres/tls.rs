// SPDX-License-Identifier: Apache-2.0
//! TLS to PostgreSQL (issue 19: instances reach their database over a network): the URL's
//! `sslmode` and `sslrootcert`, read as libpq reads them, and the rustls connector every
//! connection of the server uses (the pool's, the start-up's, the LISTEN connection's).
//!
//! Guarantees:
//! - `sslmode=verify-full`: the connection is encrypted and the server's certificate chains to
//!   a CA of the `sslrootcert` file and names the host of the URL (a DNS name or an IP
//!   address), else no connection is made ([`StoreError::Tls`]).
//! - `sslmode=verify-ca`: as `verify-full` without the name check.
//! - `sslmode=require`: encrypted; with `sslrootcert`, the chain is checked as `verify-ca`
//!   does (libpq's rule); without it, the server is not authenticated (a warning at start-up
//!   off loopback).
//! - `sslmode=disable`: plaintext (a warning at start-up off loopback).
//! - No `sslmode`: plaintext on loopback (a Unix socket, `localhost`, `127.0.0.0/8`, `::1`);
//!   off loopback the configuration is refused ([`StoreError::TlsConfig`]): an operator says
//!   `verify-full` or, knowingly, `disable`.
//! - `allow` and `prefer` (which fall back to plaintext without telling), client certificates
//!   (`sslcert`, `sslkey`) and other `ssl*` options are refused ([`StoreError::TlsConfig`]),
//!   never ignored.
//! - The messages of these errors never hold the URL (nor so its password).
//! - SCRAM channel binding (`tls-server-end-point`) is offered when the server's certificate
//!   is signed with RSA PKCS#1 or ECDSA (RFC 5929's hash rule), so `channel_binding=require`
//!   works.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::{Host, SslMode as PgSslMode};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

use crate::store::StoreError;

/// The `sslmode` values the server supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// Plaintext.
    Disable,
    /// Encrypted; the chain is checked only with a CA file.
    Require,
    /// Encrypted, the chain checked against the CA file, not the name.
    VerifyCa,
    /// Encrypted, the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    /// The libpq spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// What a database URL asks of TLS, read by [`split_url`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// The mode in force (the default one when the URL names none).
    pub(crate) mode: SslMode,
    /// Whether the URL named the mode.
    pub(crate) explicit: bool,
    /// The CA file (`sslrootcert`).
    pub(crate) root_cert: Option<PathBuf>,
}

/// The URL without its TLS options (for tokio-postgres, which knows neither `sslrootcert`
/// nor the verify modes) and what they asked. Refuses modes and options the server does not
/// support.
pub(crate) fn split_url(
    url: &str,
) -> Result<(String, Option<SslMode>, Option<PathBuf>), StoreError> {
    let Some((head, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None, None));
    };
    let mut mode = None;
    let mut root = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
        match key {
            "sslmode" => {
                mode = Some(match &*value {
                    "disable" => SslMode::Disable,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    "allow" | "prefer" => {
                        return Err(StoreError::TlsConfig(format!(
                            "sslmode={value} is not supported (it falls back to plaintext \
                             silently): use verify-full, require or disable"
                        )))
                    }
                    _ => {
                        return Err(StoreError::TlsConfig(
                            "sslmode must be disable, require, verify-ca or verify-full".into(),
                        ))
                    }
                })
            }
            "sslrootcert" if value == "system" => {
                return Err(StoreError::TlsConfig(
                    "sslrootcert=system is not supported: name the CA file".into(),
                ))
            }
            "sslrootcert" if !value.is_empty() => root = Some(PathBuf::from(&*value)),
            "sslcert"
            | "sslkey"
            | "sslpassword"
            | "sslcrl"
            | "sslcrldir"
            | "sslsni"
            | "sslcertmode"
            | "ssl_min_protocol_version"
            | "ssl_max_protocol_version"
            | "sslcompression"
            | "requiressl"
            | "sslrootcert" => {
                return Err(StoreError::TlsConfig(format!(
                    "{key} is not supported in database_url"
                )))
            }
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        head.to_owned()
    } else {
        format!("{head}?{}", kept.join("&"))
    };
    Ok((rest, mode, root))
}

/// Whether every host of `config` is on this machine (a Unix socket, `localhost`, a loopback
/// address); a `hostaddr` decides over its host name.
pub(crate) fn on_loopback(config: &tokio_postgres::Config) -> bool {
    if !config.get_hostaddrs().is_empty() {
        return config.get_hostaddrs().iter().all(|a| a.is_loopback());
    }
    config.get_hosts().iter().all(|h| match h {
        Host::Unix(_) => true,
        Host::Tcp(name) => {
            name.eq_ignore_ascii_case("localhost")
                || name
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|a| a.is_loopback())
        }
    })
}

/// The TLS settings of `mode` and `root` for the hosts of `config` (see the module rules),
/// with `config`'s own `sslmode` set to match.
pub(crate) fn settle(
    config: &mut tokio_postgres::Config,
    mode: Option<SslMode>,
    root: Option<PathBuf>,
) -> Result<TlsSettings, StoreError> {
    let settings = match mode {
        Some(mode) => TlsSettings {
            mode,
            explicit: true,
            root_cert: root,
        },
        None if on_loopback(config) && root.is_none() => TlsSettings {
            mode: SslMode::Disable,
            explicit: false,
            root_cert: None,
        },
        None if root.is_some() => {
            return Err(StoreError::TlsConfig(
                "sslrootcert without sslmode: add sslmode=verify-full".into(),
            ))
        }
        None => {
            return Err(StoreError::TlsConfig(
                "database_url names a host off loopback without sslmode: add \
                 sslmode=verify-full&sslrootcert=PATH (or, knowingly, sslmode=disable)"
                    .into(),
            ))
        }
    };
    if matches!(settings.mode, SslMode::VerifyCa | SslMode::VerifyFull)
        && settings.root_cert.is_none()
    {
        return Err(StoreError::TlsConfig(format!(
            "sslmode={} needs sslrootcert=PATH (the CA file, PEM)",
            settings.mode.as_str()
        )));
    }
    config.ssl_mode(match settings.mode {
        SslMode::Disable => PgSslMode::Disable,
        _ => PgSslMode::Require,
    });
    Ok(settings)
}

/// What the start-up log says of a connection with `settings` to the hosts of `config`:
/// `Some(warning)` when it is plaintext or unauthenticated off loopback.
pub(crate) fn warning(
    settings: &TlsSettings,
    config: &tokio_postgres::Config,
) -> Option<&'static str> {
    if on_loopback(config) {
        return None;
    }
    match (settings.mode, &settings.root_cert) {
        (SslMode::Disable, _) => Some(
            "database connections are plaintext (sslmode=disable) to a host off loopback: \
             passwords and data cross the network readable",
        ),
        (SslMode::Require, None) => Some(
            "database connections are encrypted but the server is not authenticated \
             (sslmode=require without sslrootcert): use sslmode=verify-full",
        ),
        _ => None,
    }
}

/// The connector of every PostgreSQL connection: rustls with the verifier the settings ask
/// for, or plaintext. Cheap to clone.
#[derive(Clone)]
pub(crate) struct PgConnector {
    config: Option<Arc<rustls::ClientConfig>>,
}

impl PgConnector {
    /// The connector for `settings`: reads the CA file (errors name the file, never the URL).
    pub(crate) fn new(settings: &TlsSettings) -> Result<Self, StoreError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match (&settings.root_cert, settings.mode) {
            (Some(path), SslMode::VerifyFull) => web_pki(path, &provider)?,
            (_, SslMode::Disable) => return Ok(Self { config: None }),
            // `settle` refuses this already; never an unauthenticated verify-full.
            (None, SslMode::VerifyFull) => {
                return Err(StoreError::TlsConfig(
                    "sslmode=verify-full needs sslrootcert=PATH".into(),
                ))
            }
            (root, SslMode::VerifyCa | SslMode::Require) => Arc::new(NoNameCheck {
                chain: root.as_deref().map(|p| web_pki(p, &provider)).transpose()?,
                provider: Arc::clone(&provider),
            }),
        };
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::TlsConfig(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // PostgreSQL 17's protocol name; older servers ignore it.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(Self {
            config: Some(Arc::new(config)),
        })
    }
}

fn web_pki(
    path: &Path,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, StoreError> {
    let shown = path.display();
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| StoreError::TlsConfig(format!("sslrootcert {shown}: {e}")))?;
    for cert in certs {
        let cert = cert.map_err(|e| StoreError::TlsConfig(format!("sslrootcert {shown}: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| StoreError::TlsConfig(format!("sslrootcert {shown}: {e}")))?;
    }
    if roots.is_empty() {
        return Err(StoreError::TlsConfig(format!(
            "sslrootcert {shown}: no certificate"
        )));
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .build()
        .map_err(|e| StoreError::TlsConfig(format!("sslrootcert {shown}: {e}")))
}

/// The verifier of `verify-ca` and of `require`: the chain of the web PKI verifier when
/// there is a CA file (`verify-ca`, or `require` with one: libpq's rule), whatever name the
/// certificate gives; no chain at all without one (`require`). The handshake's signatures
/// are always checked, so the peer holds the key of the certificate it shows.
#[derive(Debug)]
struct NoNameCheck {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for NoNameCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // The chain is checked before the name: a name error means the chain passed.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A failed TLS connection to the database (the handshake's reason: a certificate refused,
/// no TLS on the server…); read back by the store's error mapping.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct TlsFailure(pub(crate) String);

impl<S> MakeTlsConnect<S> for PgConnector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = PgTlsStream<S>;
    type TlsConnect = PgTlsConnect;
    type Error = TlsFailure;

    fn make_tls_connect(&mut self, domain: &str) -> Result<PgTlsConnect, TlsFailure> {
        // Called for every host, also under `disable` and for Unix sockets (empty name): a
        // bad name fails only a TLS connection.
        Ok(PgTlsConnect {
            config: self.config.clone(),
            name: ServerName::try_from(domain.to_owned())
                .map_err(|_| TlsFailure(format!("{domain:?} is not a host name for TLS"))),
        })
    }
}

/// The connector of one connection (one host name).
pub(crate) struct PgTlsConnect {
    config: Option<Arc<rustls::ClientConfig>>,
    name: Result<ServerName<'static>, TlsFailure>,
}

impl<S> TlsConnect<S> for PgTlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = PgTlsStream<S>;
    type Error = TlsFailure;
    type Future = Pin<Box<dyn Future<Output = Result<PgTlsStream<S>, TlsFailure>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let config = self
                .config
                .ok_or_else(|| TlsFailure("TLS is off (sslmode=disable)".into()))?;
            let name = self.name?;
            tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await
                .map(PgTlsStream)
                .map_err(|e| TlsFailure(e.to_string()))
        })
    }
}

/// An encrypted connection to the database.
pub(crate) struct PgTlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for PgTlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for PgTlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for PgTlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        let certs = self.0.get_ref().1.peer_certificates();
        match certs.and_then(|c| c.first()).and_then(|c| end_point(c)) {
            Some(hash) => ChannelBinding::tls_server_end_point(hash),
            None => ChannelBinding::none(),
        }
    }
}

/// RFC 5929 `tls-server-end-point`: the certificate's hash with the hash of its signature
/// (MD5 and SHA-1 raised to SHA-256); `None` for other signatures (PSS, EdDSA).
fn end_point(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
    use x509_cert::der::Decode;
    let parsed = x509_cert::Certificate::from_der(cert.as_ref()).ok()?;
    let oid = parsed.signature_algorithm().oid.to_string();
    let algorithm = match oid.as_str() {
        // md5, sha1, sha256 WithRSAEncryption; ecdsa-with-SHA1, -SHA256.
        "1.2.840.113549.1.1.4"
        | "1.2.840.113549.1.1.5"
        | "1.2.840.113549.1.1.11"
        | "1.2.840.10045.4.1"
        | "1.2.840.10045.4.3.2" => &ring::digest::SHA256,
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => &ring::digest::SHA384,
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => &ring::digest::SHA512,
        _ => return None,
    };
    Some(
        ring::digest::digest(algorithm, cert.as_ref())
            .as_ref()
            .to_vec(),
    )
}

/// The handshake's reason when `e` is a failed TLS connection (the server has no TLS, a
/// certificate was refused), else `None`.
pub(crate) fn failure(e: &tokio_postgres::Error) -> Option<String> {
    let text = e.to_string();
    // tokio-postgres's `Kind::Tls` (its `Display`); the source is ours or its own text.
    text.starts_with("error performing TLS handshake")
        .then(|| match std::error::Error::source(e) {
            Some(source) => source.to_string(),
            None => text,
        })
}

#[cfg(test)]
mod tests;
