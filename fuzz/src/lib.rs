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

/// A per-process scratch directory `vistalid-fuzz-<name>-<pid>` on tmpfs when there is one
/// (`/dev/shm`: the vault and SQLite fsync often), else in the temp dir. libFuzzer exits
/// without running destructors, so leftovers of dead processes are removed here first.
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let prefix = format!("vistalid-fuzz-{name}-");
    if let Ok(entries) = std::fs::read_dir(&base) {
        for e in entries.flatten() {
            let file_name = e.file_name();
            let Some(pid) = file_name
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = base.join(format!("{prefix}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The seed public key as a DER SubjectPublicKeyInfo (EC P-256), for targets that trust it.
pub fn seed_spki_der() -> Vec<u8> {
    // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) point }
    let mut spki = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200")
        .expect("static SPKI prefix");
    spki.extend_from_slice(&seed_public().as_sec1()[..]);
    spki
}

/// Splits `data` into consecutive DER elements (tag, definite length, value), as a chain of
/// certificates is sent; stops at the first element that does not fit (and keeps the rest as
/// the last element, so malformed tails are fed too).
pub fn split_der(mut data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !data.is_empty() && out.len() < 12 {
        let total = der_element_len(data).filter(|n| *n <= data.len()).unwrap_or(data.len());
        out.push(data[..total].to_vec());
        data = &data[total..];
    }
    out
}

fn der_element_len(data: &[u8]) -> Option<usize> {
    let first = *data.get(1)?;
    if first < 0x80 {
        return Some(2 + usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 3 {
        return None;
    }
    let len = data.get(2..2 + n)?.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Some(2 + n + len)
}
