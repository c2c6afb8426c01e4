// SPDX-License-Identifier: Apache-2.0
//! An unlock with the server's OPRF step over loopback HTTP, against the Argon2 hash it runs,
//! interleaved in one loop at the product Argon2 parameters (the machine is shared: both
//! sides see the same load). `cargo bench -p vistalid-e2e --bench pin_guard`;
//! `VL_BENCH_ROUNDS` sets the rounds (default 9).
//!
//! The unlock is an online-mode QR presentation of an insured account: a counted try (the
//! local counter written), Argon2id, the keystore PRF, blind, the server's evaluation (one
//! HTTP round trip), proof check and finalize, the key unwrap, the confirmation (a second
//! round trip), then one ECDSA signature. The OPRF's own CPU cost (blind, evaluation,
//! finalize) is split out by `cargo bench -p vistalid-core --bench vault`.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use vistalid_core::keystore::MemoryKeystore;
use vistalid_core::qr::Mode;
use vistalid_core::secret::Pin;
use vistalid_core::vault::{Argon2Kdf, Argon2Params, VaultConfig};
use vistalid_core::wallet::{Wallet, WalletConfig};
use vistalid_e2e::Env;

const PIN: &str = "482915";

fn median_ms(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds: usize = std::env::var("VL_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    let env = Env::start().await;
    let code = env.insured("ins-bench");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = WalletConfig {
        vault: VaultConfig {
            backoff: false,
            ..VaultConfig::default()
        },
        device_name: "bench".into(),
    };
    let wallet = Wallet::open(dir.path(), Arc::new(MemoryKeystore::new()), config).expect("open");
    let account = wallet
        .enrol(&env.url(), &code, Pin::new(PIN))
        .await
        .expect("enrol")
        .account_id;
    let p = Argon2Params::DEFAULT;
    let mut kdf = Argon2Kdf::new();
    let (mut unlock, mut argon) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let u = async {
            let start = Instant::now();
            wallet
                .present_qr(&account, Pin::new(PIN), Mode::Online, None)
                .await
                .expect("present");
            start.elapsed()
        };
        let mut a = || {
            let start = Instant::now();
            let mut out = [0u8; 32];
            kdf.derive(&p, PIN.as_bytes(), &[7u8; 16], None, &[], &mut out)
                .expect("hash");
            start.elapsed()
        };
        if round % 2 == 0 {
            unlock.push(u.await);
            argon.push(a());
        } else {
            argon.push(a());
            unlock.push(u.await);
        }
    }
    let (u, a) = (median_ms(unlock), median_ms(argon));
    println!(
        "unlock with the OPRF step over loopback (online QR presentation, m={} MiB t={} p={}), \
         {rounds} interleaved rounds: median {u:.2} ms; Argon2 alone median {a:.2} ms; the \
         rest (counter write, keystore, two HTTP round trips, OPRF, unwrap, signature) \
         {:.2} ms",
        p.m_kib / 1024,
        p.t,
        p.p,
        u - a
    );
    env.server.shutdown().await;
}
