// SPDX-License-Identifier: Apache-2.0
//! Shared helpers of the fuzz targets: the fixed seed key (so checked-in seed tokens verify)
//! and small input splitters. Nothing here is used outside fuzzing.

use vistalid_core::keys::{PublicKey, SigningKey};

/// PKCS#8 of the fixed P-256 key that signs the seed corpora (test key, not a secret).
pub const SEED_KEY_PKCS8_HEX: &str = include_str!("../seed-key.pkcs8.hex");

/// The fixed seed signing key.
pub fn seed_key() -> SigningKey {
    let der = hex::decode(SEED_KEY_PKCS8_HEX.trim()).expect("seed key hex is valid");
    SigningKey::from_pkcs8(&der).expect("seed key is a valid P-256 PKCS#8")
}

/// The fixed seed public key.
pub fn seed_public() -> PublicKey {
    seed_key().public_key()
}

/// Splits `data` into a selector byte and the rest (selector 0 for empty input).
pub fn split_selector(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((s, rest)) => (*s, rest),
        None => (0, data),
    }
}
