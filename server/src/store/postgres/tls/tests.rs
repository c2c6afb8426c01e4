// SPDX-License-Identifier: Apache-2.0
//! The URL's TLS options, the loopback rule, the warnings and the CA file's errors.

use super::*;

fn settings(url: &str) -> Result<TlsSettings, StoreError> {
    let (rest, mode, root) = split_url(url)?;
    let mut config: tokio_postgres::Config = rest.parse().expect("url");
    settle(&mut config, mode, root)
}

#[test]
fn the_tls_options_are_taken_out_of_the_url() {
    let (rest, mode, root) = split_url(
        "postgres://u:p@db.example/x?sslmode=verify-full&options=-c%20a%3Db&sslrootcert=/etc/ca%20x.pem",
    )
    .expect("split");
    assert_eq!(rest, "postgres://u:p@db.example/x?options=-c%20a%3Db");
    assert_eq!(mode, Some(SslMode::VerifyFull));
    assert_eq!(root, Some(PathBuf::from("/etc/ca x.pem")));
    let (rest, mode, _) = split_url("postgres://u@h/x?sslmode=disable").expect("split");
    assert_eq!(
        (rest.as_str(), mode),
        ("postgres://u@h/x", Some(SslMode::Disable))
    );
}

#[test]
fn loopback_defaults_to_plaintext_and_elsewhere_needs_a_mode() {
    for url in [
        "postgres://u@127.0.0.1:5432/x",
        "postgres://u@localhost/x",
        "postgres://u@[::1]/x",
        "postgres://u@%2Frun%2Fpostgresql/x",
    ] {
        assert_eq!(settings(url).expect(url).mode, SslMode::Disable, "{url}");
    }
    let off = settings("postgres://u:hunter2@db.example/x").expect_err("refused");
    assert!(matches!(off, StoreError::TlsConfig(_)), "{off:?}");
    assert!(!off.to_string().contains("hunter2"), "{off}");
    let explicit = settings("postgres://u@db.example/x?sslmode=disable").expect("disable");
    assert!(explicit.explicit);
}

#[test]
fn silent_fallbacks_client_certificates_and_verification_without_a_ca_are_refused() {
    for url in [
        "postgres://u@h/x?sslmode=prefer",
        "postgres://u@h/x?sslmode=allow",
        "postgres://u@h/x?sslmode=verify-full",
        "postgres://u@h/x?sslmode=verify-ca",
        "postgres://u@h/x?sslmode=verify-full&sslrootcert=system",
        "postgres://u@h/x?sslmode=require&sslcert=/c.pem&sslkey=/k.pem",
        "postgres://u@h/x?sslmode=bogus",
        "postgres://u@db.example/x?sslrootcert=/ca.pem",
    ] {
        let e = settings(url).expect_err(url);
        assert!(matches!(e, StoreError::TlsConfig(_)), "{url}: {e:?}");
    }
}

#[test]
fn plaintext_and_unauthenticated_connections_off_loopback_are_warned_about() {
    let warn = |url: &str| {
        let (rest, mode, root) = split_url(url).expect("split");
        let mut config: tokio_postgres::Config = rest.parse().expect("url");
        let s = settle(&mut config, mode, root).expect("settle");
        warning(&s, &config).is_some()
    };
    assert!(warn("postgres://u@db.example/x?sslmode=disable"));
    assert!(warn("postgres://u@db.example/x?sslmode=require"));
    assert!(!warn(
        "postgres://u@db.example/x?sslmode=require&sslrootcert=/ca.pem"
    ));
    assert!(!warn(
        "postgres://u@db.example/x?sslmode=verify-full&sslrootcert=/ca.pem"
    ));
    assert!(!warn("postgres://u@127.0.0.1/x?sslmode=disable"));
}

#[test]
fn a_missing_or_empty_ca_file_is_a_setting_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").expect("write");
    for path in [dir.path().join("absent.pem"), empty] {
        let s = TlsSettings {
            mode: SslMode::VerifyFull,
            explicit: true,
            root_cert: Some(path.clone()),
        };
        let Err(e) = PgConnector::new(&s) else {
            panic!("{} accepted", path.display())
        };
        assert!(matches!(e, StoreError::TlsConfig(_)), "{e:?}");
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    }
}
