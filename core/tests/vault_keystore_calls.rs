// SPDX-License-Identifier: Apache-2.0
//! Keystore PRF calls per approval. An approval reads the device tier, unlocks the PIN tier
//! and writes the device tier back. On a phone each PRF call is a round trip to secure
//! hardware (StrongBox, Secure Enclave), so only the PIN's own PRF (`k_hw`) should reach
//! the keystore once a vault handle has derived its device keys.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use vistalid_core::keystore::{KeystoreError, MemoryKeystore, PlatformKeystore};
use vistalid_core::secret::Pin;
use vistalid_core::vault::{Argon2Params, Vault, VaultConfig, VaultError};
use zeroize::Zeroizing;

const PIN: &str = "482915";

/// A keystore that counts its PRF calls.
struct Counting {
    inner: MemoryKeystore,
    prf_calls: AtomicUsize,
}

impl PlatformKeystore for Counting {
    fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        self.prf_calls.fetch_add(1, Ordering::SeqCst);
        self.inner.prf(input)
    }
    fn delete(&self) -> Result<(), KeystoreError> {
        self.inner.delete()
    }
    fn is_hardware_backed(&self) -> bool {
        false
    }
}

fn config() -> VaultConfig {
    VaultConfig {
        argon2: Argon2Params::insecure_fast_for_tests(),
        backoff: false,
        ..VaultConfig::default()
    }
}

/// What the wallet does for one approval, and the PRF calls it made.
fn approval(vault: &Vault, ks: &Counting) -> usize {
    let before = ks.prf_calls.load(Ordering::SeqCst);
    let state = vault.device_state().expect("read");
    let unlocked = vault.unlock(&Pin::new(PIN)).expect("unlock");
    drop(unlocked);
    vault.set_device_state(&state).expect("write");
    ks.prf_calls.load(Ordering::SeqCst) - before
}

#[test]
fn an_approval_calls_the_keystore_prf_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ks = Arc::new(Counting {
        inner: MemoryKeystore::new(),
        prf_calls: AtomicUsize::new(0),
    });
    Vault::create(tmp.path(), ks.clone(), config(), &Pin::new(PIN)).expect("create");
    let vault = Vault::open(tmp.path(), ks.clone(), config()).expect("open");
    // Opening derived the device keys; every approval now needs only the PIN's PRF.
    for round in 0..3 {
        assert_eq!(approval(&vault, &ks), 1, "round {round}");
    }
}

#[test]
fn cached_device_keys_still_refuse_another_keystore() {
    // A vault directory replaced under a live handle by one of another keystore key: the
    // cached keys do not make it open.
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let ks: Arc<dyn PlatformKeystore> = Arc::new(MemoryKeystore::new());
    let vault = Vault::create(&a, ks.clone(), config(), &Pin::new(PIN)).expect("create");
    vault.device_state().expect("read");
    Vault::create(
        &b,
        Arc::new(MemoryKeystore::new()),
        config(),
        &Pin::new(PIN),
    )
    .expect("create");
    for name in ["vault.hdr", "device.bin", "counter.bin"] {
        std::fs::copy(b.join(name), a.join(name)).expect("copy");
    }
    assert_eq!(
        vault.device_state().err(),
        Some(VaultError::KeystoreMismatch)
    );
    assert!(vault.unlock(&Pin::new(PIN)).is_err());
}
