// SPDX-License-Identifier: Apache-2.0
//! Vault files as hostile input: one file of a real vault (header, counter, device tier or
//! secrets) is replaced by the fuzz input, then `Vault::open`, `device_state`,
//! `attempts_left`, `account_ids` and `unlock` (with an in-process PIN guard) run. None may
//! panic; a corrupted vault must never unlock to secrets other than the ones sealed in it.
#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use vistalid_core::keys::SigningKey;
use vistalid_core::keystore::{MemoryKeystore, PlatformKeystore};
use vistalid_core::secret::Pin;
use vistalid_core::vault::{Argon2Params, MemoryPinGuard, NewAccount, Vault, VaultConfig};

const FILES: [&str; 4] = ["vault.hdr", "counter.bin", "device.bin", "secrets.1.bin"];
const PIN: &str = "482613";
const ACCT: &str = "fuzz-account";
const SECRETS: &[u8] = b"fuzz secrets";
const DEVICE: &[u8] = b"fuzz device state";

struct Fixture {
    path: PathBuf,
    keystore: Arc<dyn PlatformKeystore>,
    guard: MemoryPinGuard,
    originals: Vec<Vec<u8>>,
}

fn config() -> VaultConfig {
    VaultConfig {
        argon2: Argon2Params::insecure_fast_for_tests(),
        backoff: false,
        max_attempts: 1_000_000,
        ..VaultConfig::default()
    }
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = vistalid_fuzz::scratch_dir("vault");
        let path = dir.join("vault");
        let keystore: Arc<dyn PlatformKeystore> = Arc::new(MemoryKeystore::new());
        let vault =
            Vault::create(&path, Arc::clone(&keystore), config()).expect("create vault");
        let guard = MemoryPinGuard::new(u32::MAX);
        let confirm = SigningKey::make().expect("key");
        let (key_id, server_key) = guard.enrol(ACCT, confirm.public_key()).expect("enrol");
        let new = NewAccount {
            account_id: ACCT,
            key_id: &key_id,
            server_key: &server_key,
            confirm_key: &confirm,
        };
        vault
            .add_first_account(&Pin::new(PIN), new, SECRETS, &guard)
            .expect("account");
        vault.set_device_state(DEVICE).expect("device state");
        let originals = FILES
            .iter()
            .map(|f| std::fs::read(path.join(f)).expect("vault file exists"))
            .collect();
        Fixture {
            path,
            keystore,
            guard,
            originals,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let (sel, rest) = vistalid_fuzz::split_selector(data);
    let which = usize::from(sel) % FILES.len();
    for (name, bytes) in FILES.iter().zip(&f.originals) {
        std::fs::write(f.path.join(name), bytes).expect("restore vault file");
    }
    std::fs::write(f.path.join(FILES[which]), rest).expect("write fuzz file");
    let Ok(vault) = Vault::open(&f.path, Arc::clone(&f.keystore), config()) else {
        return;
    };
    if let Ok(state) = vault.device_state() {
        assert_eq!(
            &state[..],
            DEVICE,
            "a corrupted device tier never opens to other bytes"
        );
    }
    let _ = vault.attempts_left();
    let _ = vault.account_ids();
    let pin = if sel & 0x80 != 0 { PIN } else { "000000" };
    if let Ok(unlocked) = vault.unlock(ACCT, &Pin::new(pin), &f.guard) {
        assert_eq!(pin, PIN, "only the right PIN unlocks");
        if let Ok(s) = unlocked.secrets() {
            assert_eq!(
                &s[..],
                SECRETS,
                "a corrupted secrets file never opens to other bytes"
            );
        }
    }
});
