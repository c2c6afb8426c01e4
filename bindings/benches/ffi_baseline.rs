// SPDX-License-Identifier: Apache-2.0
//! The Rust side of the bindings-overhead comparison (the Kotlin side is
//! `android/src/test/kotlin/fr/vistalid/BindingsOverheadTest.kt`): prints medians of
//! - one trivial call (`library_version`) made directly in Rust;
//! - one `approve` (PIN unlock with test Argon2 parameters, signing, loopback HTTP) through
//!   core's `Wallet`, and through the bindings' `Wallet` called from Rust (the mapping layer
//!   without the FFI crossing).
//!
//! `VISTALID_BENCH_FULL=1` adds 5 rounds with the product's Argon2 parameters.
//!
//! Run: `cargo bench -p vistalid-ffi --bench ffi_baseline` (release), or `cargo test -p
//! vistalid-ffi --bench ffi_baseline` (debug, the profile the Kotlin tests load). Prints, never
//! asserts times.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vistalid_core::keystore::{MemoryKeystore, PlatformKeystore as CoreKeystore};
use vistalid_core::protocol::{CibaResponse, CodeMode, PATH_CIBA};
use vistalid_core::secret::Pin;
use vistalid_core::vault::{Argon2Params, VaultConfig};
use vistalid_core::wallet::{Wallet as CoreWallet, WalletConfig};
use vistalid_ffi::{PlatformKeystore, VistalidError, Wallet, WalletOptions};

const PIN: &str = "204862";
const ROUNDS: usize = 40;

/// The bindings' keystore trait over core's in-memory keystore (as an app's would be).
struct Mem(MemoryKeystore);

impl PlatformKeystore for Mem {
    fn prf(&self, input: Vec<u8>) -> Result<Vec<u8>, VistalidError> {
        Ok(self.0.prf(&input)?.to_vec())
    }
    fn delete(&self) -> Result<(), VistalidError> {
        Ok(self.0.delete()?)
    }
    fn attestation(&self) -> Result<Option<Vec<u8>>, VistalidError> {
        Ok(None)
    }
    fn is_hardware_backed(&self) -> bool {
        false
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Rp {
    base: String,
    id: String,
    secret: String,
    http: reqwest::Client,
}

impl Rp {
    async fn ciba(&self, rpps: &str) -> CibaResponse {
        self.http
            .post(format!("{}{}", self.base, PATH_CIBA))
            .basic_auth(&self.id, Some(&self.secret))
            .form(&[
                ("login_hint", rpps),
                ("binding_message", "bench"),
                ("scope", "openid"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

#[tokio::main]
async fn main() {
    // One trivial call, directly in Rust: batches of 10 000, median per call.
    let mut per_call = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        for _ in 0..10_000 {
            black_box(vistalid_ffi::library_version());
        }
        per_call.push(t.elapsed() / 10_000);
    }
    println!(
        "rust trivial call (library_version): median {:?}",
        median(per_call)
    );

    let data = tempfile::tempdir().unwrap();
    let server = vistalid_server::start(vistalid_server::ServerConfig::for_tests(data.path()))
        .await
        .unwrap();
    let admin = server.admin();
    let (id, secret) = admin.add_client("Bench", CodeMode::Pick).unwrap();
    let rp = Rp {
        base: server.base_url().to_owned(),
        id,
        secret: secret.to_string(),
        http: reqwest::Client::new(),
    };

    // Through core.
    let code = admin
        .add_practitioner("20000000001", "Camille", "Martin", "10")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = WalletConfig {
        vault: VaultConfig {
            argon2: Argon2Params::insecure_fast_for_tests(),
            backoff: false,
            ..VaultConfig::default()
        },
        device_name: "bench".into(),
    };
    let core = CoreWallet::open(dir.path(), Arc::new(MemoryKeystore::new()), config).unwrap();
    core.enrol(&rp.base, &code, Pin::new(PIN)).await.unwrap();
    // Through the bindings' Rust API (mapping layer, no FFI crossing).
    let code = admin
        .add_practitioner("20000000002", "Camille", "Martin", "10")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let w = Wallet::open(
        dir.path().to_str().unwrap().to_owned(),
        Arc::new(Mem(MemoryKeystore::new())),
        WalletOptions {
            device_name: "bench".into(),
            insecure_fast_for_tests: true,
        },
    )
    .unwrap();
    w.enrol(rp.base.clone(), code.to_string(), PIN.into())
        .await
        .unwrap();
    // Rounds alternate between the two wallets so that drift (other load on the machine,
    // the server's database growing) hits both alike.
    let (mut core_times, mut ffi_times) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let ciba = rp.ciba("20000000001").await;
        let ch = core.fetch_challenges(5).await.unwrap().challenges.remove(0);
        let t = Instant::now();
        core.approve(&ch.id, Pin::new(PIN), &ciba.dynamic_code)
            .await
            .unwrap();
        core_times.push(t.elapsed());

        let ciba = rp.ciba("20000000002").await;
        let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
        let t = Instant::now();
        w.approve(ch.id, PIN.into(), ciba.dynamic_code)
            .await
            .unwrap();
        ffi_times.push(t.elapsed());
    }
    println!(
        "core approve: median {:?} ({ROUNDS} rounds)",
        median(core_times)
    );
    println!(
        "bindings Wallet (from Rust) approve: median {:?} ({ROUNDS} rounds)",
        median(ffi_times)
    );

    // With the product's Argon2 parameters (what a phone runs): opt-in, it takes seconds.
    if std::env::var("VISTALID_BENCH_FULL").as_deref() == Ok("1") {
        let code = admin
            .add_practitioner("20000000003", "Camille", "Martin", "10")
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let slow = CoreWallet::open(
            dir.path(),
            Arc::new(MemoryKeystore::new()),
            WalletConfig::default(),
        )
        .unwrap();
        slow.enrol(&rp.base, &code, Pin::new(PIN)).await.unwrap();
        let mut times = Vec::new();
        for _ in 0..5 {
            let ciba = rp.ciba("20000000003").await;
            let ch = slow.fetch_challenges(5).await.unwrap().challenges.remove(0);
            let t = Instant::now();
            slow.approve(&ch.id, Pin::new(PIN), &ciba.dynamic_code)
                .await
                .unwrap();
            times.push(t.elapsed());
        }
        println!(
            "core approve, product Argon2: median {:?} (5 rounds)",
            median(times)
        );
    }
    server.shutdown().await;
}
