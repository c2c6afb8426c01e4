// SPDX-License-Identifier: Apache-2.0
//! An unlock with the server's OPRF step over loopback HTTP, against the Argon2 hash it runs,
//! interleaved in one loop at the product Argon2 parameters (the machine is shared: both
//! sides see the same load). `cargo bench -p vistalid-e2e --bench pin_guard`;
//! `VL_BENCH_ROUNDS` sets the rounds (default 9).
//!
//! The unlock is an online-mode QR presentation of an insured account: a counted try (the
//! local counter written), Argon2id, the keystore PRF, blind, the server's evaluation (one
//! HTTP round trip), proof check and finalize, the key unwrap, the confirmation (a second
//! round trip), then one ECDSA signature.
//!
//! In the same rounds it times the parts: the client's blind, the server's evaluation with
//! its proof, the client's proof check and finalize (in process, the code both sides run),
//! and one loopback round trip to the evaluation endpoint that the server refuses before any
//! counting or OPRF work (an unknown device). So one run gives the unlock with the OPRF step,
//! the unlock without it (minus the OPRF's CPU and the two round trips, the guess and the
//! confirmation) and the OPRF's share, network excluded.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use vistalid_core::keystore::MemoryKeystore;
use vistalid_core::oprf::{self, BlindedElement, OprfServerKey};
use vistalid_core::protocol::PATH_PIN_GUESS;
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

fn median_us(v: Vec<Duration>) -> f64 {
    median_ms(v) * 1e3
}

/// Times `f`.
fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
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
    let key = OprfServerKey::make().expect("key");
    let public = key.public_key();
    let http = reqwest::Client::new();
    let refused_url = format!("{}{PATH_PIN_GUESS}", env.url());
    let refused_body = serde_json::json!({ "device_id": "no-such-device", "request": "x" });
    let (mut unlock, mut argon) = (Vec::new(), Vec::new());
    let (mut blind, mut eval, mut finalize, mut rtt) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
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
        for _ in 0..10 {
            let ((state, blinded), t) = time(|| oprf::blind(&[9u8; 32]).expect("blind"));
            blind.push(t);
            let wire = blinded.to_bytes();
            let (answer, t) = time(|| {
                key.evaluate(&BlindedElement::from_bytes(&wire).expect("point"))
                    .expect("evaluate")
            });
            eval.push(t);
            let (y, t) = time(|| state.finalize(&answer, &public).expect("finalize"));
            finalize.push(t);
            drop(y);
            let start = Instant::now();
            let status = http
                .post(&refused_url)
                .json(&refused_body)
                .send()
                .await
                .expect("post")
                .status();
            rtt.push(start.elapsed());
            assert_eq!(status, 404, "refused before any PIN-guard work");
        }
    }
    let (u, a) = (median_ms(unlock), median_ms(argon));
    let (b, e, f) = (median_us(blind), median_us(eval), median_us(finalize));
    let r = median_ms(rtt);
    let oprf_ms = (b + e + f) / 1e3;
    // Without the step: no OPRF work, no guess round trip, no confirmation round trip (its
    // ECDSA signature, about 0.1 ms, stays in).
    let without = u - oprf_ms - 2.0 * r;
    println!(
        "unlock with the OPRF step over loopback (online QR presentation, m={} MiB t={} p={}), \
         {rounds} interleaved rounds: median {u:.2} ms; Argon2 alone median {a:.2} ms; the \
         rest (counter writes, keystore, two HTTP round trips, OPRF, unwrap, signatures) \
         {:.2} ms",
        p.m_kib / 1024,
        p.t,
        p.p,
        u - a
    );
    println!(
        "OPRF step (P256-SHA256 VOPRF), medians over {} runs in the same rounds: client blind \
         {b:.0} us, server evaluation with proof {e:.0} us, client proof check and finalize \
         {f:.0} us ({oprf_ms:.2} ms in all); one loopback round trip to the evaluation endpoint \
         {r:.2} ms. Unlock without the OPRF step (and its two round trips) about {without:.2} \
         ms: the OPRF adds {:.1} % network excluded, {:.1} % with its two round trips",
        rounds * 10,
        oprf_ms / without * 100.0,
        (oprf_ms + 2.0 * r) / without * 100.0
    );
    env.server.shutdown().await;
}
