// SPDX-License-Identifier: Apache-2.0
//! Crash tests with real processes: this test binary re-executes itself as a child (the
//! ignored test `child_process`, driven by the `VISTALID_VAULT_CHILD` variable), and the
//! parent SIGKILLs it at random moments.
//!
//! - `kill_during_writes_leaves_old_or_new`: the child rewrites both tiers in a loop with
//!   increasing counters; after each of 200+ kills the vault opens and each tier holds the
//!   last value the child reported or the one it was writing, never a torn or lost one.
//! - `kill_during_pin_check_still_counts_the_try`: the child runs `unlock` with the right PIN
//!   under costly Argon2 parameters; killed while hashing, the try stays used up.
//! - `kill_during_pin_changes_leaves_the_old_or_the_new_pin`: the child changes the PIN back
//!   and forth in a loop (each change rotates the data key and rewrites the PIN tier); after
//!   each kill exactly one of the two PINs opens, it is the last one reported or the one being
//!   set, the secrets are intact, and one PIN-tier file is left. (The unit test
//!   `vault::tests::a_kill_at_any_step_of_change_pin_leaves_the_old_or_the_new_pin` kills it
//!   at each of its file-system steps in turn.)
//! - `kill_during_account_additions_leaves_each_absent_or_whole`: the child adds accounts in
//!   a loop (each one's section, then the header that lists it); after each kill every
//!   account the header lists opens with its own secrets, every reported one is listed, and
//!   the first account is untouched.
//!
//! Every process rebuilds the same in-process PIN guard (`vault_common`): these tests are
//! about the vault's files; the server's count is tested in the end-to-end tests.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod vault_common;

use vault_common::ACCT;
use vistalid_core::keystore::{PlatformKeystore, SoftwareKeystore};
use vistalid_core::secret::Pin;
use vistalid_core::vault::{Argon2Params, PinPolicy, Vault, VaultConfig};

const CHILD_ENV: &str = "VISTALID_VAULT_CHILD";
const PIN: &str = "482915";
/// The other PIN of the PIN-change loop.
const PIN_B: &str = "730164";
const RECORD_PAD: usize = 4096;
const KILLS: usize = 220;
/// Kills of the PIN-change child (each round lives longer than a writer round).
const CHANGE_KILLS: usize = 80;

fn config(argon2: Argon2Params, max_attempts: u32) -> VaultConfig {
    VaultConfig {
        argon2,
        max_attempts,
        pin_policy: PinPolicy::default(),
        backoff: false,
    }
}

fn keystore(root: &Path) -> Arc<dyn PlatformKeystore> {
    Arc::new(SoftwareKeystore::open(root.join("keystore.key")))
}

/// A value `n` as 8 bytes plus a pattern that depends on `n`, so torn writes are visible.
fn record(n: u64) -> Vec<u8> {
    let mut out = n.to_le_bytes().to_vec();
    out.extend((0..RECORD_PAD).map(|i| (n as u8).wrapping_mul(31).wrapping_add(i as u8)));
    out
}

fn decode(bytes: &[u8]) -> u64 {
    if bytes.is_empty() {
        return 0;
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    assert_eq!(bytes, record(n).as_slice(), "torn or mixed record");
    n
}

/// Child side. Does nothing unless the parent set `VISTALID_VAULT_CHILD`.
#[test]
#[ignore = "child process of the crash tests, started by them"]
fn child_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (mode, root) = spec.split_once(':').expect("mode:dir");
    let root = PathBuf::from(root);
    let dir = root.join("vault");
    match mode {
        "writer" => {
            let vault = Vault::open(&dir, keystore(&root), config(fast(), u32::MAX)).expect("open");
            let guard = vault_common::guard(&root, u32::MAX);
            let unlocked = vault.unlock(ACCT, &Pin::new(PIN), &guard).expect("unlock");
            let start = decode(&unlocked.secrets().expect("secrets"));
            println!("start {start}");
            for n in start + 1.. {
                unlocked.set_secrets(&record(n)).expect("set secrets");
                vault.set_device_state(&record(n)).expect("set device");
                println!("wrote {n}");
            }
        }
        "changer" => {
            let vault = Vault::open(&dir, keystore(&root), config(fast(), u32::MAX)).expect("open");
            let guard = vault_common::guard(&root, u32::MAX);
            let mut pins = [PIN, PIN_B];
            if vault.unlock(ACCT, &Pin::new(PIN), &guard).is_err() {
                pins.swap(0, 1);
            }
            println!("start {}", pins[0]);
            loop {
                vault
                    .change_pin(&Pin::new(pins[0]), &Pin::new(pins[1]), &guard)
                    .expect("change PIN");
                println!("changed to {}", pins[1]);
                pins.swap(0, 1);
            }
        }
        "unlock" => {
            let vault = Vault::open(&dir, keystore(&root), config(slow(), 5)).expect("open");
            let guard = vault_common::guard(&root, u32::MAX);
            let result = vault.unlock(ACCT, &Pin::new(PIN), &guard);
            println!("unlock finished: {}", result.is_ok());
        }
        "adder" => {
            let vault = Vault::open(&dir, keystore(&root), config(fast(), u32::MAX)).expect("open");
            let held = vault.account_ids().expect("accounts");
            let ids: Vec<&str> = held.iter().map(String::as_str).collect();
            let guard = vault_common::guard_of(&root, &ids, u32::MAX);
            let first = vault.unlock(ACCT, &Pin::new(PIN), &guard).expect("unlock");
            println!("start {}", held.len());
            for n in held.len() + 1..=32 {
                let id = format!("acct-{n}");
                vault_common::add(&first, &guard, &root, &id, &record(n as u64))
                    .expect("add account");
                println!("added {n}");
            }
            println!("full");
            // Wait for the kill, as the other children do.
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn fast() -> Argon2Params {
    Argon2Params::insecure_fast_for_tests()
}

/// Costly enough that one hash takes seconds, so the kill lands while it runs.
fn slow() -> Argon2Params {
    Argon2Params {
        m_kib: 128 * 1024,
        t: 12,
        p: 1,
    }
}

/// A child process and the lines of its standard output, read on a thread of their own.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

fn spawn_child(mode: &str, root: &Path) -> Running {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "child_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{mode}:{}", root.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        // Only whole lines count: a line cut by the kill (no newline) is dropped.
        while matches!(stdout.read_line(&mut line), Ok(n) if n > 0) {
            if line.ends_with('\n') && send.send(line.trim_end().to_owned()).is_err() {
                break;
            }
            line.clear();
        }
    });
    Running {
        child,
        lines,
        seen: Vec::new(),
    }
}

impl Running {
    /// Waits until the child has printed its `start` line (it opened the vault and checked
    /// the PIN), so that the kill moments the tests draw fall in the work they test and not
    /// in the process start-up, whose length depends on the machine's load.
    fn started(mut self) -> Self {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // The harness prints "test child_process ... " before the child's first line.
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let start = l.contains("start ");
                    self.seen.push(l);
                    if start {
                        return self;
                    }
                }
                Err(e) => panic!("the child never started ({e:?}): {:?}", self.seen),
            }
        }
    }
}

/// Kills the child (SIGKILL) and returns its complete output lines.
fn kill_and_collect(mut running: Running) -> Vec<String> {
    running.child.kill().expect("kill");
    let status = running.child.wait().expect("wait");
    assert!(!status.success(), "the child must have been killed");
    // The reader thread ends at the end of the pipe, which the kill closed.
    running.seen.extend(running.lines.iter());
    running.seen
}

/// A small xorshift generator seeded from the clock: random kill moments, no dependency.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("time")
            .as_nanos() as u64;
        println!("kill timing seed {seed}");
        Self(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn kill_during_writes_leaves_old_or_new() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let dir = root.join("vault");
    let (_, guard) =
        vault_common::create(root, &dir, keystore(root), config(fast(), u32::MAX), PIN)
            .expect("create");
    let mut rng = Rng::new();
    let started = Instant::now();
    let (mut secrets_prev, mut device_prev) = (0u64, 0u64);
    let (mut mid_write, mut no_progress) = (0usize, 0usize);
    for round in 0..KILLS {
        let child = spawn_child("writer", root).started();
        std::thread::sleep(Duration::from_micros(rng.below(40_000)));
        let lines = kill_and_collect(child);
        let reported = lines.iter().rev().find_map(|l| {
            l.strip_prefix("wrote ")
                .or_else(|| l.strip_prefix("start "))
                .map(|n| n.parse::<u64>().expect("number"))
        });

        let vault = Vault::open(&dir, keystore(root), config(fast(), u32::MAX))
            .unwrap_or_else(|e| panic!("round {round}: vault does not open: {e:?}"));
        vault.attempts_left().expect("counter readable");
        let device = decode(&vault.device_state().expect("device tier"));
        let secrets = decode(
            &vault
                .unlock(ACCT, &Pin::new(PIN), &guard)
                .expect("unlock")
                .secrets()
                .expect("secrets"),
        );
        let base = reported.unwrap_or(secrets_prev);
        assert!(
            secrets == base || secrets == base + 1,
            "round {round}: secrets {secrets}, child reported {base}"
        );
        // The device tier is written after the secrets: it holds the last completed value
        // (the one reported, or the previous round's when nothing completed) or the one
        // being written, and never runs ahead of the secrets.
        let device_old = if base > secrets_prev {
            base
        } else {
            device_prev
        };
        assert!(
            device == device_old || (device == base + 1 && secrets == base + 1),
            "round {round}: device {device}, secrets {secrets}, reported {base}"
        );
        assert!(
            secrets >= secrets_prev && device >= device_prev,
            "no rollback"
        );
        if secrets == base + 1 || device < secrets {
            mid_write += 1;
        }
        if secrets == secrets_prev {
            no_progress += 1;
        }
        (secrets_prev, device_prev) = (secrets, device);
    }
    println!(
        "{KILLS} kills in {:?}: final value {secrets_prev}, {mid_write} rounds with a tier holding the value in flight \
         and its report, {no_progress} kills before any write",
        started.elapsed()
    );
    assert!(secrets_prev > 0, "the child made progress");
}

#[test]
fn kill_during_pin_check_still_counts_the_try() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let dir = root.join("vault");
    let (vault, guard) =
        vault_common::create(root, &dir, keystore(root), config(slow(), 5), PIN).expect("create");
    assert_eq!(vault.attempts_left(), Ok(5));

    let child = spawn_child("unlock", root);
    let deadline = Instant::now() + Duration::from_secs(60);
    // Wait until the child has counted its try, then kill it while Argon2 runs.
    while vault.attempts_left() != Ok(4) {
        assert!(Instant::now() < deadline, "the child never counted its try");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    let lines = kill_and_collect(child);
    assert!(
        !lines.iter().any(|l| l.starts_with("unlock finished")),
        "the kill must land during the PIN check: {lines:?}"
    );
    assert_eq!(
        vault.attempts_left(),
        Ok(4),
        "the interrupted try stays counted"
    );
    // The right PIN still works and resets the count.
    vault.unlock(ACCT, &Pin::new(PIN), &guard).expect("unlock");
    assert_eq!(vault.attempts_left(), Ok(5));
}

/// The PIN-tier files in `dir`.
fn secrets_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("ls")
        .filter_map(|e| e.expect("entry").file_name().into_string().ok())
        .filter(|n| n.starts_with("secrets."))
        .count()
}

#[test]
fn kill_during_pin_changes_leaves_the_old_or_the_new_pin() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let dir = root.join("vault");
    let (vault, guard) =
        vault_common::create(root, &dir, keystore(root), config(fast(), u32::MAX), PIN)
            .expect("create");
    vault
        .unlock(ACCT, &Pin::new(PIN), &guard)
        .expect("unlock")
        .set_secrets(&record(7))
        .expect("secrets");
    drop(vault);
    let other = |p: &str| if p == PIN { PIN_B } else { PIN };
    let mut rng = Rng::new();
    let mut current = PIN.to_owned();
    let (mut changes, mut in_flight) = (0usize, 0usize);
    for round in 0..CHANGE_KILLS {
        let child = spawn_child("changer", root).started();
        // One change (an unlock, Argon2 twice, five fsynced writes) takes tens of milliseconds.
        std::thread::sleep(Duration::from_micros(rng.below(300_000)));
        let lines = kill_and_collect(child);
        // The harness prints "test child_process ... " before the child's first line.
        let reported = lines.iter().rev().find_map(|l| {
            l.strip_prefix("changed to ")
                .or_else(|| l.split_once("start ").map(|(_, p)| p))
                .map(str::to_owned)
        });
        let base = reported.unwrap_or(current.clone());
        changes += lines.iter().filter(|l| l.starts_with("changed")).count();

        let vault = Vault::open(&dir, keystore(root), config(fast(), u32::MAX))
            .unwrap_or_else(|e| panic!("round {round}: vault does not open: {e:?}"));
        // The reported PIN, or the one the child was setting when it died.
        let (pin, unlocked) = match vault.unlock(ACCT, &Pin::new(&base), &guard) {
            Ok(u) => (base.clone(), u),
            Err(_) => {
                in_flight += 1;
                let next = other(&base);
                let u = vault
                    .unlock(ACCT, &Pin::new(next), &guard)
                    .unwrap_or_else(|e| {
                        panic!("round {round}: neither PIN opens (reported {base}): {e:?}")
                    });
                (next.to_owned(), u)
            }
        };
        assert_eq!(
            decode(&unlocked.secrets().expect("secrets")),
            7,
            "round {round}: the secrets survive"
        );
        assert_eq!(secrets_files(&dir), 1, "round {round}: one PIN-tier file");
        current = pin;
    }
    println!(
        "{CHANGE_KILLS} kills during PIN changes: {changes} changes completed, {in_flight} kills \
         left the PIN being set"
    );
    assert!(changes > 0, "the child made progress");
}

#[test]
fn kill_during_account_additions_leaves_each_absent_or_whole() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let dir = root.join("vault");
    let (vault, _) =
        vault_common::create(root, &dir, keystore(root), config(fast(), u32::MAX), PIN)
            .expect("create");
    drop(vault);
    let mut rng = Rng::new();
    let (mut reported_max, mut rounds) = (1usize, 0usize);
    while rounds < CHANGE_KILLS {
        let child = spawn_child("adder", root).started();
        std::thread::sleep(Duration::from_micros(rng.below(120_000)));
        let lines = kill_and_collect(child);
        rounds += 1;
        if let Some(n) = lines.iter().rev().find_map(|l| {
            l.strip_prefix("added ")
                .map(|n| n.parse::<usize>().expect("number"))
        }) {
            reported_max = n;
        }
        let vault = Vault::open(&dir, keystore(root), config(fast(), u32::MAX))
            .unwrap_or_else(|e| panic!("round {rounds}: vault does not open: {e:?}"));
        let held = vault.account_ids().expect("accounts");
        assert!(
            held.len() >= reported_max,
            "round {rounds}: {} accounts listed, {reported_max} reported",
            held.len()
        );
        let ids: Vec<&str> = held.iter().map(String::as_str).collect();
        let guard = vault_common::guard_of(root, &ids, u32::MAX);
        for (i, id) in held.iter().enumerate().skip(1) {
            let opened = vault
                .unlock(id, &Pin::new(PIN), &guard)
                .unwrap_or_else(|e| panic!("round {rounds}: {id} listed but does not open: {e:?}"));
            assert_eq!(
                decode(&opened.secrets().expect("secrets")),
                (i + 1) as u64,
                "round {rounds}: {id}"
            );
        }
        vault
            .unlock(ACCT, &Pin::new(PIN), &guard)
            .expect("the first account is untouched");
        if held.len() == 32 {
            break;
        }
    }
    println!("{rounds} kills during account additions: {reported_max} accounts reported");
    assert!(reported_max > 1, "the child made progress");
}
