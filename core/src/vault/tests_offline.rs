// SPDX-License-Identifier: Apache-2.0
//! Unit tests of the offline-code secrets (issue 16, `offline.rs`).

use super::*;
use crate::keys::SigningKey;
use crate::keystore::MemoryKeystore;
use crate::totp::TotpSecret;

const PIN: &str = "482915";
const NEW_PIN: &str = "730164";
const ACCT: &str = "acct-1";

fn fast() -> VaultConfig {
    VaultConfig {
        argon2: Argon2Params::insecure_fast_for_tests(),
        max_attempts: 5,
        pin_policy: PinPolicy::default(),
        backoff: false,
    }
}

fn vault_with_account(dir: &Path) -> (Vault, MemoryPinGuard, Unlocked) {
    let ks = Arc::new(MemoryKeystore::new());
    let vault = Vault::create(dir, ks, fast()).expect("create");
    let guard = MemoryPinGuard::new(10);
    let confirm = SigningKey::make().expect("key");
    let (key_id, server_key) = guard.enrol(ACCT, confirm.public_key()).expect("enrol");
    let new = NewAccount {
        account_id: ACCT,
        key_id: &key_id,
        server_key: &server_key,
        confirm_key: &confirm,
    };
    let unlocked = vault
        .add_first_account(&Pin::new(PIN), new, b"", &guard)
        .expect("first account");
    (vault, guard, unlocked)
}

#[test]
fn the_secret_comes_back_with_the_pin_and_without_the_server() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, guard, unlocked) = vault_with_account(tmp.path());
    let secret = TotpSecret::new([42u8; 32]);
    unlocked.set_offline_secret(&secret).expect("store");
    let left = guard.guesses_left(ACCT);
    // The phone has no network: the server cannot be reached.
    guard.set_unreachable(true);
    let back = vault.offline_secret(ACCT, &Pin::new(PIN)).expect("unmask");
    assert_eq!(back.expose(), secret.expose());
    // No server step: nothing was counted there.
    assert_eq!(guard.guesses_left(ACCT), left);
    // A wrong PIN gives another secret, and no error: the vault holds no PIN oracle.
    let wrong = vault
        .offline_secret(ACCT, &Pin::new("111112"))
        .expect("no oracle");
    assert_ne!(wrong.expose(), secret.expose());
    // ... and costs no local try (nothing can tell it was wrong).
    assert_eq!(vault.attempts_left().expect("left"), 5);
    assert_eq!(
        vault.offline_secret("acct-2", &Pin::new(PIN)).err(),
        Some(VaultError::NoSuchAccount)
    );
}

#[test]
fn the_file_holds_no_clear_secret_and_is_bound_to_the_keystore() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, _guard, unlocked) = vault_with_account(tmp.path());
    let secret = TotpSecret::new([0x5au8; 32]);
    unlocked.set_offline_secret(&secret).expect("store");
    let bytes = std::fs::read(tmp.path().join(offline::OFFLINE_FILE)).expect("file");
    assert!(!bytes.windows(32).any(|w| w == secret.expose()));
    // Tampering is refused, not silently unmasked.
    let mut bad = bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    std::fs::write(tmp.path().join(offline::OFFLINE_FILE), &bad).expect("write");
    assert_eq!(
        vault.offline_secret(ACCT, &Pin::new(PIN)).err(),
        Some(VaultError::Corrupt)
    );
    // Another keystore cannot open the file.
    std::fs::write(tmp.path().join(offline::OFFLINE_FILE), &bytes).expect("write");
    let other = Vault::handle(tmp.path(), Arc::new(MemoryKeystore::new()), fast());
    assert!(other.offline_secret(ACCT, &Pin::new(PIN)).is_err());
}

#[test]
fn a_vault_without_offline_secrets_still_opens_and_says_there_is_none() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, guard, unlocked) = vault_with_account(tmp.path());
    drop(unlocked);
    // An older vault: no offline.bin at all.
    assert!(!tmp.path().join(offline::OFFLINE_FILE).exists());
    assert_eq!(
        vault.offline_secret(ACCT, &Pin::new(PIN)).err(),
        Some(VaultError::NoOfflineSecret)
    );
    vault
        .unlock(ACCT, &Pin::new(PIN), &guard)
        .expect("unlocks as before");
    vault
        .change_pin(&Pin::new(PIN), &Pin::new(NEW_PIN), &guard)
        .expect("change");
    assert!(!tmp.path().join(offline::OFFLINE_FILE).exists());
}

#[test]
fn a_pin_change_re_masks_the_secret_under_the_new_pin() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, guard, unlocked) = vault_with_account(tmp.path());
    let secret = TotpSecret::new([7u8; 32]);
    unlocked.set_offline_secret(&secret).expect("store");
    drop(unlocked);
    vault
        .change_pin(&Pin::new(PIN), &Pin::new(NEW_PIN), &guard)
        .expect("change");
    let back = vault
        .offline_secret(ACCT, &Pin::new(NEW_PIN))
        .expect("unmask");
    assert_eq!(back.expose(), secret.expose());
    let old = vault
        .offline_secret(ACCT, &Pin::new(PIN))
        .expect("no oracle");
    assert_ne!(old.expose(), secret.expose());
}

#[test]
fn a_locked_vault_gives_no_offline_secret() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (vault, guard, unlocked) = vault_with_account(tmp.path());
    unlocked
        .set_offline_secret(&TotpSecret::new([1u8; 32]))
        .expect("store");
    for _ in 0..5 {
        let _ = vault.unlock(ACCT, &Pin::new("111112"), &guard);
    }
    assert_eq!(
        vault.offline_secret(ACCT, &Pin::new(PIN)).err(),
        Some(VaultError::Pin(PinRefusal::Locked))
    );
}
