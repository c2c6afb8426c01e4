// SPDX-License-Identifier: Apache-2.0
//! TLS to PostgreSQL against a real server (`scripts/pg.sh` with `VL_PG_TLS`: TLS only, every
//! TCP connection without it refused), with a test CA made here: `verify-full` with the right
//! CA connects (and every connection of the server goes through TLS, the wake-up listener's
//! too); a wrong CA, a certificate that does not name the host, and `disable` are refused
//! with typed errors that never show the URL's password; `verify-ca` accepts the CA's
//! certificate whatever name it gives; `require` without a CA encrypts.
//!
//! The server is started only in the PostgreSQL suite (`VL_TEST_DATABASE_URL` set, so
//! scripts/install.sh has installed PostgreSQL); elsewhere the test says so and returns.
#![allow(missing_docs)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use vistalid_server::{ServerConfig, ServerError, StoreError, TEST_DATABASE_ENV};

/// A password in every URL: it must show in no error.
const PASSWORD: &str = "pw-never-shown";
/// The key-encryption key file's text (32 bytes, base64url).
const KEK: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc";

/// A test CA and a server certificate it signed for 127.0.0.1 only, as PEM files in `dir`
/// (`ca.pem`, `server.crt`, `server.key`), and a second CA that signed nothing
/// (`other-ca.pem`).
fn make_certificates(dir: &Path) {
    let ca = |name: &str| {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.clone().self_signed(&key).expect("CA certificate");
        (cert, Issuer::new(params, key))
    };
    let (ca_cert, issuer) = ca("Vistalid test CA");
    let (other_cert, _) = ca("Another CA");
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("server key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("server params");
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    params.subject_alt_names = vec![SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
    let cert = params.signed_by(&key, &issuer).expect("server certificate");
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("ca.pem");
    std::fs::write(dir.join("other-ca.pem"), other_cert.pem()).expect("other-ca.pem");
    std::fs::write(dir.join("server.crt"), cert.pem()).expect("server.crt");
    std::fs::write(dir.join("server.key"), key.serialize_pem()).expect("server.key");
}

/// A TLS-only PostgreSQL started by `scripts/pg.sh`; stopped when dropped.
struct TlsServer {
    state: PathBuf,
    port: u16,
}

impl TlsServer {
    fn start(dir: &Path) -> Self {
        let state = dir.join("pg.state");
        let out = Command::new(script())
            .arg("start")
            .env("VL_PG_STATE", &state)
            .env("VL_PG_TLS", dir)
            .output()
            .expect("scripts/pg.sh");
        assert!(
            out.status.success(),
            "pg.sh start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let port = url
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.split('/').next()?.parse().ok())
            .expect("port in the URL");
        Self { state, port }
    }

    /// The URL to `host` with `params`, the user's password in it.
    fn url(&self, host: &str, params: &str) -> String {
        format!(
            "postgres://vistalid:{PASSWORD}@{host}:{}/postgres?{params}",
            self.port
        )
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .arg("stop")
            .env("VL_PG_STATE", &self.state)
            .status();
    }
}

/// A folder with the key-encryption key and the certificates, and the TLS-only server using
/// them; `None` outside the PostgreSQL suite (said on stderr).
fn tls_server() -> Option<(tempfile::TempDir, TlsServer)> {
    if std::env::var(TEST_DATABASE_ENV).map_or(true, |v| v.is_empty()) {
        eprintln!("skipped here: runs in the PostgreSQL suite ({TEST_DATABASE_ENV} set)");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("kek"), KEK).expect("kek");
    make_certificates(dir.path());
    let pg = TlsServer::start(dir.path());
    Some((dir, pg))
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg.sh")
}

/// Opens the store of a server configured with `url` (blocks; migrates on success).
fn open(dir: &Path, url: &str) -> Result<vistalid_server::Admin, ServerError> {
    let mut c = ServerConfig::new(dir.join("unused.sqlite"));
    c.database_url = Some(url.into());
    c.key_encryption_key_file = Some(dir.join("kek"));
    c.database_wait_timeout_ms = 3000;
    vistalid_server::open_admin(c)
}

fn is_tls_failure(r: &Result<vistalid_server::Admin, ServerError>) -> bool {
    matches!(r, Err(ServerError::Store(StoreError::Tls(_))))
}

fn shown(r: &Result<vistalid_server::Admin, ServerError>) -> String {
    match r {
        Ok(_) => "connected".into(),
        Err(e) => format!("{e} / {e:?}"),
    }
}

#[test]
fn sslmode_is_enforced_against_a_tls_only_server() {
    let Some((dir, pg)) = tls_server() else {
        return;
    };
    let ca = dir.path().join("ca.pem");
    let other = dir.path().join("other-ca.pem");
    let d = dir.path();

    // `sslmode` and `sslrootcert` for `mode` with the CA file `ca`.
    let with = |mode: &str, ca: &Path| format!("sslmode={mode}&sslrootcert={}", ca.display());

    // The right CA and the name on the certificate: connected, migrated (the server
    // refuses every plaintext TCP connection, so each of the store's connections used TLS).
    let ok = open(d, &pg.url("127.0.0.1", &with("verify-full", &ca)));
    assert!(ok.is_ok(), "verify-full with the right CA: {}", shown(&ok));
    drop(ok);

    let refused = [
        (
            "a CA that did not sign the server's certificate",
            pg.url("127.0.0.1", &with("verify-full", &other)),
        ),
        (
            "a host name the certificate does not give",
            pg.url("localhost", &with("verify-full", &ca)),
        ),
        (
            "verify-ca with another CA",
            pg.url("127.0.0.1", &with("verify-ca", &other)),
        ),
    ];
    for (why, url) in &refused {
        let r = open(d, url);
        assert!(is_tls_failure(&r), "{why}: {}", shown(&r));
        assert!(!shown(&r).contains(PASSWORD), "{why}: {}", shown(&r));
    }

    // Plaintext is refused by this server: a database error, not a TLS one, and no password.
    let plain = open(d, &pg.url("127.0.0.1", "sslmode=disable"));
    assert!(
        matches!(plain, Err(ServerError::Store(_))) && !is_tls_failure(&plain),
        "disable: {}",
        shown(&plain)
    );
    assert!(!shown(&plain).contains(PASSWORD), "{}", shown(&plain));

    // verify-ca checks the chain only: the certificate names 127.0.0.1, not localhost.
    let ca_only = open(d, &pg.url("localhost", &with("verify-ca", &ca)));
    assert!(ca_only.is_ok(), "verify-ca: {}", shown(&ca_only));
    drop(ca_only);

    // require without a CA: encrypted, the server not authenticated (libpq's rule).
    let require = open(d, &pg.url("127.0.0.1", "sslmode=require"));
    assert!(require.is_ok(), "require: {}", shown(&require));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_server_and_its_wake_up_listener_work_over_tls() {
    let Some((dir, pg)) = tls_server() else {
        return;
    };
    let mut c = ServerConfig::new(dir.path().join("unused.sqlite"));
    c.database_url = Some(
        pg.url(
            "127.0.0.1",
            &format!(
                "sslmode=verify-full&sslrootcert={}",
                dir.path().join("ca.pem").display()
            ),
        )
        .into(),
    );
    c.key_encryption_key_file = Some(dir.path().join("kek"));
    c.metrics_bind = Some("127.0.0.1:0".parse().expect("address"));
    let server = vistalid_server::start(c).await.expect("server over TLS");
    let admin = server.admin_addr().expect("admin listener");
    let http = reqwest::Client::new();
    // /ready reads the database through the pool; the listener's (re)connections are
    // counted: it connected over TLS too, or the server (TLS only) would have refused it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let metrics = loop {
        let ready = http
            .get(format!("http://{admin}/ready"))
            .send()
            .await
            .expect("ready");
        let text = http
            .get(format!("http://{admin}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        if ready.status().is_success()
            && text.contains(r#"vistalid_wake_listener_events_total{event="connected"} 1"#)
        {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not ready over TLS in 20 s: {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(!metrics.contains(PASSWORD));
    server.shutdown().await;
}
