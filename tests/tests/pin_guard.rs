// SPDX-License-Identifier: Apache-2.0
//! The server-counted PIN guesses, end to end over loopback, as an attacker would run them:
//! the vault directory and the software keystore's key file are copied to another directory
//! (a rooted phone, or a stolen backup), and a guessing loop runs against the real server.
//! The attacker's wallet has no local limit (their own build): only the server's counts.
//!
//! - `a_copied_vault_gets_exactly_ten_guesses_then_nothing`: 10 wrong guesses are evaluated,
//!   the 11th is refused, and then the right PIN no longer opens the vault (the phone's copy
//!   neither: the server erased the device's key).
//! - `sixteen_parallel_guessers_together_get_at_most_ten`: 16 copies guess at once.
//! - `a_right_pin_after_nine_wrong_ones_resets_the_count`: the owner's unlock resets it to 10.
//! - `a_server_restart_keeps_the_count`.
//! - `re_enrolment_makes_a_new_device_and_resets_no_other_counter`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use vistalid_core::keystore::SoftwareKeystore;
use vistalid_core::secret::Pin;
use vistalid_core::vault::PinRefusal;
use vistalid_core::wallet::{Wallet, WalletError};
use vistalid_e2e::{fast_config, Env};

const PIN: &str = "482915";
const RPPS: &str = "10001234567";
/// A valid PIN that is not the right one, the target of the guessing oracle.
const NEW_PIN: &str = "918273";

/// A phone: its wallet directory and its software keystore's key file.
struct Phone {
    root: PathBuf,
}

impl Phone {
    fn wallet_dir(&self) -> PathBuf {
        self.root.join("wallet")
    }

    fn key_file(&self) -> PathBuf {
        self.root.join("keystore.key")
    }

    /// The owner's wallet, with the product's local limit (5 tries).
    fn wallet(&self) -> Wallet {
        std::fs::create_dir_all(&self.root).expect("mkdir");
        Wallet::open(
            &self.wallet_dir(),
            Arc::new(SoftwareKeystore::open(self.key_file())),
            fast_config(),
        )
        .expect("open")
    }

    /// The attacker's wallet on a copy: no local limit.
    fn thief(&self) -> Wallet {
        let mut config = fast_config();
        config.vault.max_attempts = u32::MAX;
        Wallet::open(
            &self.wallet_dir(),
            Arc::new(SoftwareKeystore::open(self.key_file())),
            config,
        )
        .expect("open the copy")
    }

    /// Copies the wallet directory and the key file under `to`.
    fn copy_to(&self, to: &Path) -> Phone {
        let copy = Phone {
            root: to.to_path_buf(),
        };
        std::fs::create_dir_all(copy.wallet_dir()).expect("mkdir");
        for entry in std::fs::read_dir(self.wallet_dir()).expect("ls") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), copy.wallet_dir().join(entry.file_name())).expect("copy");
        }
        std::fs::copy(self.key_file(), copy.key_file()).expect("copy key");
        copy
    }
}

/// A server with one practitioner enrolled on a phone under `dir`.
async fn enrolled(dir: &Path) -> (Env, Phone) {
    let env = Env::start().await;
    let code = env.practitioner(RPPS);
    let phone = Phone {
        root: dir.join("phone"),
    };
    phone
        .wallet()
        .enrol(&env.url(), &code, Pin::new(PIN))
        .await
        .expect("enrol");
    (env, phone)
}

/// One guess through the wallet's PIN change (it checks the old PIN with the server first).
async fn guess(wallet: &Wallet, pin: &str) -> Result<(), WalletError> {
    wallet.change_pin(Pin::new(pin), Pin::new(NEW_PIN)).await
}

/// The `n`-th wrong PIN of a guessing loop (never [`PIN`] nor [`NEW_PIN`]).
fn wrong(n: u32) -> String {
    format!("{:06}", 100_003 + n * 7_919)
}

/// Guesses wrong PINs `wrong(first)`, `wrong(first + 1)`, ... until the server blocks (at
/// most `most` guesses); returns how many the server evaluated. Any other outcome fails.
async fn guess_until_blocked(thief: &Wallet, first: u32, most: u32) -> u32 {
    let mut evaluated = 0;
    for n in first..first + most {
        match guess(thief, &wrong(n)).await {
            Err(WalletError::Pin(PinRefusal::WrongPin { .. })) => evaluated += 1,
            Err(WalletError::BlockedByServer) => return evaluated,
            other => panic!("guess {n}: {other:?}"),
        }
    }
    panic!("never blocked after {most} guesses ({evaluated} evaluated)")
}

/// Guesses the server still allows the phone's device.
fn guesses_left(env: &Env) -> Option<u32> {
    let devices = env.server.admin().list_devices(RPPS).expect("devices");
    devices.last().expect("a device").guesses_left
}

#[tokio::test]
async fn a_copied_vault_gets_exactly_ten_guesses_then_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (env, phone) = enrolled(tmp.path()).await;
    assert_eq!(guesses_left(&env), Some(10));
    let copy = phone.copy_to(&tmp.path().join("thief"));
    let thief = copy.thief();
    let evaluated = guess_until_blocked(&thief, 0, 30).await;
    assert_eq!(evaluated, 10, "exactly the server's limit");
    assert_eq!(guesses_left(&env), Some(0));
    assert_eq!(
        guess(&thief, PIN).await,
        Err(WalletError::BlockedByServer),
        "the right PIN no longer opens the copy"
    );
    assert_eq!(
        guess(&phone.wallet(), PIN).await,
        Err(WalletError::BlockedByServer),
        "nor the phone's own vault: the server erased the device's key"
    );
}

#[tokio::test]
async fn sixteen_parallel_guessers_together_get_at_most_ten() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (env, phone) = enrolled(tmp.path()).await;
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..16u32 {
        let thief = phone
            .copy_to(&tmp.path().join(format!("thief-{t}")))
            .thief();
        tasks.spawn(async move { guess_until_blocked(&thief, t * 100, 20).await });
    }
    let mut total = 0;
    while let Some(n) = tasks.join_next().await {
        total += n.expect("guesser");
    }
    assert_eq!(total, 10, "16 guessers together got {total} evaluations");
    assert_eq!(guesses_left(&env), Some(0));
}

#[tokio::test]
async fn a_right_pin_after_nine_wrong_ones_resets_the_count() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (env, phone) = enrolled(tmp.path()).await;
    let thief = phone.copy_to(&tmp.path().join("thief")).thief();
    for n in 0..9 {
        assert!(matches!(
            guess(&thief, &wrong(n)).await,
            Err(WalletError::Pin(PinRefusal::WrongPin { .. }))
        ));
    }
    assert_eq!(guesses_left(&env), Some(1));
    // The owner unlocks (the PIN change checks the PIN, then sets the same one back).
    let owner = phone.wallet();
    owner
        .change_pin(Pin::new(PIN), Pin::new(NEW_PIN))
        .await
        .expect("the right PIN");
    assert_eq!(guesses_left(&env), Some(10), "the confirmation reset it");
    owner
        .change_pin(Pin::new(NEW_PIN), Pin::new(PIN))
        .await
        .expect("back");
    assert_eq!(guesses_left(&env), Some(10));
}

#[tokio::test]
async fn a_server_restart_keeps_the_count() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (env, phone) = enrolled(tmp.path()).await;
    let thief = phone.copy_to(&tmp.path().join("thief")).thief();
    for n in 0..4 {
        assert!(matches!(
            guess(&thief, &wrong(n)).await,
            Err(WalletError::Pin(PinRefusal::WrongPin { .. }))
        ));
    }
    let env = env.restart().await;
    assert_eq!(guesses_left(&env), Some(6));
    assert_eq!(guess_until_blocked(&thief, 4, 26).await, 6);
}

#[tokio::test]
async fn re_enrolment_makes_a_new_device_and_resets_no_other_counter() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (env, phone) = enrolled(tmp.path()).await;
    let thief = phone.copy_to(&tmp.path().join("thief")).thief();
    for n in 0..3 {
        assert!(guess(&thief, &wrong(n)).await.is_err());
    }
    // A second phone enrols the same account with a new activation code.
    let code = env
        .server
        .admin()
        .new_activation_code(RPPS)
        .expect("code")
        .to_string();
    let other = Phone {
        root: tmp.path().join("other"),
    };
    other
        .wallet()
        .enrol(&env.url(), &code, Pin::new(PIN))
        .await
        .expect("enrol again");
    let devices = env.server.admin().list_devices(RPPS).expect("devices");
    assert_eq!(devices.len(), 2);
    assert_eq!(
        devices[0].guesses_left,
        Some(7),
        "the first device's count stays"
    );
    assert_eq!(devices[1].guesses_left, Some(10));
}
