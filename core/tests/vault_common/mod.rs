// SPDX-License-Identifier: Apache-2.0
//! Shared by the vault's integration tests: an in-process PIN guard that every process of a
//! test rebuilds alike (each account's OPRF key from a fixed seed, its confirmation key from
//! a file in the test's directory), and a vault with one account.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::sync::Arc;

use vistalid_core::keys::SigningKey;
use vistalid_core::keystore::PlatformKeystore;
use vistalid_core::oprf::{OprfPublicKey, OprfServerKey};
use vistalid_core::secret::Pin;
use vistalid_core::vault::{MemoryPinGuard, NewAccount, Unlocked, Vault, VaultConfig, VaultError};

/// The first account of the tests' vaults.
pub const ACCT: &str = "acct-1";

/// Account `account`'s confirmation key, kept in `root` (made on first use).
pub fn confirm_key(root: &Path, account: &str) -> SigningKey {
    let path = root.join(format!("confirm-{account}.pk8"));
    if let Ok(der) = std::fs::read(&path) {
        return SigningKey::from_pkcs8(&der).expect("confirm key");
    }
    let key = SigningKey::make().expect("key");
    std::fs::write(&path, key.to_pkcs8().as_slice()).expect("write confirm key");
    key
}

/// Enrols `account` with `guard` (its OPRF key the same in every process); returns the key id
/// and the public key the vault pins.
pub fn enrol(guard: &MemoryPinGuard, root: &Path, account: &str) -> (String, OprfPublicKey) {
    let key = OprfServerKey::derive(b"vistalid vault tests", account.as_bytes()).expect("key");
    guard
        .enrol_with_key(account, key, confirm_key(root, account).public_key())
        .expect("enrol")
}

/// The guard of `accounts`, at most `limit` guesses each.
pub fn guard_of(root: &Path, accounts: &[&str], limit: u32) -> MemoryPinGuard {
    let guard = MemoryPinGuard::new(limit);
    for a in accounts {
        enrol(&guard, root, a);
    }
    guard
}

/// The guard of [`ACCT`].
pub fn guard(root: &Path, limit: u32) -> MemoryPinGuard {
    guard_of(root, &[ACCT], limit)
}

/// Adds `account` through `unlocked` (an unlock of another account of the vault).
pub fn add(
    unlocked: &Unlocked,
    guard: &MemoryPinGuard,
    root: &Path,
    account: &str,
    data: &[u8],
) -> Result<Unlocked, VaultError> {
    let (key_id, server_key) = enrol(guard, root, account);
    let confirm = confirm_key(root, account);
    unlocked.add_account(
        NewAccount {
            account_id: account,
            key_id: &key_id,
            server_key: &server_key,
            confirm_key: &confirm,
        },
        data,
        guard,
    )
}

/// A vault at `dir` with [`ACCT`] added under `pin`, and its guard (no guess limit).
pub fn create(
    root: &Path,
    dir: &Path,
    keystore: Arc<dyn PlatformKeystore>,
    config: VaultConfig,
    pin: &str,
) -> Result<(Vault, MemoryPinGuard), VaultError> {
    let vault = Vault::create(dir, keystore, config)?;
    let guard = MemoryPinGuard::new(u32::MAX);
    let (key_id, server_key) = enrol(&guard, root, ACCT);
    let confirm = confirm_key(root, ACCT);
    vault.add_first_account(
        &Pin::new(pin),
        NewAccount {
            account_id: ACCT,
            key_id: &key_id,
            server_key: &server_key,
            confirm_key: &confirm,
        },
        b"",
        &guard,
    )?;
    Ok((vault, guard))
}
