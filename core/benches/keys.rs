// SPDX-License-Identifier: Apache-2.0
//! ES256 sign and verify through `vistalid_core::keys` against ring called directly, to
//! measure the wrapper's overhead (goal: ratio at most 1.2).
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair as _, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use vistalid_core::keys::SigningKey;

const MSG: &[u8] = b"eyJhbGciOiJFUzI1NiJ9.eyJjaGFsbGVuZ2UiOiJhYmMiLCJjaG9pY2UiOjQyfQ";

fn sign_verify(c: &mut Criterion) {
    let core_key = SigningKey::make().expect("key");
    let rng = SystemRandom::new();
    let ring_key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, core_key.to_pkcs8(), &rng)
            .expect("same key in ring");
    let public = core_key.public_key();
    let sig = core_key.sign(MSG).expect("sign");
    let ring_public = ring_key.public_key().as_ref().to_vec();

    let mut g = c.benchmark_group("es256_sign");
    g.bench_function("core", |b| {
        b.iter(|| core_key.sign(black_box(MSG)).expect("sign"))
    });
    g.bench_function("ring", |b| {
        b.iter(|| ring_key.sign(&rng, black_box(MSG)).expect("sign"))
    });
    g.finish();

    let mut g = c.benchmark_group("es256_verify");
    g.bench_function("core", |b| {
        b.iter(|| {
            public
                .verify(black_box(MSG), black_box(&sig))
                .expect("verify")
        })
    });
    g.bench_function("ring", |b| {
        b.iter(|| {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, black_box(&ring_public[..]))
                .verify(black_box(MSG), black_box(&sig))
                .expect("verify")
        })
    });
    g.finish();
}

criterion_group!(benches, sign_verify);
criterion_main!(benches);
