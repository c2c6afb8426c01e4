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
