// SPDX-License-Identifier: Apache-2.0
//! Load bench: N relying parties and N wallets run whole login flows against an in-process
//! server on loopback, on a real SQLite file.
//!
//! One flow = CIBA request → device fetches its challenge (long-poll already parked when the
//! challenge is queued, as a real wallet would be) → device verifies it with the pinned key
//! and signs an approval (keys already loaded, no Argon2) → relying party redeems the token
//! and verifies the ID token (the shared `relying_party`, JWKS fetched once). Prints completed
//! flows/s and p50/p99 flow latency. The server gets the bench's own limits: one loopback
//! address and one client play every host and relying party, so the per-IP enrolment and
//! per-client CIBA limits are lifted.
//!
//! Settings (environment): `VL_BENCH_PAIRS` (concurrent pairs, default 64), `VL_BENCH_SECS`
//! (measured seconds, default 5), `VL_BENCH_WORKERS` (tokio workers, default 2),
//! `VL_BENCH_MAX_FLOWS` (stop after this many flows, default unbounded).
//!
//! Run: `cargo bench -p vistalid-server --bench load`. It fails (non-zero exit) when no flow
//! completes or any flow errs, so the test command's smoke run (`cargo test --bench load`,
//! a debug build, a few pairs for a second) catches a broken bench.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vistalid_core::jws;
use vistalid_core::keys::{PublicKey, SigningKey};
use vistalid_core::protocol::{
    AnswerClaims, AnswerRequest, ChallengeClaims, ChallengesResponse, CodeMode, Decision,
    EnrolProofClaims, EnrolRequest, EnrolResponse, NonceResponse, PATH_CHALLENGES, PATH_ENROL,
    PATH_ENROL_NONCE, TYP_ANSWER, TYP_CHALLENGE, TYP_ENROL_PROOF,
};
use vistalid_server::relying_party::{CibaRequest, RelyingParty};
use vistalid_server::{start, ServerConfig};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Wallet {
    key: SigningKey,
    enrolment: EnrolResponse,
    server_key: PublicKey,
}

fn main() {
    let workers = usize::try_from(env("VL_BENCH_WORKERS", 2)).unwrap_or(2);
    // Server and load generator get separate runtimes (as two processes would), so the CPU
    // time of each side can be told apart by thread name.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("vl-server")
        .enable_all()
        .build()
        .expect("runtime");
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("vl-client")
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServerConfig::new(dir.path().join("bench.sqlite"));
    config.poll_interval_secs = 0;
    // The bench's own limits. Every pair comes from 127.0.0.1: one address plays many hosts
    // (connections and enrolments), and one relying party plays many (CIBA requests).
    config.max_connections_per_ip = config.max_connections;
    config.enrol_per_ip_per_min = u32::MAX;
    config.ciba_per_client_per_min = u32::MAX;
    let server = server_rt.block_on(start(config)).expect("server");
    client_rt.block_on(run(&server));
    server_rt.block_on(server.shutdown());
}

/// CPU seconds (user + system) per thread-name group, from /proc (Linux only).
fn cpu_by_thread() -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        // Fields after the ")" that closes comm: state is field 3; utime 14, stime 15.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
            + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let group = match comm.trim() {
            c if c.starts_with("vl-server") => "server (HTTP + handlers)",
            c if c.starts_with("vistalid-db") => "server (SQLite writer)",
            c if c.starts_with("vl-client") => "load generator (RPs + wallets)",
            _ => "other",
        };
        *out.entry(group.to_owned()).or_insert(0.0) += ticks / 100.0;
    }
    out
}

fn report_cpu(
    before: &std::collections::BTreeMap<String, f64>,
    after: &std::collections::BTreeMap<String, f64>,
) {
    let flows = FLOWS.load(Ordering::Relaxed).max(1) as f64;
    for (k, v) in after {
        let d = v - before.get(k).copied().unwrap_or(0.0);
        println!("cpu {k}: {d:.2} s = {:.0} us per flow", d * 1e6 / flows);
    }
}

static FLOWS: AtomicU64 = AtomicU64::new(0);

async fn run(server: &vistalid_server::RunningServer) {
    let pairs = env("VL_BENCH_PAIRS", 64);
    let secs = env("VL_BENCH_SECS", 5);
    let max_flows = env("VL_BENCH_MAX_FLOWS", u64::MAX);
    let base = server.base_url().to_owned();
    let admin = server.admin();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::try_from(pairs * 3).unwrap_or(256))
        .build()
        .expect("client");

    let (client_id, secret) = admin
        .add_client("Bench RP", CodeMode::Pick)
        .expect("client");
    let rp = RelyingParty::new(&base, &client_id, &secret).with_http(http.clone());
    let mut wallets = Vec::new();
    for i in 0..pairs {
        let rpps = format!("{}", 10_000_000_000u64 + i);
        let code = admin
            .add_practitioner(&rpps, "Bench", "User", "10")
            .expect("account");
        let key = SigningKey::make().expect("key");
        let nonce: NonceResponse = http
            .post(format!("{base}{PATH_ENROL_NONCE}"))
            .send()
            .await
            .expect("nonce")
            .json()
            .await
            .expect("nonce json");
        let proof = jws::sign_json(
            &key,
            TYP_ENROL_PROOF,
            &EnrolProofClaims {
                nonce: nonce.nonce,
                aud: base.clone(),
                iat: now(),
            },
        )
        .expect("proof");
        let enrolment: EnrolResponse = http
            .post(format!("{base}{PATH_ENROL}"))
            .json(&EnrolRequest {
                activation_code: code.to_string(),
                public_key: key.public_key().to_jwk(),
                proof,
                device_name: "bench".into(),
                device_attestation: None,
                key_storage: None,
            })
            .send()
            .await
            .expect("enrol")
            .json()
            .await
            .expect("enrol json");
        let server_key = PublicKey::from_jwk(&enrolment.server_key).expect("server key");
        wallets.push((
            rpps,
            Wallet {
                key,
                enrolment,
                server_key,
            },
        ));
    }
    println!("load bench: {pairs} concurrent RP+wallet pairs, {secs} s, loopback, SQLite file");

    let before = cpu_by_thread();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (rpps, wallet) in wallets {
        let (http, base, rp) = (http.clone(), base.clone(), rp.clone());
        let (stop, done, errors) = (stop.clone(), done.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match flow(&http, &base, &rp, &rpps, &wallet).await {
                    Ok(()) => {
                        latencies.push(t.elapsed());
                        if done.fetch_add(1, Ordering::Relaxed) + 1 >= max_flows {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    Err(e) => {
                        if errors.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("flow error: {e}");
                        }
                    }
                }
            }
            latencies
        }));
    }
    let deadline = tokio::time::sleep(Duration::from_secs(secs));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => break,
            () = tokio::time::sleep(Duration::from_millis(50)) => {
                if stop.load(Ordering::Relaxed) { break; }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 - 1.0) * p).round() as usize;
        all[i].as_secs_f64() * 1000.0
    };
    println!(
        "completed flows: {} in {elapsed:.2} s = {:.0} flows/s; errors {}",
        all.len(),
        all.len() as f64 / elapsed,
        errors.load(Ordering::Relaxed)
    );
    println!(
        "flow latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    FLOWS.store(all.len() as u64, Ordering::Relaxed);
    report_cpu(&before, &cpu_by_thread());
    // A bench that cannot run a flow is broken: fail (the test command's smoke run relies on
    // it), whatever the speed.
    let failed = errors.load(Ordering::Relaxed);
    assert!(
        !all.is_empty() && failed == 0,
        "the load bench is broken: {} flows, {failed} errors",
        all.len()
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn flow(
    http: &reqwest::Client,
    base: &str,
    rp: &RelyingParty,
    rpps: &str,
    w: &Wallet,
) -> Result<(), String> {
    // The wallet parks its long-poll first, as a phone waiting for a push would.
    let poll = http
        .get(format!("{base}{PATH_CHALLENGES}?wait=10"))
        .bearer_auth(&w.enrolment.poll_token)
        .send();
    let request = CibaRequest::new(rpps).binding_message("bench");
    let (poll, ciba) = tokio::join!(poll, rp.ciba(&request));
    let ciba = ciba.map_err(|e| e.to_string())?;
    let mut list: ChallengesResponse = poll
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    if list.challenges.is_empty() {
        // The poll returned before the challenge was queued; fetch again.
        list = http
            .get(format!("{base}{PATH_CHALLENGES}?wait=10"))
            .bearer_auth(&w.enrolment.poll_token)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
    }
    let token = list.challenges.first().ok_or("no challenge")?;
    let c: ChallengeClaims =
        jws::verify_json(token, &w.server_key, Some(TYP_CHALLENGE)).map_err(|e| e.to_string())?;
    // The user picks the code shown on the login page.
    let pick = c
        .candidates
        .iter()
        .find(|x| **x == ciba.dynamic_code)
        .ok_or("code not among candidates")?;
    let answer = jws::sign_json(
        &w.key,
        TYP_ANSWER,
        &AnswerClaims {
            challenge_id: c.id.clone(),
            device_id: w.enrolment.device_id.clone(),
            decision: Decision::Approve,
            code: Some(pick.clone()),
            iat: now(),
        },
    )
    .map_err(|e| e.to_string())?;
    let r = http
        .post(format!("{base}/device/challenges/{}/answer", c.id))
        .json(&AnswerRequest {
            answer,
            hardware_signature: None,
        })
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("answer: {}", r.status()));
    }
    // The relying party redeems the token and verifies the ID token (JWKS cached).
    let tok = rp
        .token(&ciba.auth_req_id)
        .await
        .map_err(|e| format!("token: {e}"))?;
    rp.verify_id_token(&tok.id_token, None)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
