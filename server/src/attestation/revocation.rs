// SPDX-License-Identifier: Apache-2.0
//! Google's attestation certificate status list, loaded from a file and refreshable without a
//! restart.
//!
//! Format (Google's `attestation/status` document):
//! `{"entries": {"<serial, lower-case hex>": {"status": "REVOKED", "reason": "KEY_COMPROMISE"}}}`.
//! Guarantees: a chain with any certificate whose serial is listed fails, whatever the entry's
//! status (`REVOKED`, `SUSPENDED` or one not known yet: failing closed); serials are compared
//! in lower-case hex without leading zeros, however the file spells them; a file that does not
//! parse is refused as a whole, and [`RevocationSource::reload`] then keeps the list it had.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::chain::Cert;
use super::AttestationError;

/// The status of a listed certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RevocationStatus {
    /// Permanently revoked.
    Revoked,
    /// Suspended (may be lifted later; refused meanwhile).
    Suspended,
    /// A status this version does not know (refused too).
    Other(String),
}

/// One entry of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationEntry {
    /// The entry's status.
    pub status: RevocationStatus,
    /// The reason given (e.g. `KEY_COMPROMISE`), if any.
    pub reason: Option<String>,
}

/// A parsed status list: serial (normalised hex) to entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevocationList {
    entries: HashMap<String, RevocationEntry>,
}

impl RevocationList {
    /// An empty list (nothing revoked).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses the JSON status list.
    pub fn from_json(json: &[u8]) -> Result<Self, AttestationError> {
        let bad = |what: &str| AttestationError::RevocationList(what.to_owned());
        let doc: serde_json::Value = serde_json::from_slice(json).map_err(|_| bad("not JSON"))?;
        let entries = doc
            .get("entries")
            .and_then(serde_json::Value::as_object)
            .ok_or_else(|| bad("no \"entries\" object"))?;
        let mut out = HashMap::with_capacity(entries.len());
        for (serial, entry) in entries {
            let key = normalise_serial(serial).ok_or_else(|| bad("a serial is not hexadecimal"))?;
            let status = match entry.get("status").and_then(serde_json::Value::as_str) {
                Some("REVOKED") => RevocationStatus::Revoked,
                Some("SUSPENDED") => RevocationStatus::Suspended,
                Some(other) => RevocationStatus::Other(other.to_owned()),
                None => return Err(bad("an entry has no \"status\" string")),
            };
            let reason = entry
                .get("reason")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned);
            out.insert(key, RevocationEntry { status, reason });
        }
        Ok(Self { entries: out })
    }

    /// Reads and parses the list at `path`.
    pub fn load(path: &Path) -> Result<Self, AttestationError> {
        let bytes = std::fs::read(path).map_err(|e| {
            AttestationError::RevocationList(format!("cannot read the file: {}", e.kind()))
        })?;
        Self::from_json(&bytes)
    }

    /// The entry for `serial_hex` (any case, leading zeros allowed), if listed.
    pub fn status(&self, serial_hex: &str) -> Option<&RevocationEntry> {
        self.entries.get(&normalise_serial(serial_hex)?)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Fails if any certificate of the chain is listed.
    pub(crate) fn check(&self, certs: &[Cert]) -> Result<(), AttestationError> {
        if certs
            .iter()
            .any(|c| self.entries.contains_key(&c.serial_hex()))
        {
            return Err(AttestationError::Revoked);
        }
        Ok(())
    }
}

/// Lower-case hex without leading zeros, or `None` if `serial` is not hex.
fn normalise_serial(serial: &str) -> Option<String> {
    if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let trimmed = serial.trim_start_matches('0').to_ascii_lowercase();
    Some(if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed
    })
}

/// A status list read from a configured file, which [`Self::reload`] re-reads while requests
/// keep using the list they took with [`Self::current`].
#[derive(Debug)]
pub struct RevocationSource {
    path: PathBuf,
    current: RwLock<Arc<RevocationList>>,
    /// The modification time and length of the file the list in force was read from.
    stamp: std::sync::Mutex<Option<FileStamp>>,
}

/// What tells a changed file: its modification time and length.
type FileStamp = (std::time::SystemTime, u64);

fn stamp_of(path: &Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl RevocationSource {
    /// Loads the list at `path` (fails if it cannot be read or parsed).
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, AttestationError> {
        let path = path.into();
        let stamp = stamp_of(&path);
        let list = RevocationList::load(&path)?;
        Ok(Self {
            path,
            current: RwLock::new(Arc::new(list)),
            stamp: std::sync::Mutex::new(stamp),
        })
    }

    /// Re-reads the file. On success the new list replaces the old one and its entry count is
    /// returned; on failure the old list stays in force.
    pub fn reload(&self) -> Result<usize, AttestationError> {
        let stamp = stamp_of(&self.path);
        let list = RevocationList::load(&self.path)?;
        let len = list.len();
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(list);
        *self
            .stamp
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = stamp;
        Ok(len)
    }

    /// Re-reads the file if its modification time or length changed since the last read:
    /// `Ok(Some(entries))` after a reload, `Ok(None)` when unchanged. A failed read keeps the
    /// old list in force and is retried at the next call.
    pub fn reload_if_changed(&self) -> Result<Option<usize>, AttestationError> {
        let now = stamp_of(&self.path);
        let seen = *self
            .stamp
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if now.is_some() && now == seen {
            return Ok(None);
        }
        self.reload().map(Some)
    }

    /// The list in force now.
    pub fn current(&self) -> Arc<RevocationList> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// The configured file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_normalised() {
        assert_eq!(normalise_serial("00AbC").as_deref(), Some("abc"));
        assert_eq!(normalise_serial("000").as_deref(), Some("0"));
        assert_eq!(normalise_serial(""), None);
        assert_eq!(normalise_serial("12g4"), None);
        assert_eq!(normalise_serial("-12"), None);
    }

    #[test]
    fn list_shapes_are_checked() {
        let list = RevocationList::from_json(
            br#"{"entries":{"0A":{"status":"SUSPENDED"},"b":{"status":"NEW_STATUS","reason":"X"}}}"#,
        )
        .expect("list");
        assert_eq!(list.len(), 2);
        assert_eq!(
            list.status("a").map(|e| &e.status),
            Some(&RevocationStatus::Suspended)
        );
        let other = list.status("000B").expect("listed");
        assert_eq!(other.status, RevocationStatus::Other("NEW_STATUS".into()));
        assert_eq!(other.reason.as_deref(), Some("X"));
        assert!(list.status("c").is_none());
        for bad in [
            &b"[]"[..],
            b"{}",
            br#"{"entries":[]}"#,
            br#"{"entries":{"a":{"status":1}}}"#,
        ] {
            assert!(matches!(
                RevocationList::from_json(bad),
                Err(AttestationError::RevocationList(_))
            ));
        }
        assert!(matches!(
            RevocationList::load(Path::new("/nonexistent/status.json")),
            Err(AttestationError::RevocationList(_))
        ));
    }

    #[test]
    fn a_changed_file_is_reloaded_and_an_unchanged_one_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("status.json");
        std::fs::write(&path, br#"{"entries":{}}"#).expect("write");
        let source = RevocationSource::load(&path).expect("load");
        assert_eq!(source.reload_if_changed(), Ok(None));
        // A longer file: the length tells the change even within the clock's resolution.
        std::fs::write(&path, br#"{"entries":{"0a":{"status":"REVOKED"}}}"#).expect("write");
        assert_eq!(source.reload_if_changed(), Ok(Some(1)));
        assert!(source.current().status("a").is_some());
        assert_eq!(source.reload_if_changed(), Ok(None));
        // A broken file keeps the list in force and is retried.
        std::fs::write(&path, b"not json").expect("write");
        assert!(source.reload_if_changed().is_err());
        assert!(source.current().status("a").is_some());
        std::fs::write(&path, br#"{"entries":{}}"#).expect("write");
        assert_eq!(source.reload_if_changed(), Ok(Some(0)));
    }
}
