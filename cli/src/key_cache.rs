// SPDX-License-Identifier: Apache-2.0
//! The issuer keys `vistalid verify` fetched, kept in the CLI's data folder
//! (`issuer-keys.json`) so that `vistalid verify --offline` checks offline-mode QR codes with
//! no network, as a professional's software in a basement would.
//!
//! The file is written crash-safely and readable by its owner only ([`files`]). Its format is
//! versioned ([`FORMAT_VERSION`]): a file of another version is refused as a whole, never
//! half-read, and the user is told to fetch the keys again. Version 1 kept, per server (its
//! URL as the client normalises it), the keys as JWKs and when they were fetched; version 2
//! (issue 19) adds each key's validity window (`not_before`, `retired_at`, `not_after`, as the
//! server lists them), which the verifier honours. A version 1 file is still read (its keys
//! without windows); every save writes version 2. Keys are validated again when loaded.
//!
//! [`files`]: crate::files

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vistalid_core::qr::issuer_keys::IssuerKeyEntry;
use vistalid_core::qr::IssuerKey;

use crate::files;

/// The file's name in the data folder.
pub(crate) const FILE_NAME: &str = "issuer-keys.json";
/// The format this code reads and writes.
pub(crate) const FORMAT_VERSION: u32 = 2;
/// The older format still read (keys without windows).
const OLD_VERSION: u32 = 1;

/// Why saved keys cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CacheError {
    /// No keys were ever saved (for this server, if one was named).
    #[error("no issuer keys saved")]
    Missing,
    /// The file is of a format version this code does not read.
    #[error("format version {0} (this program reads {FORMAT_VERSION})")]
    UnsupportedVersion(u64),
    /// The file is not valid JSON of the expected shape, or holds an invalid key.
    #[error("the file is damaged")]
    Corrupt,
    /// The file could not be read.
    #[error("{0}")]
    Io(std::io::Error),
}

/// The file, version 2 (version 1 has the same shape, without windows).
#[derive(Debug, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    servers: Vec<ServerKeys>,
}

/// One server's keys.
#[derive(Debug, Serialize, Deserialize)]
struct ServerKeys {
    /// The server's base URL, normalised.
    server: String,
    /// When the keys were fetched, seconds since the epoch.
    fetched_at: i64,
    /// The issuer keys, as the server published them (EC P-256 JWKs with their windows).
    keys: Vec<IssuerKeyEntry>,
}

/// The cache file's path in `data_dir`.
pub(crate) fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// The form a server URL is saved under (so `http://h:1` and `http://h:1/` are one server).
pub(crate) fn server_key(url: &str) -> String {
    vistalid_core::client::check_server_url(url)
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_else(|_| url.trim_end_matches('/').to_owned())
}

/// Saves `keys` as `server`'s, fetched at `now`, replacing what was saved for that server and
/// keeping the others. A damaged or other-version file is replaced.
pub(crate) fn save(
    data_dir: &Path,
    server: &str,
    keys: &[IssuerKey],
    now: i64,
) -> std::io::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let server = server_key(server);
    let mut file = read(data_dir).unwrap_or(CacheFile {
        version: FORMAT_VERSION,
        servers: Vec::new(),
    });
    file.servers.retain(|s| s.server != server);
    file.servers.push(ServerKeys {
        server,
        fetched_at: now,
        keys: keys.iter().map(IssuerKeyEntry::from_key).collect(),
    });
    let json = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
    files::write_private(&path(data_dir), &json)
}

/// The saved keys of `server`, or of every saved server when `None`, with the oldest of
/// their fetch times.
pub(crate) fn load(
    data_dir: &Path,
    server: Option<&str>,
) -> Result<(Vec<IssuerKey>, i64), CacheError> {
    let file = read(data_dir)?;
    let wanted = server.map(server_key);
    let mut keys = Vec::new();
    let mut fetched_at = i64::MAX;
    for entry in &file.servers {
        if wanted.as_ref().is_some_and(|w| *w != entry.server) {
            continue;
        }
        fetched_at = fetched_at.min(entry.fetched_at);
        for e in &entry.keys {
            keys.push(e.to_key().map_err(|_| CacheError::Corrupt)?);
        }
    }
    if keys.is_empty() {
        return Err(CacheError::Missing);
    }
    Ok((keys, fetched_at))
}

/// Reads and checks the whole file, every key included.
fn read(data_dir: &Path) -> Result<CacheFile, CacheError> {
    let bytes = match std::fs::read(path(data_dir)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(CacheError::Missing),
        Err(e) => return Err(CacheError::Io(e)),
    };
    // The version first, so that a newer file is named as such rather than "damaged".
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| CacheError::Corrupt)?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(FORMAT_VERSION) || v == u64::from(OLD_VERSION) => {}
        Some(v) => return Err(CacheError::UnsupportedVersion(v)),
        None => return Err(CacheError::Corrupt),
    }
    let file: CacheFile = serde_json::from_value(value).map_err(|_| CacheError::Corrupt)?;
    let keys_valid = file
        .servers
        .iter()
        .flat_map(|s| &s.keys)
        .all(|e| e.to_key().is_ok());
    if !keys_valid {
        return Err(CacheError::Corrupt);
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vistalid_core::keys::SigningKey;

    fn key() -> IssuerKey {
        IssuerKey::unbounded(SigningKey::make().expect("key").public_key())
    }

    #[test]
    fn windows_are_kept_and_a_version_1_file_still_reads() {
        let dir = tempfile::tempdir().expect("dir");
        let mut k = key();
        k.not_before = 10;
        k.retired_at = Some(20);
        k.not_after = Some(30);
        save(dir.path(), "http://127.0.0.1:8080", &[k], 5).expect("save");
        assert_eq!(load(dir.path(), None).expect("load"), (vec![k], 5));
        let jwk = serde_json::to_string(&k.key.to_jwk()).expect("jwk");
        let v1 = format!(
            r#"{{"version": 1, "servers": [{{"server": "x", "fetched_at": 7, "keys": [{jwk}]}}]}}"#
        );
        std::fs::write(path(dir.path()), v1).expect("write");
        let (keys, at) = load(dir.path(), None).expect("v1");
        assert_eq!((keys, at), (vec![IssuerKey::unbounded(k.key)], 7));
    }

    #[test]
    fn keys_round_trip_per_server() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(matches!(load(dir.path(), None), Err(CacheError::Missing)));
        let (a, b, c) = (key(), key(), key());
        save(dir.path(), "http://127.0.0.1:8080", &[a], 1).expect("save a");
        save(dir.path(), "https://idp.example.fr/", &[b], 2).expect("save b");
        // A new fetch replaces that server's keys only.
        save(dir.path(), "http://127.0.0.1:8080/", &[c], 3).expect("save c");
        let one = load(dir.path(), Some("http://127.0.0.1:8080"))
            .expect("one")
            .0;
        assert_eq!(one, vec![c]);
        let all = load(dir.path(), None).expect("all").0;
        assert_eq!(all.len(), 2);
        assert!(all.contains(&b) && all.contains(&c) && !all.contains(&a));
        assert!(matches!(
            load(dir.path(), Some("https://other.example.fr")),
            Err(CacheError::Missing)
        ));
    }

    #[test]
    fn another_version_or_damage_is_refused_whole() {
        let dir = tempfile::tempdir().expect("dir");
        let file = path(dir.path());
        std::fs::write(&file, br#"{"version": 3, "servers": []}"#).expect("write");
        assert!(matches!(
            load(dir.path(), None),
            Err(CacheError::UnsupportedVersion(3))
        ));
        for damaged in [
            &b"not json"[..],
            br#"{"servers": []}"#,
            br#"{"version": 1, "servers": [{"server": "x", "fetched_at": 1, "keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}]}"#,
        ] {
            std::fs::write(&file, damaged).expect("write");
            assert!(matches!(load(dir.path(), None), Err(CacheError::Corrupt)));
        }
        // Saving over a damaged file starts a fresh one.
        save(dir.path(), "http://localhost:9", &[key()], 1).expect("save");
        assert_eq!(load(dir.path(), None).expect("load").0.len(), 1);
    }
}
