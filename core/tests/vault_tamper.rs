// SPDX-License-Identifier: Apache-2.0
//! Tamper property: flipping any byte of any vault file, truncating it or extending it makes
//! the vault refuse with a typed error (`Corrupt`, or `KeystoreMismatch` /
//! `UnsupportedVersion` when that is what the changed bytes say), never a panic and never a
//! success.

use std::path::Path;
use std::sync::{Arc, OnceLock};

mod vault_common;

use proptest::prelude::*;
use vault_common::ACCT;
use vistalid_core::keystore::{MemoryKeystore, PlatformKeystore};
use vistalid_core::secret::Pin;
use vistalid_core::vault::{
    Argon2Params, MemoryPinGuard, PinPolicy, Vault, VaultConfig, VaultError,
};

const FILES: [&str; 4] = ["vault.hdr", "secrets.1.bin", "device.bin", "counter.bin"];
const PIN: &str = "482915";

fn config() -> VaultConfig {
    VaultConfig {
        argon2: Argon2Params::insecure_fast_for_tests(),
        max_attempts: 5,
        pin_policy: PinPolicy::default(),
        backoff: false,
    }
}

struct Template {
    dir: tempfile::TempDir,
    keystore: Arc<dyn PlatformKeystore>,
    guard: MemoryPinGuard,
}

fn template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let keystore: Arc<dyn PlatformKeystore> = Arc::new(MemoryKeystore::new());
        let vault_dir = dir.path().join("vault");
        let (vault, guard) =
            vault_common::create(dir.path(), &vault_dir, keystore.clone(), config(), PIN)
                .expect("create");
        vault.set_device_state(b"device state").expect("device");
        vault
            .unlock(ACCT, &Pin::new(PIN), &guard)
            .expect("unlock")
            .set_secrets(b"the secrets")
            .expect("secrets");
        Template {
            dir,
            keystore,
            guard,
        }
    })
}

/// Everything a wallet does with a vault; `Ok` only if all of it works.
fn use_vault(dir: &Path, keystore: Arc<dyn PlatformKeystore>) -> Result<(), VaultError> {
    let vault = Vault::open(dir, keystore, config())?;
    vault.attempts_left()?;
    let device = vault.device_state()?;
    let secrets = vault
        .unlock(ACCT, &Pin::new(PIN), &template().guard)?
        .secrets()?;
    assert_eq!(
        device.as_slice(),
        b"device state",
        "tampered content accepted"
    );
    assert_eq!(
        secrets.as_slice(),
        b"the secrets",
        "tampered content accepted"
    );
    Ok(())
}

fn copy_template() -> tempfile::TempDir {
    let t = template();
    let dst = tempfile::tempdir().expect("tempdir");
    for name in FILES {
        std::fs::copy(t.dir.path().join("vault").join(name), dst.path().join(name)).expect("copy");
    }
    dst
}

fn assert_refused(result: Result<(), VaultError>) -> Result<(), TestCaseError> {
    match result {
        Err(
            VaultError::Corrupt | VaultError::KeystoreMismatch | VaultError::UnsupportedVersion(_),
        ) => Ok(()),
        other => Err(TestCaseError::fail(format!("not refused: {other:?}"))),
    }
}

#[test]
fn untampered_copy_works() {
    let dir = copy_template();
    use_vault(dir.path(), template().keystore.clone()).expect("untouched vault works");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn flipping_any_byte_is_refused(file in 0..FILES.len(), pos in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let dir = copy_template();
        let path = dir.path().join(FILES[file]);
        let mut bytes = std::fs::read(&path).expect("read");
        let at = pos.index(bytes.len());
        bytes[at] ^= mask;
        std::fs::write(&path, &bytes).expect("write");
        assert_refused(use_vault(dir.path(), template().keystore.clone()))?;
    }

    #[test]
    fn truncating_or_extending_is_refused(file in 0..FILES.len(), cut in any::<prop::sample::Index>(), extra in prop::collection::vec(any::<u8>(), 1..8)) {
        let dir = copy_template();
        let path = dir.path().join(FILES[file]);
        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&path, &bytes[..cut.index(bytes.len())]).expect("write");
        assert_refused(use_vault(dir.path(), template().keystore.clone()))?;
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        std::fs::write(&path, &longer).expect("write");
        assert_refused(use_vault(dir.path(), template().keystore.clone()))?;
    }
}
