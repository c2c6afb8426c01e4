// SPDX-License-Identifier: Apache-2.0
//! Concurrent wrong PINs: 16 threads at once, half sharing one `Vault` handle (in-process
//! mutex), half with their own handle on the same directory (cross-handle `flock`). Every
//! try must be counted exactly once, and the vault must lock at the limit.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Barrier};
use vistalid_core::vault::PinRefusal;

mod vault_common;

use vault_common::ACCT;
use vistalid_core::keystore::{MemoryKeystore, PlatformKeystore};
use vistalid_core::secret::Pin;
use vistalid_core::vault::{Argon2Params, PinPolicy, Vault, VaultConfig, VaultError};

const THREADS: usize = 16;
const PIN: &str = "482915";
const WRONG: &str = "730164";

fn config(max_attempts: u32) -> VaultConfig {
    VaultConfig {
        argon2: Argon2Params::insecure_fast_for_tests(),
        max_attempts,
        pin_policy: PinPolicy::default(),
        backoff: false,
    }
}

/// Runs `tries` wrong PINs on each of 16 threads started together; returns every result.
fn hammer(dir: &Path, ks: &Arc<dyn PlatformKeystore>, max: u32, tries: usize) -> Vec<VaultError> {
    let guard = Arc::new(vault_common::guard(dir, u32::MAX));
    let shared = Arc::new(Vault::open(dir, ks.clone(), config(max)).expect("open"));
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let vault = if i % 2 == 0 {
                shared.clone()
            } else {
                Arc::new(Vault::open(dir, ks.clone(), config(max)).expect("open"))
            };
            let barrier = barrier.clone();
            let guard = guard.clone();
            std::thread::spawn(move || {
                barrier.wait();
                (0..tries)
                    .map(|_| {
                        vault
                            .unlock(ACCT, &Pin::new(WRONG), &*guard)
                            .expect_err("wrong PIN")
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect()
}

#[test]
fn sixteen_threads_each_try_counted_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ks: Arc<dyn PlatformKeystore> = Arc::new(MemoryKeystore::new());
    vault_common::create(tmp.path(), tmp.path(), ks.clone(), config(100), PIN).expect("create");
    let results = hammer(tmp.path(), &ks, 100, 5);
    assert_eq!(results.len(), THREADS * 5);
    // Each try saw its own count: the tries_left values are exactly 99, 98, ..., 20.
    let left: BTreeSet<u32> = results
        .iter()
        .map(|e| match e {
            VaultError::Pin(PinRefusal::WrongPin { tries_left }) => *tries_left,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(left, (20..100).collect::<BTreeSet<u32>>());
    let vault = Vault::open(tmp.path(), ks, config(100)).expect("open");
    assert_eq!(vault.attempts_left(), Ok(20));
}

#[test]
fn sixteen_threads_lock_at_the_default_limit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ks: Arc<dyn PlatformKeystore> = Arc::new(MemoryKeystore::new());
    let max = VaultConfig::default().max_attempts;
    assert_eq!(max, 5);
    vault_common::create(tmp.path(), tmp.path(), ks.clone(), config(max), PIN).expect("create");
    let results = hammer(tmp.path(), &ks, max, 2);
    let wrong: BTreeSet<u32> = results
        .iter()
        .filter_map(|e| match e {
            VaultError::Pin(PinRefusal::WrongPin { tries_left }) => Some(*tries_left),
            _ => None,
        })
        .collect();
    let locked = results
        .iter()
        .filter(|e| **e == VaultError::Pin(PinRefusal::Locked))
        .count();
    assert_eq!(
        wrong,
        (0..5).collect::<BTreeSet<u32>>(),
        "exactly 5 counted tries"
    );
    assert_eq!(locked, THREADS * 2 - 5);
    let vault = Vault::open(tmp.path(), ks, config(max)).expect("open");
    assert_eq!(vault.attempts_left(), Ok(0));
    let guard = vault_common::guard(tmp.path(), u32::MAX);
    assert_eq!(
        vault.unlock(ACCT, &Pin::new(PIN), &guard).err(),
        Some(VaultError::Pin(PinRefusal::Locked))
    );
}
