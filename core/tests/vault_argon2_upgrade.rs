// SPDX-License-Identifier: Apache-2.0
//! Argon2 parameter upgrade: a vault keeps the parameters in its header (unlock always uses
//! those), and takes [`VaultConfig::argon2`] at its next PIN change. Checked through the
//! public `Vault` API and the documented header layout (`core/src/vault/envelope.rs`: magic 4,
//! version 2, vault id 16, generation 4, then `m`, `t`, `p` as big-endian `u32`s).

use std::path::Path;
use std::sync::Arc;

use vistalid_core::keystore::{MemoryKeystore, PlatformKeystore};
use vistalid_core::secret::Pin;
use vistalid_core::vault::{Argon2Params, Vault, VaultConfig, VaultError};

const OLD_PIN: &str = "482915";
const NEW_PIN: &str = "739164";

/// The (generation, Argon2 parameters) a vault's header file holds.
fn header_of(dir: &Path) -> (u32, Argon2Params) {
    let bytes = std::fs::read(dir.join("vault.hdr")).expect("header");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    (
        word(22),
        Argon2Params {
            m_kib: word(26),
            t: word(30),
            p: word(34),
        },
    )
}

fn config(argon2: Argon2Params) -> VaultConfig {
    VaultConfig {
        argon2,
        backoff: false,
        ..VaultConfig::default()
    }
}

#[test]
fn an_old_parameter_vault_unlocks_and_takes_the_new_parameters_at_pin_change() {
    let old = Argon2Params::PREVIOUS_DEFAULT;
    let new = Argon2Params::DEFAULT;
    assert_ne!(old, new, "the product parameters changed");
    let tmp = tempfile::tempdir().expect("tempdir");
    let keystore: Arc<dyn PlatformKeystore> = Arc::new(MemoryKeystore::new());
    // A vault made by the previous release.
    let before = Vault::create(
        tmp.path(),
        keystore.clone(),
        config(old),
        &Pin::new(OLD_PIN),
    )
    .expect("create");
    before
        .unlock(&Pin::new(OLD_PIN))
        .expect("unlock")
        .set_secrets(b"account keys")
        .expect("secrets");
    drop(before);
    assert_eq!(header_of(tmp.path()), (1, old));

    // This release opens it with the new defaults: it still unlocks, and unlocking does not
    // rewrite the header.
    let vault = Vault::open(tmp.path(), keystore, config(new)).expect("open");
    let unlocked = vault
        .unlock(&Pin::new(OLD_PIN))
        .expect("unlock with old parameters");
    assert_eq!(&unlocked.secrets().expect("secrets")[..], b"account keys");
    assert_eq!(header_of(tmp.path()), (1, old));

    // The next PIN change writes the new parameters (and a new generation).
    vault
        .change_pin(&Pin::new(OLD_PIN), &Pin::new(NEW_PIN))
        .expect("change PIN");
    assert_eq!(header_of(tmp.path()), (2, new));
    let unlocked = vault
        .unlock(&Pin::new(NEW_PIN))
        .expect("unlock with new parameters");
    assert_eq!(&unlocked.secrets().expect("secrets")[..], b"account keys");
    assert!(matches!(
        vault.unlock(&Pin::new(OLD_PIN)),
        Err(VaultError::WrongPin { .. })
    ));
}
