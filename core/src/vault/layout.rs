// SPDX-License-Identifier: Apache-2.0
//! The files of a vault directory, and the order every operation writes them in.
//!
//! | file | content | written by |
//! |---|---|---|
//! | `vault.hdr` | header: vault id, generation, Argon2 parameters, salt, per account its pinned OPRF key and wrapped data key, MAC | create, adding an account, PIN change (the commit point of each) |
//! | `secrets.<g>.bin` | PIN tiers of generation `g` (decimal), one section per account under that account's data key | create, adding an account, PIN change, `set_secrets` |
//! | `device.bin` | device tier, sealed under a keystore-derived key | create, `set_device_state` |
//! | `counter.bin` | wrong-PIN counter, MACed with a keystore-derived key | create, every PIN try |
//! | `lock` | empty; its `flock` serialises processes | every operation |
//!
//! Every write is [`storage::write_atomic`] (temp file, fsync, rename, fsync of the directory),
//! so each file holds its old or its new content after a kill. On top of that:
//!
//! - **Create**: `counter.bin`, `device.bin`, `secrets.1.bin` (no section), then `vault.hdr`
//!   last (no account). Until the header exists there is no vault ([`super::Vault::exists`]
//!   is false) and create can run again.
//! - **Adding an account** (generation `g`): after the server's evaluation, (1)
//!   `secrets.<g>.bin` is rewritten with the new account's section (the other sections copied
//!   as they are, sections no header entry names dropped); (2) `vault.hdr` is replaced by the
//!   header that lists the account: **the commit point**. A kill before (2) leaves the
//!   account absent (its section an orphan that the old header ignores); after it, present.
//! - **PIN change** (generation `g` to `g + 1`, new random data keys): (1) the counted try of
//!   the old PIN writes `counter.bin`; (2) `secrets.<g+1>.bin` is written, every section sealed
//!   under its account's new data key: nothing points to it yet; (3) `vault.hdr` is replaced by the header of `g + 1`,
//!   which wraps the new data key under the new PIN's KEK: **the commit point**; (4)
//!   `secrets.<g>.bin` is removed. A kill before (3) leaves the old PIN working (and perhaps
//!   an orphan `secrets.<g+1>.bin` whose key was never written anywhere); a kill after (3)
//!   leaves the new PIN working (and perhaps the stale `secrets.<g>.bin`). Stale generations
//!   are removed at the next successful PIN try ([`remove_stale_secrets`]). Once
//!   `secrets.<g>.bin` is gone, a saved copy of the old header opens nothing: its data key
//!   seals no file that still exists.
//! - **Wipe**: the keystore key, then `vault.hdr` (the vault is gone from then on), then the
//!   other files, every `secrets.*.bin` and leftover temp file, and `lock`.
//!
//! The server's OPRF step (format 3) changed what the header wraps, not this order: whatever a
//! generation or an account needs is written (and evaluated by the server) before the header
//! that names it, and the header stays the one commit point. The server's counter is reset
//! (the confirmation) only after the header is written.

use std::io;
use std::path::Path;

use super::storage;

/// The header file: the commit point of create and PIN change.
pub(crate) const HEADER_FILE: &str = "vault.hdr";
/// The device tier.
pub(crate) const DEVICE_FILE: &str = "device.bin";
/// The wrong-PIN counter.
pub(crate) const COUNTER_FILE: &str = "counter.bin";
/// The lock file of the cross-process `flock`.
pub(crate) const LOCK_FILE: &str = "lock";

const SECRETS_PREFIX: &str = "secrets.";
const SECRETS_SUFFIX: &str = ".bin";

/// The name of the PIN-tier file of `generation`: `secrets.<generation>.bin`.
pub(crate) fn secrets_file(generation: u32) -> String {
    format!("{SECRETS_PREFIX}{generation}{SECRETS_SUFFIX}")
}

/// The generation a file name is the PIN tier of, if it is one (`secrets.<g>.bin`, `g`
/// written as [`secrets_file`] writes it).
fn secrets_generation(name: &str) -> Option<u32> {
    let digits = name
        .strip_prefix(SECRETS_PREFIX)?
        .strip_suffix(SECRETS_SUFFIX)?;
    let generation: u32 = digits.parse().ok()?;
    (secrets_file(generation) == name).then_some(generation)
}

/// Removes every PIN-tier file of `dir` except the one of `keep` (`None`: all of them), then
/// makes the removals durable. Returns how many it removed.
pub(crate) fn remove_stale_secrets(dir: &Path, keep: Option<u32>) -> io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        match secrets_generation(name) {
            Some(g) if Some(g) != keep => {
                storage::remove(dir, name)?;
                removed += 1;
            }
            _ => {}
        }
    }
    if removed > 0 {
        storage::sync_dir(dir)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_file_names_round_trip_and_nothing_else_matches() {
        for g in [1, 2, 10, u32::MAX] {
            assert_eq!(secrets_generation(&secrets_file(g)), Some(g));
        }
        assert_eq!(secrets_file(7), "secrets.7.bin");
        for other in [
            "secrets.bin",
            "secrets.01.bin",
            "secrets.+1.bin",
            "secrets.1.bin.tmp",
            ".tmp.secrets.1.bin.9.0",
            "secrets.4294967296.bin",
            "vault.hdr",
        ] {
            assert_eq!(secrets_generation(other), None, "{other}");
        }
    }

    #[test]
    fn remove_stale_keeps_only_the_given_generation() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in [
            secrets_file(1),
            secrets_file(2),
            secrets_file(3),
            "device.bin".into(),
        ] {
            storage::write_atomic(dir.path(), &name, b"x").expect("write");
        }
        assert_eq!(remove_stale_secrets(dir.path(), Some(2)).expect("rm"), 2);
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        left.sort();
        assert_eq!(left, vec!["device.bin".to_owned(), secrets_file(2)]);
        assert_eq!(remove_stale_secrets(dir.path(), None).expect("rm"), 1);
    }
}
