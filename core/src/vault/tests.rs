// SPDX-License-Identifier: Apache-2.0
//! Unit tests of the vault.

use std::sync::atomic::{AtomicU32, Ordering};

use super::*;
use crate::clock::ManualClock;
use crate::keystore::{BadLengthKeystore, KeystoreError, MemoryKeystore};

fn fast() -> VaultConfig {
    VaultConfig {
        argon2: Argon2Params::insecure_fast_for_tests(),
        max_attempts: 5,
        pin_policy: PinPolicy::default(),
        backoff: false,
    }
}

const PIN: &str = "482915";
const OTHER: &str = "730164";

fn new_vault(dir: &Path, config: VaultConfig) -> (Vault, Arc<MemoryKeystore>) {
    let ks = Arc::new(MemoryKeystore::new());
    let vault = Vault::create(dir, ks.clone(), config, &Pin::new(PIN)).expect("create");
    (vault, ks)
}

#[test]
fn vault_and_unlocked_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Vault>();
    check::<Unlocked>();
    check::<VaultError>();
}

#[test]
fn create_open_unlock_round_trip() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("v");
    assert!(!Vault::exists(&dir));
    let ks = Arc::new(MemoryKeystore::new());
    assert_eq!(
        Vault::open(&dir, ks.clone(), fast()).err(),
        Some(VaultError::NotFound)
    );
    let vault = Vault::create(&dir, ks.clone(), fast(), &Pin::new(PIN)).expect("create");
    assert!(Vault::exists(&dir));
    assert_eq!(
        Vault::create(&dir, ks.clone(), fast(), &Pin::new(PIN)).err(),
        Some(VaultError::AlreadyExists)
    );
    assert!(vault.device_state().expect("device").is_empty());
    vault.set_device_state(b"public stuff").expect("set device");
    let unlocked = vault.unlock(&Pin::new(PIN)).expect("unlock");
    assert!(unlocked.secrets().expect("secrets").is_empty());
    unlocked.set_secrets(b"private key bytes").expect("set");
    drop(unlocked);

    let reopened = Vault::open(&dir, ks, fast()).expect("open");
    assert_eq!(
        reopened.device_state().expect("device").as_slice(),
        b"public stuff"
    );
    let unlocked = reopened.unlock(&Pin::new(PIN)).expect("unlock");
    assert_eq!(
        unlocked.secrets().expect("secrets").as_slice(),
        b"private key bytes"
    );
    assert_eq!(reopened.attempts_left(), Ok(5));
}

#[test]
fn create_checks_policy_and_params() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ks: Arc<dyn PlatformKeystore> = Arc::new(MemoryKeystore::new());
    assert!(matches!(
        Vault::create(tmp.path(), ks.clone(), fast(), &Pin::new("123456")),
        Err(VaultError::WeakPin(_))
    ));
    let mut bad = fast();
    bad.argon2.p = 0;
    assert!(matches!(
        Vault::create(tmp.path(), ks, bad, &Pin::new(PIN)),
        Err(VaultError::InvalidConfig(_))
    ));
    assert!(!Vault::exists(tmp.path()));
}

#[test]
fn wrong_pin_counts_down_then_locks() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, _) = new_vault(tmp.path(), fast());
    for left in (0..5).rev() {
        assert_eq!(
            vault.unlock(&Pin::new(OTHER)).err(),
            Some(VaultError::WrongPin { tries_left: left })
        );
        assert_eq!(vault.attempts_left(), Ok(left));
    }
    // Locked for good: even the right PIN is refused, and nothing is counted any more.
    assert_eq!(vault.unlock(&Pin::new(PIN)).err(), Some(VaultError::Locked));
    assert_eq!(
        vault.change_pin(&Pin::new(PIN), &Pin::new(OTHER)).err(),
        Some(VaultError::Locked)
    );
    assert_eq!(vault.attempts_left(), Ok(0));
}

#[test]
fn correct_pin_resets_the_count() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, _) = new_vault(tmp.path(), fast());
    for _ in 0..4 {
        assert!(vault.unlock(&Pin::new(OTHER)).is_err());
    }
    assert_eq!(vault.attempts_left(), Ok(1));
    vault.unlock(&Pin::new(PIN)).expect("unlock");
    assert_eq!(vault.attempts_left(), Ok(5));
}

#[test]
fn backoff_follows_the_schedule_on_the_clock() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut config = fast();
    config.backoff = true;
    let clock = Arc::new(ManualClock::new(1_000_000));
    let (vault, _) = new_vault(tmp.path(), config);
    let vault = vault.with_clock(clock.clone());
    let wrong = || vault.unlock(&Pin::new(OTHER)).err();
    assert_eq!(wrong(), Some(VaultError::WrongPin { tries_left: 4 }));
    assert_eq!(wrong(), Some(VaultError::WrongPin { tries_left: 3 }));
    assert_eq!(
        wrong(),
        Some(VaultError::Backoff {
            retry_after_secs: 1
        })
    );
    // A refused-for-back-off try is not counted.
    assert_eq!(vault.attempts_left(), Ok(3));
    clock.advance(1);
    assert_eq!(wrong(), Some(VaultError::WrongPin { tries_left: 2 }));
    assert_eq!(
        wrong(),
        Some(VaultError::Backoff {
            retry_after_secs: 5
        })
    );
    clock.advance(4);
    assert_eq!(
        vault.unlock(&Pin::new(PIN)).err(),
        Some(VaultError::Backoff {
            retry_after_secs: 1
        })
    );
    clock.advance(1);
    assert_eq!(wrong(), Some(VaultError::WrongPin { tries_left: 1 }));
    assert_eq!(
        wrong(),
        Some(VaultError::Backoff {
            retry_after_secs: 30
        })
    );
    clock.advance(30);
    vault
        .unlock(&Pin::new(PIN))
        .expect("right PIN after the wait");
    assert_eq!(vault.attempts_left(), Ok(5));
    assert_eq!(wrong(), Some(VaultError::WrongPin { tries_left: 4 }));
}

#[test]
fn change_pin_rotates_the_data_key_and_counts_the_old_pin() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, _) = new_vault(tmp.path(), fast());
    vault
        .unlock(&Pin::new(PIN))
        .expect("unlock")
        .set_secrets(b"keep me")
        .expect("set");
    let before = storage::read(tmp.path(), HEADER_FILE).expect("header");
    let secrets_before = storage::read(tmp.path(), &secrets_file(1)).expect("secrets");
    let stale_handle = vault.unlock(&Pin::new(PIN)).expect("unlock");

    // A wrong old PIN is a counted try and changes nothing.
    assert_eq!(
        vault
            .change_pin(&Pin::new(OTHER), &Pin::new("918273"))
            .err(),
        Some(VaultError::WrongPin { tries_left: 4 })
    );
    // A weak new PIN is refused before counting anything.
    assert!(matches!(
        vault.change_pin(&Pin::new(PIN), &Pin::new("000000")),
        Err(VaultError::WeakPin(_))
    ));
    assert_eq!(vault.attempts_left(), Ok(4));

    vault
        .change_pin(&Pin::new(PIN), &Pin::new(OTHER))
        .expect("change");
    assert_eq!(vault.attempts_left(), Ok(5));
    let after = storage::read(tmp.path(), HEADER_FILE).expect("header");
    let old = HeaderFile::parse(&before).expect("parse");
    let new = HeaderFile::parse(&after).expect("parse");
    assert_eq!(new.header.vault_id, old.header.vault_id);
    assert_eq!(new.header.generation, old.header.generation + 1);
    assert_ne!(new.header.salt, old.header.salt);
    // The PIN tier moved to the next generation's file, under a new data key, and the old
    // generation's file is gone.
    assert!(!tmp.path().join(secrets_file(1)).exists());
    let secrets_after = storage::read(tmp.path(), &secrets_file(2)).expect("secrets");
    assert_ne!(secrets_after, secrets_before);
    // A handle unlocked before the change can neither read nor write any more.
    assert_eq!(stale_handle.secrets().err(), Some(VaultError::Stale));
    assert_eq!(
        stale_handle.set_secrets(b"lost").err(),
        Some(VaultError::Stale)
    );
    assert!(!tmp.path().join(secrets_file(1)).exists());

    assert_eq!(
        vault.unlock(&Pin::new(PIN)).err(),
        Some(VaultError::WrongPin { tries_left: 4 })
    );
    let unlocked = vault.unlock(&Pin::new(OTHER)).expect("new PIN");
    assert_eq!(unlocked.secrets().expect("secrets").as_slice(), b"keep me");
    unlocked.set_secrets(b"new gen").expect("set");
    assert_eq!(unlocked.secrets().expect("secrets").as_slice(), b"new gen");
}

/// A keystore that records calls and whether the vault header still existed at `delete`.
struct RecordingKeystore {
    inner: MemoryKeystore,
    header: PathBuf,
    deletes: AtomicU32,
    header_present_at_delete: Mutex<Vec<bool>>,
}

impl PlatformKeystore for RecordingKeystore {
    fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        self.inner.prf(input)
    }

    fn delete(&self) -> Result<(), KeystoreError> {
        self.deletes.fetch_add(1, Ordering::SeqCst);
        self.header_present_at_delete
            .lock()
            .expect("lock")
            .push(self.header.exists());
        self.inner.delete()
    }

    fn is_hardware_backed(&self) -> bool {
        false
    }
}

#[test]
fn wipe_deletes_the_key_first_then_the_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("vault");
    let ks = Arc::new(RecordingKeystore {
        inner: MemoryKeystore::new(),
        header: dir.join(HEADER_FILE),
        deletes: AtomicU32::new(0),
        header_present_at_delete: Mutex::new(Vec::new()),
    });
    let vault = Vault::create(&dir, ks.clone(), fast(), &Pin::new(PIN)).expect("create");
    vault
        .unlock(&Pin::new(PIN))
        .expect("unlock")
        .set_secrets(b"x")
        .expect("set");
    // A leftover temporary file from a crash is removed too.
    std::fs::write(
        dir.join(format!("{}secrets.bin.1.1", storage::TEMP_PREFIX)),
        b"t",
    )
    .expect("write");
    vault.wipe().expect("wipe");
    assert_eq!(ks.deletes.load(Ordering::SeqCst), 1);
    assert_eq!(
        *ks.header_present_at_delete.lock().expect("lock"),
        vec![true]
    );
    assert!(!Vault::exists(&dir));
    assert!(!dir.exists(), "directory removed once empty");
    assert_eq!(
        Vault::open(&dir, ks.clone(), fast()).err(),
        Some(VaultError::NotFound)
    );
    // Re-enrolment works after a wipe.
    Vault::create(&dir, ks, fast(), &Pin::new(PIN)).expect("create again");
}

#[test]
fn copied_vault_does_not_open_with_another_keystore() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("phone-a");
    let dst = tmp.path().join("phone-b");
    let (vault, _) = new_vault(&src, fast());
    vault
        .unlock(&Pin::new(PIN))
        .expect("unlock")
        .set_secrets(b"secret")
        .expect("set");
    std::fs::create_dir(&dst).expect("mkdir");
    for name in [HEADER_FILE, &secrets_file(1), DEVICE_FILE, COUNTER_FILE] {
        std::fs::copy(src.join(name), dst.join(name)).expect("copy");
    }
    let other: Arc<dyn PlatformKeystore> = Arc::new(MemoryKeystore::new());
    assert_eq!(
        Vault::open(&dst, other.clone(), fast()).err(),
        Some(VaultError::KeystoreMismatch)
    );
    // Even a handle made before the key changed cannot unlock with the right PIN.
    let handle = Vault::handle(&dst, other, fast());
    assert_eq!(
        handle.unlock(&Pin::new(PIN)).err(),
        Some(VaultError::KeystoreMismatch)
    );
    assert_eq!(
        handle.device_state().err(),
        Some(VaultError::KeystoreMismatch)
    );
}

#[test]
fn kek_needs_the_keystore_not_only_the_pin() {
    // Same header and PIN, another keystore key: the data key does not unwrap. This is the
    // property that stops off-device brute force, checked below the header MAC.
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_vault, ks) = new_vault(tmp.path(), fast());
    let file =
        HeaderFile::parse(&storage::read(tmp.path(), HEADER_FILE).expect("read")).expect("parse");
    let mut kdf = Argon2Kdf::new();
    let right = derive_kek_for(&mut kdf, &*ks, &file.header, &Pin::new(PIN)).expect("kek");
    assert!(file.unwrap_key(&right).is_some());
    let other = MemoryKeystore::new();
    let wrong = derive_kek_for(&mut kdf, &other, &file.header, &Pin::new(PIN)).expect("kek");
    assert!(file.unwrap_key(&wrong).is_none());
}

#[test]
fn debug_prints_no_secret() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, _) = new_vault(tmp.path(), fast());
    let unlocked = vault.unlock(&Pin::new(PIN)).expect("unlock");
    // EXPOSE: test looks for the key bytes in the Debug output.
    let key_hex = hex::encode(unlocked.data_key().expose());
    let dbg = format!("{unlocked:?} {unlocked:#?} {vault:?}");
    assert!(!dbg.contains(&key_hex));
    assert!(!dbg.contains(&key_hex[..8]));
    assert!(dbg.contains("***"));
    let pin = Pin::new(PIN);
    assert!(!format!("{pin:?}").contains(PIN));
    let err = VaultError::WeakPin("x");
    assert!(!format!("{err:?} {err}").contains(PIN));
}

#[test]
fn missing_files_are_corrupt_not_reset() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, _) = new_vault(tmp.path(), fast());
    let unlocked = vault.unlock(&Pin::new(PIN)).expect("unlock");
    std::fs::remove_file(tmp.path().join(COUNTER_FILE)).expect("rm");
    assert_eq!(
        vault.unlock(&Pin::new(PIN)).err(),
        Some(VaultError::Corrupt)
    );
    std::fs::remove_file(tmp.path().join(secrets_file(1))).expect("rm");
    assert_eq!(unlocked.secrets().err(), Some(VaultError::Corrupt));
    std::fs::remove_file(tmp.path().join(DEVICE_FILE)).expect("rm");
    assert_eq!(vault.device_state().err(), Some(VaultError::Corrupt));
}

#[test]
fn sealed_files_cannot_be_swapped_between_tiers_or_vaults() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let ks: Arc<dyn PlatformKeystore> = Arc::new(MemoryKeystore::new());
    let va = Vault::create(&a, ks.clone(), fast(), &Pin::new(PIN)).expect("create");
    let vb = Vault::create(&b, ks, fast(), &Pin::new(PIN)).expect("create");
    va.set_device_state(b"a").expect("set");
    // Same keystore, another vault's device file: refused.
    std::fs::copy(a.join(DEVICE_FILE), b.join(DEVICE_FILE)).expect("copy");
    assert_eq!(vb.device_state().err(), Some(VaultError::Corrupt));
    // Another vault's secrets file: refused (already by the unlock, which opens it).
    std::fs::copy(a.join(secrets_file(1)), b.join(secrets_file(1))).expect("copy");
    assert_eq!(
        vb.unlock(&Pin::new(PIN)).map(drop).err(),
        Some(VaultError::Corrupt)
    );
    // Another vault's counter file: refused (its tries cannot be reset by a swap).
    std::fs::copy(a.join(COUNTER_FILE), b.join(COUNTER_FILE)).expect("copy");
    assert_eq!(vb.attempts_left().err(), Some(VaultError::Corrupt));
}

#[test]
fn unlocked_write_after_wipe_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("v");
    let (vault, _) = new_vault(&dir, fast());
    let unlocked = vault.unlock(&Pin::new(PIN)).expect("unlock");
    vault.wipe().expect("wipe");
    assert_eq!(
        unlocked.set_secrets(b"late").err(),
        Some(VaultError::NotFound)
    );
}

#[test]
fn restoring_the_old_header_after_a_pin_change_opens_nothing() {
    // Someone who knew the old PIN and can write the app's files saves `vault.hdr`, waits for
    // the PIN change, then puts the old header back: the old PIN must open nothing.
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, ks) = new_vault(tmp.path(), fast());
    vault
        .unlock(&Pin::new(PIN))
        .expect("unlock")
        .set_secrets(b"private key bytes")
        .expect("set");
    let saved = storage::read(tmp.path(), HEADER_FILE).expect("header");
    vault
        .change_pin(&Pin::new(PIN), &Pin::new(OTHER))
        .expect("change");
    storage::write_atomic(tmp.path(), HEADER_FILE, &saved).expect("restore");

    let restored = Vault::open(tmp.path(), ks, fast()).expect("the old header still verifies");
    let opened = restored.unlock(&Pin::new(PIN)).and_then(|u| u.secrets());
    assert_eq!(
        opened.map(|s| s.to_vec()).err(),
        Some(VaultError::Corrupt),
        "the old PIN must not open the secrets"
    );
}

#[test]
fn a_keystore_answering_anything_but_32_bytes_is_refused() {
    for len in [0usize, 31, 33] {
        // Short on every input (the device-root derivation fails first), and short only on
        // the 32-byte `k_pin` (the KEK derivation fails): both refused, nothing created.
        for only_for in [None, Some(envelope::KEY_LEN)] {
            let tmp = tempfile::tempdir().expect("tempdir");
            let ks = Arc::new(BadLengthKeystore::new(len, only_for));
            assert_eq!(
                Vault::create(tmp.path(), ks.clone(), fast(), &Pin::new(PIN)).err(),
                Some(VaultError::Keystore(KeystoreError::BadOutputLength(len))),
                "len {len}, only for {only_for:?}"
            );
            assert!(!Vault::exists(tmp.path()));
            let probed = Vault::check_keystore(&*ks).err();
            if only_for.is_none() {
                assert_eq!(
                    probed,
                    Some(VaultError::Keystore(KeystoreError::BadOutputLength(len)))
                );
            }
        }
    }
}

#[test]
fn a_keystore_that_turns_short_later_is_refused_at_unlock_and_pin_change() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ks = Arc::new(BadLengthKeystore::new(31, Some(envelope::KEY_LEN)));
    ks.broken.store(false, Ordering::SeqCst);
    let vault = Vault::create(tmp.path(), ks.clone(), fast(), &Pin::new(PIN)).expect("create");
    ks.broken.store(true, Ordering::SeqCst);
    let refused = Some(VaultError::Keystore(KeystoreError::BadOutputLength(31)));
    assert_eq!(vault.unlock(&Pin::new(PIN)).err(), refused);
    assert_eq!(
        vault.change_pin(&Pin::new(PIN), &Pin::new(OTHER)).err(),
        refused
    );
    ks.broken.store(false, Ordering::SeqCst);
    vault
        .unlock(&Pin::new(PIN))
        .expect("the right PIN still opens");
}

/// The PIN-tier files in `dir`.
fn secrets_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("ls")
        .filter_map(|e| e.expect("entry").file_name().into_string().ok())
        .filter(|n| n.starts_with("secrets."))
        .collect();
    names.sort();
    names
}

#[test]
fn a_kill_at_any_step_of_change_pin_leaves_the_old_or_the_new_pin() {
    let (mut old_wins, mut new_wins) = (0, 0);
    for step in 0.. {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let (vault, ks) = new_vault(dir, fast());
        vault
            .unlock(&Pin::new(PIN))
            .expect("unlock")
            .set_secrets(b"keep me")
            .expect("set");
        let saved_header = storage::read(dir, HEADER_FILE).expect("header");

        storage::crash::arm(dir, step);
        let result = vault.change_pin(&Pin::new(PIN), &Pin::new(OTHER));
        let killed = storage::crash::disarm(dir);
        drop(vault);
        if !killed {
            result.expect("no kill: the change completes");
            assert!(step >= 6, "change_pin makes several steps, not {step}");
            break;
        }
        assert!(
            result.is_err(),
            "step {step}: the killed call cannot succeed"
        );

        // The app starts again: a new handle on the files the kill left.
        let vault = Vault::open(dir, ks.clone(), fast())
            .unwrap_or_else(|e| panic!("step {step}: the vault does not open: {e:?}"));
        let old = vault.unlock(&Pin::new(PIN));
        let new = vault.unlock(&Pin::new(OTHER));
        let unlocked = match (old, new) {
            (Ok(u), Err(VaultError::WrongPin { .. })) => {
                old_wins += 1;
                u
            }
            (Err(VaultError::WrongPin { .. }), Ok(u)) => {
                new_wins += 1;
                u
            }
            (old, new) => panic!("step {step}: old PIN {old:?}, new PIN {new:?}"),
        };
        assert_eq!(
            unlocked.secrets().expect("secrets").as_slice(),
            b"keep me",
            "step {step}"
        );
        // The successful unlock removed any stale generation: one PIN-tier file is left,
        // so the header saved before the change opens nothing once the new PIN is in force.
        assert_eq!(secrets_files(dir).len(), 1, "step {step}");
        if unlocked.generation() == 2 {
            storage::write_atomic(dir, HEADER_FILE, &saved_header).expect("restore");
            let back = Vault::open(dir, ks.clone(), fast()).expect("open");
            assert_eq!(
                back.unlock(&Pin::new(PIN)).map(drop).err(),
                Some(VaultError::Corrupt),
                "step {step}: the saved header must open nothing"
            );
        }
    }
    println!("killed at each step: old PIN left working {old_wins} times, new PIN {new_wins}");
    assert!(old_wins > 0 && new_wins > 0, "{old_wins} {new_wins}");
}
