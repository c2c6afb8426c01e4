// SPDX-License-Identifier: Apache-2.0
//! The Rust side of the bindings-overhead comparison (the Kotlin side is
//! `android/src/test/kotlin/fr/vistalid/BindingsOverheadTest.kt`): prints medians of
//! - one trivial call (`library_version`) made directly in Rust;
//! - one `approve` (PIN unlock with test Argon2 parameters, signing, loopback HTTP) through
//!   core's `Wallet`, and through the bindings' `Wallet` called from Rust (the mapping layer
//!   without the FFI crossing).
//!
//! `VISTALID_BENCH_FULL=1` adds 21 rounds with the product's Argon2 parameters, and the time
//! spent outside the transport (the Kotlin bench prints the time outside its callbacks).
//!
//! Run: `cargo bench -p vistalid-ffi --bench ffi_baseline` (release), or `cargo test -p
//! vistalid-ffi --bench ffi_baseline` (debug, the profile the Kotlin tests load). Prints, never
//! asserts times.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vistalid_core::clock::SystemClock;
use vistalid_core::keystore::{MemoryKeystore, PlatformKeystore as CoreKeystore};
use vistalid_core::protocol::{CibaResponse, CodeMode, PATH_CIBA};
use vistalid_core::secret::Pin;
use vistalid_core::transport::{
    BoxFuture, HttpRequest, HttpResponse, ReqwestTransport, Transport, TransportError,
};
use vistalid_core::vault::{Argon2Params, VaultConfig};
use vistalid_core::wallet::{Wallet as CoreWallet, WalletConfig};
use vistalid_ffi::{PlatformKeystore, VistalidError, Wallet, WalletOptions};

#[path = "../tests/support/rust_transport.rs"]
mod rust_transport;

const PIN: &str = "204862";
const ROUNDS: usize = 40;
/// Rounds with the product's Argon2 parameters (about 0.1 s each).
const FULL_ROUNDS: usize = 21;

/// Core's transport, timed.
struct Timed {
    inner: ReqwestTransport,
    nanos: AtomicU64,
}

impl Transport for Timed {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let t = Instant::now();
            let r = self.inner.send(request).await;
            self.nanos
                .fetch_add(t.elapsed().as_nanos() as u64, Ordering::SeqCst);
            r
        })
    }
}

/// The bindings' keystore trait over core's in-memory keystore (as an app's would be).
struct Mem(MemoryKeystore);

impl PlatformKeystore for Mem {
    fn prf(&self, input: Vec<u8>) -> Result<Vec<u8>, VistalidError> {
        Ok(self.0.prf(&input)?.to_vec())
    }
    fn delete(&self) -> Result<(), VistalidError> {
        Ok(self.0.delete()?)
    }
    fn attest(
        &self,
        _alias: String,
        _challenge: Vec<u8>,
    ) -> Result<Option<vistalid_ffi::DeviceAttestation>, VistalidError> {
        Ok(None)
    }
    fn sign_attested(
        &self,
        _alias: String,
        _message: Vec<u8>,
    ) -> Result<Option<vistalid_ffi::HardwareSignature>, VistalidError> {
        Ok(None)
    }
    fn delete_attested(&self, _alias: String) -> Result<(), VistalidError> {
        Ok(())
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
    let mut config = vistalid_server::ServerConfig::for_tests(data.path());
    // 80+ logins of one client within a minute: lift the rate limits (the server's own tests
    // cover them).
    config.ciba_per_client_per_min = 10_000;
    config.enrol_per_ip_per_min = 10_000;
    let server = vistalid_server::start(config).await.unwrap();
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
    let http = Arc::new(Timed {
        inner: ReqwestTransport::new().unwrap(),
        nanos: AtomicU64::new(0),
    });
    let core = CoreWallet::open_with(
        dir.path(),
        Arc::new(MemoryKeystore::new()),
        config,
        http.clone(),
        Arc::new(SystemClock),
    )
    .unwrap();
    core.enrol(&rp.base, &code, Pin::new(PIN)).await.unwrap();
    // Through the bindings' Rust API (mapping layer, no FFI crossing).
    let code = admin
        .add_practitioner("20000000002", "Camille", "Martin", "10")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let w = Wallet::open_for_tests(
        dir.path().to_str().unwrap().to_owned(),
        Arc::new(Mem(MemoryKeystore::new())),
        Arc::new(rust_transport::RustTransport::new()),
        WalletOptions {
            device_name: "bench".into(),
        },
    )
    .unwrap();
    w.enrol(rp.base.clone(), code.to_string(), PIN.into())
        .await
        .unwrap();
    // Rounds alternate between the two wallets so that drift (other load on the machine,
    // the server's database growing) hits both alike.
    let (mut core_times, mut ffi_times) = (Vec::new(), Vec::new());
    let mut core_http = Duration::ZERO;
    for _ in 0..ROUNDS {
        let ciba = rp.ciba("20000000001").await;
        let ch = core.fetch_challenges(5).await.unwrap().challenges.remove(0);
        let before = http.nanos.load(Ordering::SeqCst);
        let t = Instant::now();
        core.approve(&ch.id, Pin::new(PIN), &ciba.dynamic_code)
            .await
            .unwrap();
        core_times.push(t.elapsed());
        core_http += Duration::from_nanos(http.nanos.load(Ordering::SeqCst) - before);

        let ciba = rp.ciba("20000000002").await;
        let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
        let t = Instant::now();
        w.approve(ch.id, PIN.into(), ciba.dynamic_code)
            .await
            .unwrap();
        ffi_times.push(t.elapsed());
    }
    println!(
        "core approve: median {:?} ({ROUNDS} rounds); time inside the transport per round {:?}",
        median(core_times),
        core_http / ROUNDS as u32
    );
    println!(
        "bindings Wallet (from Rust) approve: median {:?} ({ROUNDS} rounds)",
        median(ffi_times)
    );
    // Where the time goes (the Kotlin bench prints the same two lines).
    let mut sync = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        black_box(core.attempts_left().unwrap());
        sync.push(t.elapsed());
    }
    println!(
        "core attempts_left (reads the vault): median {:?}",
        median(sync)
    );
    let mut empty = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        black_box(core.fetch_challenges(0).await.unwrap());
        empty.push(t.elapsed());
    }
    println!(
        "core fetch_challenges, nothing pending (1 HTTP): median {:?}",
        median(empty)
    );

    // With the product's Argon2 parameters (what a phone runs): opt-in, it takes seconds.
    if std::env::var("VISTALID_BENCH_FULL").as_deref() == Ok("1") {
        let code = admin
            .add_practitioner("20000000003", "Camille", "Martin", "10")
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let slow_http = Arc::new(Timed {
            inner: ReqwestTransport::new().unwrap(),
            nanos: AtomicU64::new(0),
        });
        let slow = CoreWallet::open_with(
            dir.path(),
            Arc::new(MemoryKeystore::new()),
            WalletConfig::default(),
            slow_http.clone(),
            Arc::new(SystemClock),
        )
        .unwrap();
        slow.enrol(&rp.base, &code, Pin::new(PIN)).await.unwrap();
        let (mut times, mut outside) = (Vec::new(), Vec::new());
        for _ in 0..FULL_ROUNDS {
            let ciba = rp.ciba("20000000003").await;
            let ch = slow.fetch_challenges(5).await.unwrap().challenges.remove(0);
            let before = slow_http.nanos.load(Ordering::SeqCst);
            let t = Instant::now();
            slow.approve(&ch.id, Pin::new(PIN), &ciba.dynamic_code)
                .await
                .unwrap();
            let total = t.elapsed();
            let http = Duration::from_nanos(slow_http.nanos.load(Ordering::SeqCst) - before);
            times.push(total);
            outside.push(total - http);
        }
        println!(
            "core approve, product Argon2: median {:?}, outside the transport {:?} \
             ({FULL_ROUNDS} rounds)",
            median(times),
            median(outside)
        );
    }
    server.shutdown().await;
}
