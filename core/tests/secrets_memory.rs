// SPDX-License-Identifier: Apache-2.0
//! Secrets left in memory after use (Linux only): runs the wallet's secret-handling path
//! (vault create with a PIN, unlock, seal the device key's PKCS#8 as the wallet does, unlock
//! again, load the key, sign), drops everything, then scans the process's own writable
//! memory (`/proc/self/maps` + `/proc/self/mem`, `rw-p` regions) for the PIN, the device
//! private key scalar and the PKCS#8 (raw and base64url, the wallet's stored form).
//!
//! The needles are kept XOR-masked with a random mask and compared masked, so the test's own
//! copies never match. Found copies in the heap (or any writable mapping other than the
//! stack of the thread that ran the flow) fail the test. Copies on that thread's stack are
//! reported but not failed, since they cannot be wiped from Rust:
//! - `ring` computes on stack copies of the scalar and of the PKCS#8 document
//!   (`EcdsaKeyPair::generate_pkcs8` returns a stack `Document`; the key pair's scalar lives
//!   in `EcdsaKeyPair`, which has no zeroize-on-drop), and Argon2/BLAKE2 hash the PIN in
//!   stack buffers;
//! - a `SigningKey` moved by value leaves its old stack slot behind.
//!
//! Blind spots: the allocator writes its free-list pointers over the first 16 bytes of a
//! freed block, so a freed, unwiped 6-byte PIN buffer cannot be told apart from noise; the
//! scalar (32 bytes deep in the PKCS#8) and a 32-character slice of its base64url form are
//! searched for that reason. `ring` keeps the key pair's scalar as little-endian machine
//! words (limbs, possibly in Montgomery form), which a byte needle does not match: an
//! unwiped `EcdsaKeyPair` (it has no zeroize-on-drop) is not detected here. Also out of
//! reach of this test: Kotlin/Swift string copies of the PIN made before it
//! crosses the FFI (immutable JVM `String`s, Swift `String`s), and the OS keystore's own
//! copies. The vault data key is not checked (no public accessor, by design).

#![cfg(target_os = "linux")]

mod vault_common;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use vault_common::ACCT;
use vistalid_core::keys::SigningKey;
use vistalid_core::keystore::{MemoryKeystore, PlatformKeystore};
use vistalid_core::secret::Pin;
use vistalid_core::vault::{Argon2Params, Vault, VaultConfig};
use zeroize::Zeroizing;

/// A needle stored masked: `masked[i] = needle[i] ^ mask[i]`.
struct Masked {
    name: &'static str,
    mask: Vec<u8>,
    masked: Vec<u8>,
}

impl Masked {
    fn new(name: &'static str, secret: &[u8]) -> Self {
        let mut mask = vec![0u8; secret.len()];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut mask)
            .expect("random");
        for m in &mut mask {
            // A zero mask byte would store that needle byte in clear.
            *m |= 0x80;
        }
        let masked = secret.iter().zip(&mask).map(|(s, m)| s ^ m).collect();
        Self { name, mask, masked }
    }

    /// Unmasks into a zeroizing buffer (to hand to the API under test).
    fn reveal(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(
            self.masked
                .iter()
                .zip(&self.mask)
                .map(|(s, m)| s ^ m)
                .collect(),
        )
    }

    /// Offsets in `hay` where the needle occurs, compared without unmasking it.
    fn find_in(&self, hay: &[u8]) -> Vec<usize> {
        let n = self.masked.len();
        let mut hits = Vec::new();
        if hay.len() < n {
            return hits;
        }
        let (m0, k0) = (self.mask[0], self.masked[0]);
        for i in 0..=hay.len() - n {
            if hay[i] ^ m0 == k0
                && hay[i..i + n]
                    .iter()
                    .zip(self.mask.iter().zip(&self.masked))
                    .all(|(h, (m, k))| h ^ m == *k)
            {
                hits.push(i);
            }
        }
        hits
    }
}

/// A 6-digit PIN the default policy accepts, made from random bytes.
fn random_pin() -> Masked {
    let rng = ring::rand::SystemRandom::new();
    loop {
        let mut raw = Zeroizing::new([0u8; 6]);
        ring::rand::SecureRandom::fill(&rng, raw.as_mut()).expect("random");
        let digits: Zeroizing<Vec<u8>> =
            Zeroizing::new(raw.iter().map(|b| b'0' + b % 10).collect());
        let candidate = Masked::new("PIN", &digits);
        let pin = pin_of(&candidate);
        if vistalid_core::vault::PinPolicy::default()
            .check(&pin)
            .is_ok()
        {
            return candidate;
        }
    }
}

fn pin_of(m: &Masked) -> Pin {
    let bytes = m.reveal();
    let mut s = String::with_capacity(bytes.len());
    for b in bytes.iter() {
        s.push(char::from(*b));
    }
    Pin::new(s)
}

/// The 32-byte private scalar inside a ring PKCS#8 (`04 20` then the scalar, after the
/// ECPrivateKey version `02 01 01`).
fn scalar_of(pkcs8: &[u8]) -> &[u8] {
    let at = pkcs8
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .expect("ECPrivateKey in PKCS#8");
    &pkcs8[at + 5..at + 37]
}

struct Needles {
    pin: Masked,
    scalar: Masked,
    pkcs8: Masked,
    pkcs8_b64: Masked,
    pkcs8_b64_middle: Masked,
}

/// The flow, on its own thread; returns the needles and the address of a stack local.
fn run_flow(dir: std::path::PathBuf) -> (Needles, usize) {
    let stack_probe = 0u8;
    let stack_addr = std::ptr::addr_of!(stack_probe) as usize;
    let pin = random_pin();
    let keystore: Arc<dyn PlatformKeystore> = Arc::new(MemoryKeystore::new());
    let config = VaultConfig {
        argon2: Argon2Params::insecure_fast_for_tests(),
        ..VaultConfig::default()
    };
    let root = dir.parent().expect("parent").to_path_buf();
    let (vault, guard) = vault_common::create(
        &root,
        &dir,
        Arc::clone(&keystore),
        config.clone(),
        pin_of(&pin).expose(),
    )
    .expect("create");
    let key = Box::new(SigningKey::make().expect("key"));
    let needles = {
        let der = key.to_pkcs8();
        let b64 = Zeroizing::new(B64URL.encode(der.as_slice()));
        let needles = Needles {
            pin,
            scalar: Masked::new("device key scalar", scalar_of(der)),
            pkcs8: Masked::new("device key PKCS#8", der),
            pkcs8_b64: Masked::new("device key PKCS#8 base64url", b64.as_bytes()),
            // 32 characters over the scalar: survives allocator metadata written over the
            // first bytes of a freed block, which hides the full-length needles.
            pkcs8_b64_middle: Masked::new(
                "device key PKCS#8 base64url (scalar part)",
                &b64.as_bytes()[52..84],
            ),
        };
        // As the wallet does: the base64url PKCS#8 inside the JSON of the PIN tier.
        let json = Zeroizing::new(
            format!(
                "{{\"accounts\":[{{\"account_id\":\"a\",\"device_key\":\"{}\"}}]}}",
                &*b64
            )
            .into_bytes(),
        );
        let unlocked = vault
            .unlock(ACCT, &pin_of(&needles.pin), &guard)
            .expect("unlock");
        unlocked.set_secrets(&json).expect("seal");
        needles
    };
    drop(key);
    drop(vault);

    let vault = Vault::open(&dir, keystore, config).expect("open");
    let unlocked = vault
        .unlock(ACCT, &pin_of(&needles.pin), &guard)
        .expect("unlock again");
    let secrets = unlocked.secrets().expect("secrets");
    // Read the field without serde_json::Value (whose strings are not zeroized), so any
    // copy found comes from the code under test, not from the test.
    let marker = b"\"device_key\":\"";
    let at = secrets
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("device_key field")
        + marker.len();
    let len = secrets[at..]
        .iter()
        .position(|b| *b == b'"')
        .expect("end quote");
    let b64 = Zeroizing::new(secrets[at..at + len].to_vec());
    let der = Zeroizing::new(B64URL.decode(&b64[..]).expect("b64"));
    let key = Box::new(SigningKey::from_pkcs8(&der).expect("pkcs8"));
    let sig = key.sign(b"login challenge").expect("sign");
    assert_eq!(sig.len(), 64);
    drop(key);
    drop(der);
    drop(b64);
    drop(secrets);
    drop(unlocked);
    drop(vault);
    (needles, stack_addr)
}

/// Writable private mappings: (start, end, label).
fn writable_regions() -> Vec<(usize, usize, String)> {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
    maps.lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let range = parts.next()?;
            let perms = parts.next()?;
            if !perms.starts_with("rw") || !perms.ends_with('p') {
                return None;
            }
            let label = parts.nth(3).unwrap_or("[anon]").to_owned();
            let (a, b) = range.split_once('-')?;
            Some((
                usize::from_str_radix(a, 16).ok()?,
                usize::from_str_radix(b, 16).ok()?,
                label,
            ))
        })
        .collect()
}

/// Scans writable mappings for `needles`: (hits outside the stack mapping holding
/// `stack_addr`, hits inside it).
fn scan(needles: &[&Masked], stack_addr: usize) -> (Vec<String>, Vec<String>) {
    let mut mem = File::open("/proc/self/mem").expect("/proc/self/mem");
    let mut heap_hits = Vec::new();
    let mut stack_hits = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    let buf_addr = buf.as_ptr() as usize;
    let overlap = 256;
    let mut scanned = 0usize;
    for (start, end, label) in writable_regions() {
        let on_flow_stack = (start..end).contains(&stack_addr);
        let mut at = start;
        while at < end {
            let len = (end - at).min(buf.len());
            if mem.seek(SeekFrom::Start(at as u64)).is_err() {
                break;
            }
            let Ok(n) = mem.read(&mut buf[..len]) else {
                break;
            };
            if n == 0 {
                break;
            }
            scanned += n;
            for needle in needles {
                for off in needle.find_in(&buf[..n]) {
                    let addr = at + off;
                    // The scan buffer holds copies of what was just read.
                    if (buf_addr..buf_addr + buf.len()).contains(&addr) {
                        continue;
                    }
                    let hit = format!(
                        "{} at {addr:#x} in {label} [{start:#x}-{end:#x}]",
                        needle.name
                    );
                    if on_flow_stack {
                        stack_hits.push(hit);
                    } else {
                        heap_hits.push(hit);
                    }
                }
            }
            buf[..n].fill(0);
            if at + n >= end {
                break;
            }
            at += n.saturating_sub(overlap).max(1);
        }
    }
    assert!(scanned > 1 << 20, "scanned only {scanned} bytes");
    heap_hits.sort();
    heap_hits.dedup();
    (heap_hits, stack_hits)
}

#[test]
fn no_secret_is_left_in_heap_memory_after_the_flow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vault");
    let (needles, stack_addr) = std::thread::Builder::new()
        .name("secret-flow".into())
        .spawn(move || run_flow(path))
        .expect("spawn")
        .join()
        .expect("flow thread");
    let all = [
        &needles.pin,
        &needles.scalar,
        &needles.pkcs8,
        &needles.pkcs8_b64,
        &needles.pkcs8_b64_middle,
    ];
    let (heap_hits, stack_hits) = scan(&all, stack_addr);
    for h in &stack_hits {
        eprintln!("note: stack copy (not wipeable from Rust): {h}");
    }
    assert!(
        heap_hits.is_empty(),
        "secrets left in writable non-stack memory after drop:\n{}",
        heap_hits.join("\n")
    );
}

/// The scanner finds a secret that is really there (heap, not zeroized), so the test above
/// cannot pass by scanning nothing.
#[test]
fn scanner_finds_a_planted_heap_copy() {
    let planted = Masked::new("planted", b"planted secret 5f3a9c1e77d2");
    let leak: Vec<u8> = planted.reveal().to_vec(); // A plain Vec: not zeroized.
    let boxed = leak.into_boxed_slice();
    let (hits, _) = scan(&[&planted], 0);
    assert!(!hits.is_empty(), "the planted copy is found");
    drop(boxed);
}
