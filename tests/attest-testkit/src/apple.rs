// SPDX-License-Identifier: Apache-2.0
//! Apple App Attest as the tests build it: attestation objects (CBOR `apple-appattest`, an
//! `x5c` chain under a test root whose leaf carries the nonce extension
//! 1.2.840.113635.100.8.2) and assertions, signed with the test's own keys.

use ciborium::Value;
use rcgen::{BasicConstraints, CustomExtension, KeyPair};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

use crate::certs::{build_chain, p256, p384, params, Link};
use crate::der::{explicit, octets, seq};
use crate::sha256;

/// The development environment's aaguid.
pub const AAGUID_DEVELOPMENT: [u8; 16] = *b"appattestdevelop";
/// The production environment's aaguid.
pub const AAGUID_PRODUCTION: [u8; 16] = *b"appattest\0\0\0\0\0\0\0";

/// App Attest pieces built under a test root.
pub struct BuiltAppAttest {
    /// The CBOR attestation object.
    pub object: Vec<u8>,
    /// The key id: SHA-256 of the attested key's uncompressed point.
    pub key_id: [u8; 32],
    /// The clientDataHash the object was made for.
    pub client_data_hash: [u8; 32],
    /// The root certificate (DER), to configure as trusted.
    pub root_der: Vec<u8>,
    /// PKCS#8 of the attested key (to sign assertions).
    pub key_pkcs8: Vec<u8>,
}

/// What to put in a built App Attest object.
pub struct AppAttestSpec {
    /// `TEAMID.bundle.id`, whose SHA-256 is the rpIdHash.
    pub app_id: String,
    /// The environment's aaguid.
    pub aaguid: [u8; 16],
    /// The sign counter (0 in a genuine attestation).
    pub counter: u32,
    /// Bytes after the COSE key (flags do not announce them).
    pub trailing: Vec<u8>,
    /// Credential id other than the key id.
    pub credential_id: Option<Vec<u8>>,
    /// A COSE key for another key than the leaf's.
    pub other_cose_key: bool,
    /// The `fmt` text.
    pub fmt: String,
    /// authData flags (0x40: attested credential data present).
    pub flags: u8,
    /// Issue the leaf from an end-entity certificate instead of a CA.
    pub intermediate_not_ca: bool,
}

impl AppAttestSpec {
    /// A genuine development-environment attestation for `app_id`.
    pub fn genuine(app_id: &str) -> Self {
        Self {
            app_id: app_id.to_owned(),
            aaguid: AAGUID_DEVELOPMENT,
            counter: 0,
            trailing: Vec::new(),
            credential_id: None,
            other_cose_key: false,
            fmt: "apple-appattest".into(),
            flags: 0x40,
            intermediate_not_ca: false,
        }
    }
}

fn cose_key(point: &[u8]) -> Vec<u8> {
    let v = Value::Map(vec![
        (Value::Integer(1.into()), Value::Integer(2.into())),
        (Value::Integer(3.into()), Value::Integer((-7).into())),
        (Value::Integer((-1).into()), Value::Integer(1.into())),
        (
            Value::Integer((-2).into()),
            Value::Bytes(point[1..33].to_vec()),
        ),
        (
            Value::Integer((-3).into()),
            Value::Bytes(point[33..65].to_vec()),
        ),
    ]);
    let mut out = Vec::new();
    ciborium::into_writer(&v, &mut out).expect("cbor");
    out
}

/// Builds an App Attest attestation object as a device would, under a fresh test root, for
/// `clientDataHash = SHA-256(client_data)`.
pub fn app_attest(spec: &AppAttestSpec, client_data: &[u8]) -> BuiltAppAttest {
    app_attest_with_keys(spec, client_data, p256(), p384())
}

/// [`app_attest`] with the given attested (leaf) key and root key.
pub fn app_attest_with_keys(
    spec: &AppAttestSpec,
    client_data: &[u8],
    leaf_key: KeyPair,
    root_key: KeyPair,
) -> BuiltAppAttest {
    app_attest_for_hash(spec, &sha256(client_data), leaf_key, root_key)
}

/// [`app_attest_with_keys`] for a given `client_data_hash` (what the app passes to
/// `attestKey`; Vistalid passes the attestation challenge itself).
pub fn app_attest_for_hash(
    spec: &AppAttestSpec,
    client_data_hash: &[u8; 32],
    leaf_key: KeyPair,
    root_key: KeyPair,
) -> BuiltAppAttest {
    let point = leaf_key.public_key_raw().to_vec();
    let key_id = sha256(&point);
    let mut auth = sha256(spec.app_id.as_bytes()).to_vec();
    auth.push(spec.flags);
    auth.extend(spec.counter.to_be_bytes());
    auth.extend(spec.aaguid);
    let credential_id = spec.credential_id.clone().unwrap_or(key_id.to_vec());
    auth.extend((credential_id.len() as u16).to_be_bytes());
    auth.extend(&credential_id);
    let cose_point = if spec.other_cose_key {
        p256().public_key_raw().to_vec()
    } else {
        point.clone()
    };
    auth.extend(cose_key(&cose_point));
    auth.extend(&spec.trailing);
    let nonce = sha256(&[auth.as_slice(), client_data_hash].concat());
    let mut leaf = params("App Attest leaf", None);
    leaf.custom_extensions
        .push(CustomExtension::from_oid_content(
            &[1, 2, 840, 113635, 100, 8, 2],
            seq(&[explicit(1, &octets(&nonce))]),
        ));
    let key_pkcs8 = leaf_key.serialize_der();
    let ca = (!spec.intermediate_not_ca).then_some(BasicConstraints::Constrained(0));
    let chain = build_chain(vec![
        Link {
            params: leaf,
            key: leaf_key,
        },
        Link {
            params: params("Test App Attestation CA", ca),
            key: p384(),
        },
        Link {
            params: params(
                "Test App Attestation Root",
                Some(BasicConstraints::Unconstrained),
            ),
            key: root_key,
        },
    ]);
    let object = Value::Map(vec![
        (Value::Text("fmt".into()), Value::Text(spec.fmt.clone())),
        (
            Value::Text("attStmt".into()),
            Value::Map(vec![
                (
                    Value::Text("x5c".into()),
                    Value::Array(vec![
                        Value::Bytes(chain[0].clone()),
                        Value::Bytes(chain[1].clone()),
                    ]),
                ),
                (
                    Value::Text("receipt".into()),
                    Value::Bytes(b"receipt".to_vec()),
                ),
            ]),
        ),
        (Value::Text("authData".into()), Value::Bytes(auth)),
    ]);
    let mut bytes = Vec::new();
    ciborium::into_writer(&object, &mut bytes).expect("cbor");
    BuiltAppAttest {
        object: bytes,
        key_id,
        client_data_hash: *client_data_hash,
        root_der: chain[2].clone(),
        key_pkcs8,
    }
}

/// An assertion by `key_pkcs8` for `app_id` with `counter` over `client_data_hash`, as
/// `generateAssertion` makes it: ECDSA-SHA256 over nonce = SHA-256(authData ‖ clientDataHash).
pub fn assertion(
    key_pkcs8: &[u8],
    app_id: &str,
    counter: u32,
    client_data_hash: &[u8; 32],
) -> Vec<u8> {
    let mut auth = sha256(app_id.as_bytes()).to_vec();
    auth.push(0x00);
    auth.extend(counter.to_be_bytes());
    let nonce = sha256(&[auth.as_slice(), client_data_hash].concat());
    let rng = SystemRandom::new();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, key_pkcs8, &rng).expect("pkcs8");
    let sig = key.sign(&rng, &nonce).expect("sign");
    let v = Value::Map(vec![
        (
            Value::Text("signature".into()),
            Value::Bytes(sig.as_ref().to_vec()),
        ),
        (Value::Text("authenticatorData".into()), Value::Bytes(auth)),
    ]);
    let mut out = Vec::new();
    ciborium::into_writer(&v, &mut out).expect("cbor");
    out
}
