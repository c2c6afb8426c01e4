// SPDX-License-Identifier: Apache-2.0
//! Unit tests of the vault.

use std::sync::atomic::{AtomicU32, Ordering};

use super::PinRefusal;
use super::*;
use crate::client::ClientError;
use crate::clock::ManualClock;
use crate::keys::SigningKey;
use crate::keystore::{BadLengthKeystore, KeystoreError, MemoryKeystore};
use crate::oprf::{OprfError, OprfServerKey};

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
const ACCT: &str = "acct-1";

/// A vault, its keystore and the in-process guard of its account.
struct Fix {
    vault: Vault,
    ks: Arc<MemoryKeystore>,
    guard: MemoryPinGuard,
}

impl Fix {
    fn unlock(&self, pin: &str) -> Result<Unlocked, VaultError> {
        self.vault.unlock(ACCT, &Pin::new(pin), &self.guard)
    }

    fn change_pin(&self, old: &str, new: &str) -> Result<(), VaultError> {
        self.vault
            .change_pin(&Pin::new(old), &Pin::new(new), &self.guard)
    }
}

/// Enrols `account` with `guard` and adds it to `vault` as its first account.
fn add_first(
    vault: &Vault,
    guard: &MemoryPinGuard,
    account: &str,
    pin: &str,
) -> Result<Unlocked, VaultError> {
    let confirm = SigningKey::make().expect("key");
    let (key_id, server_key) = guard.enrol(account, confirm.public_key()).expect("enrol");
    let new = NewAccount {
        account_id: account,
        key_id: &key_id,
        server_key: &server_key,
        confirm_key: &confirm,
    };
    vault.add_first_account(&Pin::new(pin), new, b"", guard)
}

fn new_vault(dir: &Path, config: VaultConfig) -> Fix {
    let ks = Arc::new(MemoryKeystore::new());
    let vault = Vault::create(dir, ks.clone(), config).expect("create");
    let guard = MemoryPinGuard::new(10);
    add_first(&vault, &guard, ACCT, PIN).expect("first account");
    Fix { vault, ks, guard }
}

#[test]
fn vault_and_unlocked_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Vault>();
    check::<Unlocked>();
    check::<VaultError>();
    check::<MemoryPinGuard>();
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
    let vault = Vault::create(&dir, ks.clone(), fast()).expect("create");
    assert!(Vault::exists(&dir));
    assert_eq!(
        Vault::create(&dir, ks.clone(), fast()).err(),
        Some(VaultError::AlreadyExists)
    );
    assert_eq!(vault.account_ids(), Ok(vec![]));
    assert!(vault.device_state().expect("device").is_empty());
    vault.set_device_state(b"public stuff").expect("set device");
    let guard = MemoryPinGuard::new(10);
    let unlocked = add_first(&vault, &guard, ACCT, PIN).expect("add");
    assert_eq!(unlocked.account_id(), ACCT);
    assert!(unlocked.secrets().expect("secrets").is_empty());
    unlocked.set_secrets(b"private key bytes").expect("set");
    drop(unlocked);
    // A second first account is refused: later accounts come through an unlock.
    assert_eq!(
        add_first(&vault, &guard, "acct-2", PIN).err(),
        Some(VaultError::AlreadyExists)
    );

    let reopened = Vault::open(&dir, ks, fast()).expect("open");
    assert_eq!(reopened.account_ids(), Ok(vec![ACCT.to_owned()]));
    assert_eq!(
        reopened.device_state().expect("device").as_slice(),
        b"public stuff"
    );
    let unlocked = reopened
        .unlock(ACCT, &Pin::new(PIN), &guard)
        .expect("unlock");
    assert_eq!(
        unlocked.secrets().expect("secrets").as_slice(),
        b"private key bytes"
    );
    assert_eq!(reopened.attempts_left(), Ok(5));
    assert_eq!(guard.guesses_left(ACCT), Some(10), "confirmed");
    assert_eq!(
        reopened.unlock("nobody", &Pin::new(PIN), &guard).err(),
        Some(VaultError::NoSuchAccount)
    );
    assert_eq!(reopened.attempts_left(), Ok(5), "no PIN was checked");
}

#[test]
fn create_and_first_account_check_policy_and_params() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ks: Arc<dyn PlatformKeystore> = Arc::new(MemoryKeystore::new());
    let mut bad = fast();
    bad.argon2.p = 0;
    assert!(matches!(
        Vault::create(tmp.path(), ks.clone(), bad),
        Err(VaultError::InvalidConfig(_))
    ));
    assert!(!Vault::exists(tmp.path()));
    let vault = Vault::create(tmp.path(), ks, fast()).expect("create");
    let guard = MemoryPinGuard::new(10);
    assert!(matches!(
        add_first(&vault, &guard, ACCT, "123456"),
        Err(VaultError::Pin(PinRefusal::WeakPin(_)))
    ));
    assert!(matches!(
        add_first(&vault, &guard, &"a".repeat(129), PIN),
        Err(VaultError::InvalidConfig(_))
    ));
    assert_eq!(vault.account_ids(), Ok(vec![]));
}

#[test]
fn wrong_pin_counts_down_then_locks() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fix = new_vault(tmp.path(), fast());
    for left in (0..5).rev() {
        assert_eq!(
            fix.unlock(OTHER).err(),
            Some(VaultError::Pin(PinRefusal::WrongPin { tries_left: left }))
        );
        assert_eq!(fix.vault.attempts_left(), Ok(left));
    }
    // Locked for good: even the right PIN is refused, and nothing is counted any more.
    assert_eq!(
        fix.unlock(PIN).err(),
        Some(VaultError::Pin(PinRefusal::Locked))
    );
    assert_eq!(
        fix.change_pin(PIN, OTHER).err(),
        Some(VaultError::Pin(PinRefusal::Locked))
    );
    assert_eq!(fix.vault.attempts_left(), Ok(0));
    assert_eq!(
        fix.guard.guesses_left(ACCT),
        Some(5),
        "5 guesses reached it"
    );
}

#[test]
fn correct_pin_resets_both_counts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fix = new_vault(tmp.path(), fast());
    for _ in 0..4 {
        assert!(fix.unlock(OTHER).is_err());
    }
    assert_eq!(fix.vault.attempts_left(), Ok(1));
    assert_eq!(fix.guard.guesses_left(ACCT), Some(6));
    fix.unlock(PIN).expect("unlock");
    assert_eq!(fix.vault.attempts_left(), Ok(5));
    assert_eq!(fix.guard.guesses_left(ACCT), Some(10));
}

#[test]
fn wrong_pin_reports_the_fewer_tries_left_of_phone_and_server() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut config = fast();
    config.max_attempts = 20;
    let ks = Arc::new(MemoryKeystore::new());
    let vault = Vault::create(tmp.path(), ks, config).expect("create");
    let guard = MemoryPinGuard::new(3);
    add_first(&vault, &guard, ACCT, PIN).expect("add");
    let wrong = || vault.unlock(ACCT, &Pin::new(OTHER), &guard).err();
    assert_eq!(
        wrong(),
        Some(VaultError::Pin(PinRefusal::WrongPin { tries_left: 2 }))
    );
    assert_eq!(
        wrong(),
        Some(VaultError::Pin(PinRefusal::WrongPin { tries_left: 1 }))
    );
    assert_eq!(
        wrong(),
        Some(VaultError::Pin(PinRefusal::WrongPin { tries_left: 0 }))
    );
    // The server's limit: refused, its key erased; the right PIN opens nothing any more, and
    // the refused tries are given back on the phone (no PIN was checked).
    for pin in [OTHER, PIN] {
        assert_eq!(
            vault.unlock(ACCT, &Pin::new(pin), &guard).err(),
            Some(VaultError::Guard(PinGuardError::Blocked))
        );
    }
    assert_eq!(vault.attempts_left(), Ok(17));
    assert_eq!(guard.guesses_left(ACCT), Some(0));
}

#[test]
fn rolling_the_local_counter_back_gets_no_more_guesses_than_the_server_allows() {
    // Someone with the files and the keystore puts `counter.bin` back after every try: the
    // local count never moves, but the server's does, and stops at its limit.
    let tmp = tempfile::tempdir().expect("tempdir");
    let fix = new_vault(tmp.path(), fast());
    let saved = storage::read(tmp.path(), COUNTER_FILE).expect("counter");
    let mut evaluated = 0;
    for guess in 0..50 {
        let pin = format!("{:06}", 100_000 + guess * 7919);
        match fix.unlock(&pin) {
            Err(VaultError::Pin(PinRefusal::WrongPin { .. })) => evaluated += 1,
            Err(VaultError::Guard(PinGuardError::Blocked)) => {}
            other => panic!("guess {guess}: {other:?}"),
        }
        storage::write_atomic(tmp.path(), COUNTER_FILE, &saved).expect("roll back");
    }
    assert_eq!(evaluated, 10, "exactly the server's limit");
    assert_eq!(
        fix.unlock(PIN).err(),
        Some(VaultError::Guard(PinGuardError::Blocked)),
        "the right PIN no longer opens the vault"
    );
}

#[test]
fn an_unreachable_server_checks_no_pin_and_costs_no_try() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fix = new_vault(tmp.path(), fast());
    fix.guard.set_unreachable(true);
    for pin in [OTHER, PIN] {
        assert_eq!(
            fix.unlock(pin).err(),
            Some(VaultError::Guard(PinGuardError::Server(
                ClientError::Network { retryable: true }
            )))
        );
    }
    assert_eq!(fix.vault.attempts_left(), Ok(5));
    assert_eq!(
        fix.change_pin(PIN, OTHER).err(),
        Some(VaultError::Guard(PinGuardError::Server(
            ClientError::Network { retryable: true }
        )))
    );
    fix.guard.set_unreachable(false);
    fix.unlock(PIN).expect("unlock");
}

/// A guard that answers with another key than the one the vault pinned.
struct OtherKeyGuard(OprfServerKey);

impl PinGuard for OtherKeyGuard {
    fn evaluate(
        &self,
        _account_id: &str,
        _key_id: &str,
        blinded: &crate::oprf::BlindedElement,
    ) -> Result<GuardAnswer, PinGuardError> {
        Ok(GuardAnswer {
            evaluation: self.0.evaluate(blinded).expect("eval"),
            guesses_left: 10,
        })
    }

    fn confirm(&self, _: &str, _: &str, _: &SigningKey) -> Result<u32, PinGuardError> {
        Ok(10)
    }
}

#[test]
fn an_answer_under_another_server_key_is_refused_before_any_pin_check() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fix = new_vault(tmp.path(), fast());
    let other = OtherKeyGuard(OprfServerKey::make().expect("key"));
    assert_eq!(
        fix.vault.unlock(ACCT, &Pin::new(PIN), &other).err(),
        Some(VaultError::Oprf(OprfError::ProofMismatch))
    );
    assert_eq!(fix.vault.attempts_left(), Ok(5));
}

#[test]
fn each_account_needs_only_its_own_server() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fix = new_vault(tmp.path(), fast());
    let first = fix.unlock(PIN).expect("unlock");
    first.set_secrets(b"one").expect("set");
    let guard2 = MemoryPinGuard::new(10);
    let confirm = SigningKey::make().expect("key");
    let (key_id, pk) = guard2.enrol("acct-2", confirm.public_key()).expect("enrol");
    let second = first
        .add_account(
            NewAccount {
                account_id: "acct-2",
                key_id: &key_id,
                server_key: &pk,
                confirm_key: &confirm,
            },
            b"two",
            &guard2,
        )
        .expect("add");
    assert_eq!(second.secrets().expect("secrets").as_slice(), b"two");
    assert_eq!(
        fix.vault.account_ids(),
        Ok(vec![ACCT.to_owned(), "acct-2".to_owned()])
    );
    // The first account's server is down: the second opens all the same.
    fix.guard.set_unreachable(true);
    let again = fix
        .vault
        .unlock("acct-2", &Pin::new(PIN), &guard2)
        .expect("acct-2");
    assert_eq!(again.secrets().expect("secrets").as_slice(), b"two");
    // One account's secrets written do not touch the other's.
    again.set_secrets(b"two bis").expect("set");
    fix.guard.set_unreachable(false);
    assert_eq!(
        fix.unlock(PIN)
            .expect("acct-1")
            .secrets()
            .expect("s")
            .as_slice(),
        b"one"
    );
    // A PIN change goes through both servers.
    struct Both<'a>(&'a MemoryPinGuard, &'a MemoryPinGuard);
    impl PinGuard for Both<'_> {
        fn evaluate(
            &self,
            a: &str,
            k: &str,
            b: &crate::oprf::BlindedElement,
        ) -> Result<GuardAnswer, PinGuardError> {
            match a {
                ACCT => self.0.evaluate(a, k, b),
                _ => self.1.evaluate(a, k, b),
            }
        }
        fn confirm(&self, a: &str, k: &str, c: &SigningKey) -> Result<u32, PinGuardError> {
            match a {
                ACCT => self.0.confirm(a, k, c),
                _ => self.1.confirm(a, k, c),
            }
        }
    }
    fix.vault
        .change_pin(&Pin::new(PIN), &Pin::new(OTHER), &Both(&fix.guard, &guard2))
        .expect("change");
    let moved = fix
        .vault
        .unlock("acct-2", &Pin::new(OTHER), &guard2)
        .expect("new PIN");
    assert_eq!(moved.secrets().expect("s").as_slice(), b"two bis");
    assert_eq!(guard2.guesses_left("acct-2"), Some(10));
}

#[test]
fn backoff_follows_the_schedule_on_the_clock() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut config = fast();
    config.backoff = true;
    let clock = Arc::new(ManualClock::new(1_000_000));
    let Fix { vault, guard, .. } = new_vault(tmp.path(), config);
    let vault = vault.with_clock(clock.clone());
    let wrong = || vault.unlock(ACCT, &Pin::new(OTHER), &guard).err();
    let right = || vault.unlock(ACCT, &Pin::new(PIN), &guard);
    assert_eq!(
        wrong(),
        Some(VaultError::Pin(PinRefusal::WrongPin { tries_left: 4 }))
    );
    assert_eq!(
        wrong(),
        Some(VaultError::Pin(PinRefusal::WrongPin { tries_left: 3 }))
    );
    assert_eq!(
        wrong(),
        Some(VaultError::Pin(PinRefusal::Backoff {
            retry_after_secs: 1
        }))
    );
    // A refused-for-back-off try is not counted.
    assert_eq!(vault.attempts_left(), Ok(3));
    clock.advance(1);
    assert_eq!(
        wrong(),
        Some(VaultError::Pin(PinRefusal::WrongPin { tries_left: 2 }))
    );
    assert_eq!(
        wrong(),
        Some(VaultError::Pin(PinRefusal::Backoff {
            retry_after_secs: 5
        }))
    );
    clock.advance(4);
    assert_eq!(
        right().err(),
        Some(VaultError::Pin(PinRefusal::Backoff {
            retry_after_secs: 1
        }))
    );
    clock.advance(1);
    assert_eq!(
        wrong(),
        Some(VaultError::Pin(PinRefusal::WrongPin { tries_left: 1 }))
    );
    assert_eq!(
        wrong(),
        Some(VaultError::Pin(PinRefusal::Backoff {
            retry_after_secs: 30
        }))
    );
    clock.advance(30);
    right().expect("right PIN after the wait");
    assert_eq!(vault.attempts_left(), Ok(5));
    assert_eq!(
        wrong(),
        Some(VaultError::Pin(PinRefusal::WrongPin { tries_left: 4 }))
    );
}

#[test]
fn change_pin_rotates_the_data_key_and_counts_the_old_pin() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fix = new_vault(tmp.path(), fast());
    fix.unlock(PIN)
        .expect("unlock")
        .set_secrets(b"keep me")
        .expect("set");
    let before = storage::read(tmp.path(), HEADER_FILE).expect("header");
    let secrets_before = storage::read(tmp.path(), &secrets_file(1)).expect("secrets");
    let stale_handle = fix.unlock(PIN).expect("unlock");

    // A wrong old PIN is a counted try and changes nothing.
    assert_eq!(
        fix.change_pin(OTHER, "918273").err(),
        Some(VaultError::Pin(PinRefusal::WrongPin { tries_left: 4 }))
    );
    // A weak new PIN is refused before counting anything.
    assert!(matches!(
        fix.change_pin(PIN, "000000"),
        Err(VaultError::Pin(PinRefusal::WeakPin(_)))
    ));
    assert_eq!(fix.vault.attempts_left(), Ok(4));

    fix.change_pin(PIN, OTHER).expect("change");
    assert_eq!(fix.vault.attempts_left(), Ok(5));
    assert_eq!(fix.guard.guesses_left(ACCT), Some(10), "confirmed");
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
        fix.unlock(PIN).err(),
        Some(VaultError::Pin(PinRefusal::WrongPin { tries_left: 4 }))
    );
    let unlocked = fix.unlock(OTHER).expect("new PIN");
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
    let vault = Vault::create(&dir, ks.clone(), fast()).expect("create");
    let guard = MemoryPinGuard::new(10);
    add_first(&vault, &guard, ACCT, PIN)
        .expect("add")
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
    Vault::create(&dir, ks, fast()).expect("create again");
}

#[test]
fn copied_vault_does_not_open_with_another_keystore() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("phone-a");
    let dst = tmp.path().join("phone-b");
    let fix = new_vault(&src, fast());
    fix.unlock(PIN)
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
        handle.unlock(ACCT, &Pin::new(PIN), &fix.guard).err(),
        Some(VaultError::KeystoreMismatch)
    );
    assert_eq!(
        handle.device_state().err(),
        Some(VaultError::KeystoreMismatch)
    );
}

#[test]
fn debug_prints_no_secret() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fix = new_vault(tmp.path(), fast());
    let unlocked = fix.unlock(PIN).expect("unlock");
    // EXPOSE: test looks for the key bytes in the Debug output.
    let key_hex = hex::encode(unlocked.data_key().expose());
    let dbg = format!("{unlocked:?} {unlocked:#?} {:?} {:?}", fix.vault, fix.guard);
    assert!(!dbg.contains(&key_hex));
    assert!(!dbg.contains(&key_hex[..8]));
    assert!(dbg.contains("***"));
    let pin = Pin::new(PIN);
    assert!(!format!("{pin:?}").contains(PIN));
    let err = VaultError::Pin(PinRefusal::WeakPin("x"));
    assert!(!format!("{err:?} {err}").contains(PIN));
}

#[test]
fn missing_files_are_corrupt_not_reset() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fix = new_vault(tmp.path(), fast());
    let unlocked = fix.unlock(PIN).expect("unlock");
    std::fs::remove_file(tmp.path().join(COUNTER_FILE)).expect("rm");
    assert_eq!(fix.unlock(PIN).err(), Some(VaultError::Corrupt));
    std::fs::remove_file(tmp.path().join(secrets_file(1))).expect("rm");
    assert_eq!(unlocked.secrets().err(), Some(VaultError::Corrupt));
    std::fs::remove_file(tmp.path().join(DEVICE_FILE)).expect("rm");
    assert_eq!(fix.vault.device_state().err(), Some(VaultError::Corrupt));
}

#[test]
fn sealed_files_cannot_be_swapped_between_tiers_or_vaults() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let ks: Arc<dyn PlatformKeystore> = Arc::new(MemoryKeystore::new());
    let va = Vault::create(&a, ks.clone(), fast()).expect("create");
    let vb = Vault::create(&b, ks, fast()).expect("create");
    let (ga, gb) = (MemoryPinGuard::new(10), MemoryPinGuard::new(10));
    add_first(&va, &ga, ACCT, PIN).expect("a");
    add_first(&vb, &gb, ACCT, PIN).expect("b");
    va.set_device_state(b"a").expect("set");
    // Same keystore, another vault's device file: refused.
    std::fs::copy(a.join(DEVICE_FILE), b.join(DEVICE_FILE)).expect("copy");
    assert_eq!(vb.device_state().err(), Some(VaultError::Corrupt));
    // Another vault's secrets file: refused (already by the unlock, which opens it).
    std::fs::copy(a.join(secrets_file(1)), b.join(secrets_file(1))).expect("copy");
    assert_eq!(
        vb.unlock(ACCT, &Pin::new(PIN), &gb).map(drop).err(),
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
    let fix = new_vault(&dir, fast());
    let unlocked = fix.unlock(PIN).expect("unlock");
    fix.vault.wipe().expect("wipe");
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
    let fix = new_vault(tmp.path(), fast());
    fix.unlock(PIN)
        .expect("unlock")
        .set_secrets(b"private key bytes")
        .expect("set");
    let saved = storage::read(tmp.path(), HEADER_FILE).expect("header");
    fix.change_pin(PIN, OTHER).expect("change");
    storage::write_atomic(tmp.path(), HEADER_FILE, &saved).expect("restore");

    let restored =
        Vault::open(tmp.path(), fix.ks.clone(), fast()).expect("the old header still verifies");
    let opened = restored
        .unlock(ACCT, &Pin::new(PIN), &fix.guard)
        .and_then(|u| u.secrets());
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
        // the 32-byte `k_pin` (the KEK derivation fails): both refused, no account added.
        for only_for in [None, Some(envelope::KEY_LEN)] {
            let tmp = tempfile::tempdir().expect("tempdir");
            let ks = Arc::new(BadLengthKeystore::new(len, only_for));
            let refused = Some(VaultError::Keystore(KeystoreError::BadOutputLength(len)));
            let result = Vault::create(tmp.path(), ks.clone(), fast()).and_then(|v| {
                add_first(&v, &MemoryPinGuard::new(10), ACCT, PIN)?;
                Ok(v)
            });
            assert_eq!(result.err(), refused, "len {len}, only for {only_for:?}");
            let probed = Vault::check_keystore(&*ks).err();
            if only_for.is_none() {
                assert!(!Vault::exists(tmp.path()));
                assert_eq!(probed, refused);
            }
        }
    }
}

#[test]
fn a_keystore_that_turns_short_later_is_refused_at_unlock_and_pin_change() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ks = Arc::new(BadLengthKeystore::new(31, Some(envelope::KEY_LEN)));
    ks.broken.store(false, Ordering::SeqCst);
    let vault = Vault::create(tmp.path(), ks.clone(), fast()).expect("create");
    let guard = MemoryPinGuard::new(10);
    add_first(&vault, &guard, ACCT, PIN).expect("add");
    ks.broken.store(true, Ordering::SeqCst);
    let refused = Some(VaultError::Keystore(KeystoreError::BadOutputLength(31)));
    assert_eq!(vault.unlock(ACCT, &Pin::new(PIN), &guard).err(), refused);
    assert_eq!(
        vault
            .change_pin(&Pin::new(PIN), &Pin::new(OTHER), &guard)
            .err(),
        refused
    );
    ks.broken.store(false, Ordering::SeqCst);
    vault
        .unlock(ACCT, &Pin::new(PIN), &guard)
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
        let Fix { vault, ks, guard } = new_vault(dir, fast());
        vault
            .unlock(ACCT, &Pin::new(PIN), &guard)
            .expect("unlock")
            .set_secrets(b"keep me")
            .expect("set");
        let saved_header = storage::read(dir, HEADER_FILE).expect("header");

        storage::crash::arm(dir, step);
        let result = vault.change_pin(&Pin::new(PIN), &Pin::new(OTHER), &guard);
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
        let old = vault.unlock(ACCT, &Pin::new(PIN), &guard);
        let new = vault.unlock(ACCT, &Pin::new(OTHER), &guard);
        let unlocked = match (old, new) {
            (Ok(u), Err(VaultError::Pin(PinRefusal::WrongPin { .. }))) => {
                old_wins += 1;
                u
            }
            (Err(VaultError::Pin(PinRefusal::WrongPin { .. })), Ok(u)) => {
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
                back.unlock(ACCT, &Pin::new(PIN), &guard).map(drop).err(),
                Some(VaultError::Corrupt),
                "step {step}: the saved header must open nothing"
            );
        }
    }
    println!("killed at each step: old PIN left working {old_wins} times, new PIN {new_wins}");
    assert!(old_wins > 0 && new_wins > 0, "{old_wins} {new_wins}");
}

#[test]
fn a_kill_at_any_step_of_adding_an_account_leaves_it_absent_or_whole() {
    let (mut absent, mut whole) = (0, 0);
    for step in 0.. {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let Fix { vault, ks, guard } = new_vault(dir, fast());
        let first = vault.unlock(ACCT, &Pin::new(PIN), &guard).expect("unlock");
        first.set_secrets(b"one").expect("set");
        let confirm = SigningKey::make().expect("key");
        let (key_id, pk) = guard.enrol("acct-2", confirm.public_key()).expect("enrol");
        storage::crash::arm(dir, step);
        let result = first.add_account(
            NewAccount {
                account_id: "acct-2",
                key_id: &key_id,
                server_key: &pk,
                confirm_key: &confirm,
            },
            b"two",
            &guard,
        );
        let killed = storage::crash::disarm(dir);
        drop((first, vault));
        if !killed {
            result.expect("no kill: the account is added");
            assert!(step >= 2, "adding makes several steps, not {step}");
            break;
        }
        let vault = Vault::open(dir, ks.clone(), fast()).expect("open");
        let one = vault.unlock(ACCT, &Pin::new(PIN), &guard).expect("acct-1");
        assert_eq!(one.secrets().expect("s").as_slice(), b"one", "step {step}");
        match vault.unlock("acct-2", &Pin::new(PIN), &guard) {
            Ok(two) => {
                whole += 1;
                assert_eq!(two.secrets().expect("s").as_slice(), b"two");
            }
            Err(VaultError::NoSuchAccount) => absent += 1,
            Err(e) => panic!("step {step}: {e:?}"),
        }
    }
    assert!(absent > 0 && whole > 0, "{absent} {whole}");
}

#[test]
fn a_pin_change_after_nine_wrong_guesses_does_not_reach_the_servers_limit() {
    // The old PIN's check is the 10th guess; the new PIN's evaluation must not be an 11th.
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut config = fast();
    config.max_attempts = 20;
    let ks = Arc::new(MemoryKeystore::new());
    let vault = Vault::create(tmp.path(), ks, config).expect("create");
    let guard = MemoryPinGuard::new(10);
    add_first(&vault, &guard, ACCT, PIN).expect("add");
    for _ in 0..9 {
        assert!(matches!(
            vault.unlock(ACCT, &Pin::new(OTHER), &guard),
            Err(VaultError::Pin(PinRefusal::WrongPin { .. }))
        ));
    }
    assert_eq!(guard.guesses_left(ACCT), Some(1));
    vault
        .change_pin(&Pin::new(PIN), &Pin::new("918273"), &guard)
        .expect("the right old PIN changes the PIN");
    assert_eq!(guard.guesses_left(ACCT), Some(10));
    vault
        .unlock(ACCT, &Pin::new("918273"), &guard)
        .expect("the new PIN opens");
}
