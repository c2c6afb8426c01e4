// SPDX-License-Identifier: Apache-2.0
//! Attestations the tests build themselves: a small DER writer, a KeyDescription builder,
//! certificate chains made with `rcgen` under a test root, and App Attest objects and
//! assertions signed with the test's own keys.

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use ring::digest::{digest, SHA256};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

/// DER TLV with a one-byte `tag`.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(len(content.len()));
    out.extend_from_slice(content);
    out
}

fn len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A DER `SET OF` (elements sorted as DER requires).
pub fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut sorted = parts.to_vec();
    sorted.sort();
    tlv(0x31, &sorted.concat())
}

/// A `SET OF` in the given order (to build non-DER input).
pub fn set_unsorted(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}

pub fn int(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    tlv(0x02, &bytes[start..])
}

pub fn enumerated(v: i64) -> Vec<u8> {
    let mut out = int(v);
    out[0] = 0x0a;
    out
}

pub fn octets(b: &[u8]) -> Vec<u8> {
    tlv(0x04, b)
}

pub fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

pub fn boolean(b: bool) -> Vec<u8> {
    vec![0x01, 0x01, if b { 0xff } else { 0x00 }]
}

/// `[n] EXPLICIT inner` (context-specific, constructed; high tag numbers in base 128).
pub fn explicit(n: u32, inner: &[u8]) -> Vec<u8> {
    let mut out = if n < 31 {
        vec![0xa0 | n as u8]
    } else {
        let mut digits = vec![(n & 0x7f) as u8];
        let mut rest = n >> 7;
        while rest > 0 {
            digits.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        digits.reverse();
        let mut v = vec![0xbf];
        v.extend(digits);
        v
    };
    out.extend(len(inner.len()));
    out.extend_from_slice(inner);
    out
}

pub const TEST_PACKAGE: &str = "fr.vistalid.test";
pub const TEST_SIGNER_DIGEST: [u8; 32] = [0x5a; 32];

/// A KeyDescription to encode: lists are `(tag, inner DER)` entries in the given order.
#[derive(Clone)]
pub struct KeyDescriptionSpec {
    pub attestation_version: i64,
    pub attestation_level: i64,
    pub keymint_level: i64,
    pub challenge: Vec<u8>,
    pub software: Vec<(u32, Vec<u8>)>,
    pub hardware: Vec<(u32, Vec<u8>)>,
}

/// `RootOfTrust` DER.
pub fn root_of_trust(locked: bool, state: i64) -> Vec<u8> {
    seq(&[
        octets(&[0x11; 32]),
        boolean(locked),
        enumerated(state),
        octets(&[0x22; 32]),
    ])
}

/// `AttestationApplicationId` DER for one package signed by `digest`.
pub fn application_id(package: &str, digest: &[u8]) -> Vec<u8> {
    seq(&[
        set(&[seq(&[octets(package.as_bytes()), int(7)])]),
        set(&[octets(digest)]),
    ])
}

impl KeyDescriptionSpec {
    /// What a genuine TEE key of the test app looks like: generated, SIGN, verified boot,
    /// locked, patch level 2025-11.
    pub fn genuine(challenge: &[u8]) -> Self {
        Self {
            attestation_version: 400,
            attestation_level: 1,
            keymint_level: 1,
            challenge: challenge.to_vec(),
            software: vec![
                (701, int(1_760_000_000_000)),
                (
                    709,
                    octets(&application_id(TEST_PACKAGE, &TEST_SIGNER_DIGEST)),
                ),
            ],
            hardware: vec![
                (1, set(&[int(2), int(3)])),
                (2, int(3)),
                (3, int(256)),
                (10, int(1)),
                (503, null()),
                (702, int(0)),
                (704, root_of_trust(true, 0)),
                (705, int(160000)),
                (706, int(202511)),
                (718, int(20251105)),
                (719, int(20251105)),
            ],
        }
    }

    /// Replaces (or inserts, keeping tag order) hardware entry `tag`.
    pub fn set_hardware(&mut self, tag: u32, inner: Vec<u8>) -> &mut Self {
        set_entry(&mut self.hardware, tag, inner);
        self
    }

    pub fn remove_hardware(&mut self, tag: u32) -> &mut Self {
        self.hardware.retain(|(t, _)| *t != tag);
        self
    }

    pub fn set_software(&mut self, tag: u32, inner: Vec<u8>) -> &mut Self {
        set_entry(&mut self.software, tag, inner);
        self
    }

    pub fn der(&self) -> Vec<u8> {
        let list = |entries: &[(u32, Vec<u8>)]| {
            seq(&entries
                .iter()
                .map(|(t, v)| explicit(*t, v))
                .collect::<Vec<_>>())
        };
        seq(&[
            int(self.attestation_version),
            enumerated(self.attestation_level),
            int(self.attestation_version),
            enumerated(self.keymint_level),
            octets(&self.challenge),
            octets(b""),
            list(&self.software),
            list(&self.hardware),
        ])
    }
}

fn set_entry(entries: &mut Vec<(u32, Vec<u8>)>, tag: u32, inner: Vec<u8>) {
    entries.retain(|(t, _)| *t != tag);
    let at = entries
        .iter()
        .position(|(t, _)| *t > tag)
        .unwrap_or(entries.len());
    entries.insert(at, (tag, inner));
}

/// The KeyDescription extension for rcgen.
pub fn key_description_extension(der: Vec<u8>) -> CustomExtension {
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 11129, 2, 1, 17], der)
}

/// A fresh P-256 key.
pub fn p256() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key")
}

/// A fresh P-384 key.
pub fn p384() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("key")
}

/// Certificate parameters: name `cn`, valid 2025-01-01 to 2035-01-01, CA or not.
pub fn params(cn: &str, ca: Option<BasicConstraints>) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.not_before = rcgen::date_time_ymd(2025, 1, 1);
    p.not_after = rcgen::date_time_ymd(2035, 1, 1);
    p.serial_number = Some(SerialNumber::from_slice(
        &digest(&SHA256, cn.as_bytes()).as_ref()[..8],
    ));
    match ca {
        Some(bc) => {
            p.is_ca = IsCa::Ca(bc);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        None => {
            p.is_ca = IsCa::NoCa;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
    }
    p
}

/// A time inside [`params`]' validity (2030-01-01).
pub const INSIDE: i64 = 1_893_456_000;

/// One certificate to build: its parameters and key; signed by the next one in a chain.
pub struct Link {
    pub params: CertificateParams,
    pub key: KeyPair,
}

/// Builds a chain, leaf first: each certificate is signed by the next; the last one is
/// self-signed. Returns the DER certificates.
pub fn build_chain(links: Vec<Link>) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new(); links.len()];
    let mut issuer: Option<Issuer<'static, KeyPair>> = None;
    for (i, link) in links.into_iter().enumerate().rev() {
        let cert = match &issuer {
            None => link.params.self_signed(&link.key),
            Some(iss) => link.params.signed_by(&link.key, iss),
        }
        .expect("sign");
        out[i] = cert.der().to_vec();
        issuer = Some(Issuer::new(link.params, link.key));
    }
    out
}

/// The standard Android test chain: root, intermediate CA, attestation key CA, leaf with the
/// KeyDescription `kd` (DER, leaf first; the root is the last certificate).
pub fn android_chain(kd: Vec<u8>) -> Vec<Vec<u8>> {
    android_chain_with_root(kd, p384())
}

/// [`android_chain`] under a root with the given key.
pub fn android_chain_with_root(kd: Vec<u8>, root_key: KeyPair) -> Vec<Vec<u8>> {
    build_chain(android_links(kd, root_key))
}

/// The links of [`android_chain`], to alter one before [`build_chain`].
pub fn android_links(kd: Vec<u8>, root_key: KeyPair) -> Vec<Link> {
    let mut leaf = params("Android Keystore Key", None);
    leaf.custom_extensions.push(key_description_extension(kd));
    let link = |params, key| Link { params, key };
    vec![
        link(leaf, p256()),
        link(
            params("Test TEE", Some(BasicConstraints::Unconstrained)),
            p256(),
        ),
        link(
            params("Test Droid CA", Some(BasicConstraints::Constrained(2))),
            p256(),
        ),
        link(
            params(
                "Test Attestation Root",
                Some(BasicConstraints::Unconstrained),
            ),
            root_key,
        ),
    ]
}

/// App Attest pieces built under a test root.
pub struct BuiltAppAttest {
    pub object: Vec<u8>,
    pub key_id: [u8; 32],
    pub client_data_hash: [u8; 32],
    pub root_der: Vec<u8>,
    /// PKCS#8 of the attested key (to sign assertions).
    pub key_pkcs8: Vec<u8>,
}

/// What to put in a built App Attest object.
pub struct AppAttestSpec {
    pub app_id: String,
    pub aaguid: [u8; 16],
    pub counter: u32,
    /// Bytes after the COSE key (flags do not announce them).
    pub trailing: Vec<u8>,
    /// Credential id other than the key id.
    pub credential_id: Option<Vec<u8>>,
    /// A COSE key for another key than the leaf's.
    pub other_cose_key: bool,
    pub fmt: String,
    /// authData flags (0x40: attested credential data present).
    pub flags: u8,
    /// Issue the leaf from an end-entity certificate instead of a CA.
    pub intermediate_not_ca: bool,
}

impl AppAttestSpec {
    pub fn genuine(app_id: &str) -> Self {
        Self {
            app_id: app_id.to_owned(),
            aaguid: *b"appattestdevelop",
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

pub fn sha256(b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, b).as_ref());
    out
}

fn cose_key(point: &[u8]) -> Vec<u8> {
    use ciborium::Value;
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

/// Builds an App Attest attestation object as a device would, under a fresh test root.
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
    let point = leaf_key.public_key_raw().to_vec();
    let key_id = sha256(&point);
    let client_data_hash = sha256(client_data);
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
    let nonce = sha256(&[auth.as_slice(), &client_data_hash].concat());
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
    use ciborium::Value;
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
        client_data_hash,
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
    use ciborium::Value;
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
