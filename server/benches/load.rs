// SPDX-License-Identifier: Apache-2.0
//! Load bench: N relying parties and N wallets run whole login flows against an in-process
//! server on loopback, on a real SQLite file, one flow after the other in the same run.
//!
//! The CIBA flow = CIBA request → device fetches its challenge (long-poll already parked when
//! the challenge is queued, as a real wallet would be) → device verifies it with the pinned
//! key and signs an approval (keys already loaded, no Argon2) → relying party redeems the
//! token and verifies the ID token (the shared `relying_party`, JWKS fetched once).
//!
//! The browser flow ([`browser`], ADR 0002) = a new browser (empty cookie jar) sent to the
//! authorization endpoint → the login page → the identifier form → the phone gets the
//! challenge and approves the page's code (as above) while the page's status long-poll is
//! parked → the continue link's redirect to the client → code exchange (PKCE, ID token
//! verified with nonce and `at_hash`) → userinfo.
//!
//! Each prints completed flows/s, p50/p99 latency (the phone's PIN time excluded: the keys are
//! loaded), the RSS once a second, and CPU per flow. The server gets the bench's own limits:
//! one loopback address and one client play every host and relying party, so the per-IP and
//! per-client limits are lifted.
//!
//! Settings (environment): `VL_BENCH_PAIRS` (concurrent pairs, default 64), `VL_BENCH_SECS`
//! (measured seconds per flow, default 5), `VL_BENCH_WORKERS` (tokio workers, default 2),
//! `VL_BENCH_MAX_FLOWS` (stop a flow after this many, default unbounded), `VL_BENCH_FLOWS`
//! (`ciba,browser,identifier` by default; `identifier` compares the identifier step's time for
//! an unknown identifier and a known one without a device, `VL_BENCH_TRIES` pairs, default
//! 200: it fails when a sign test tells them apart).
//! `VL_BENCH_DATABASE_URL` (a PostgreSQL server: the run goes to a schema of its own there,
//! issue 19; default: the SQLite file), `VL_BENCH_OLD_LOGINS` (old logins, expired two days ago,
//! written before the run so it measures a database that has served for a while; default 0:
//! a fresh database; see [`old_rows`]), `VL_BENCH_DIR` (where the database goes; default a
//! temporary folder, removed at the end either way), `VL_BENCH_RETENTION` (`idle`: the
//! retention does one batch per table at start and no more during the run; default: the
//! server's defaults, so on old logins it works their backlog off while the bench measures).
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

/// The server binary's allocator (src/bin/vistalid-server/main.rs), so the bench measures what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "load/browser.rs"]
mod browser;
#[path = "load/old_rows.rs"]
mod old_rows;

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
    let dir = match std::env::var("VL_BENCH_DIR") {
        Ok(d) => tempfile::tempdir_in(d),
        Err(_) => tempfile::tempdir(),
    }
    .expect("tempdir");
    let db = dir.path().join("bench.sqlite");
    let old = env("VL_BENCH_OLD_LOGINS", 0);
    if old > 0 {
        // The server creates and migrates the file; the old rows go in before it serves.
        drop(vistalid_server::open_admin(ServerConfig::new(&db)).expect("migrate"));
        old_rows::fill(&db, old, now());
    }
    let mut config = ServerConfig::new(&db);
    // VL_BENCH_DATABASE_URL (a PostgreSQL server, e.g. `scripts/pg.sh url`): the same run on
    // a schema of its own there instead of the SQLite file.
    if let Ok(url) = std::env::var("VL_BENCH_DATABASE_URL") {
        assert_eq!(old, 0, "VL_BENCH_OLD_LOGINS writes the SQLite file only");
        config.use_postgres_schema(&url).expect("PostgreSQL schema");
        eprintln!("database: PostgreSQL ({url})");
    }
    if std::env::var("VL_BENCH_RETENTION").as_deref() == Ok("idle") {
        // The rows stay while measuring (one batch per table at start, the next run in an
        // hour): what holding them costs, apart from working a backlog off.
        config.retention_batches_per_run = 1;
        config.retention_interval_secs = 3600;
    }
    config.poll_interval_secs = 0;
    // The bench's own limits. Every pair comes from 127.0.0.1: one address plays many hosts
    // (connections and enrolments), and one relying party plays many (CIBA requests).
    config.max_connections_per_ip = config.max_connections;
    config.enrol_per_ip_per_min = u32::MAX;
    config.ciba_per_client_per_min = u32::MAX;
    config.browser_login_per_ip_per_min = u32::MAX;
    let server = server_rt.block_on(start(config)).expect("server");
    client_rt.block_on(run(&server));
    if old > 0 {
        // What the retention worked off while the bench ran (its first run starts at once).
        let left: i64 = rusqlite::Connection::open(&db)
            .and_then(|c| {
                c.query_row(
                    "SELECT count(*) FROM auth_requests WHERE id LIKE 'old-%'",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap_or(-1);
        println!("old logins still in the database after the run: {left} of {old}");
    }
    server_rt.block_on(server.shutdown());
    // The database (and its old rows) goes with the folder.
    drop(dir);
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
    flows: u64,
    name: &str,
) {
    let flows = flows.max(1) as f64;
    for (k, v) in after {
        let d = v - before.get(k).copied().unwrap_or(0.0);
        println!(
            "{name}: cpu {k}: {d:.2} s = {:.0} us per flow",
            d * 1e6 / flows
        );
    }
}

/// Which flow a phase runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// CIBA: request, phone, token poll.
    Ciba,
    /// The browser login (ADR 0002): authorization request, identifier form, status, phone,
    /// redirect, code exchange, userinfo.
    Browser,
}

impl Flow {
    fn name(self) -> &'static str {
        match self {
            Self::Ciba => "CIBA",
            Self::Browser => "browser",
        }
    }
}

/// What every flow of a run shares.
struct Ctx {
    http: reqwest::Client,
    base: String,
    ciba_rp: RelyingParty,
    browser: browser::Browser,
}

/// One enrolled phone and its account.
struct Pair {
    rpps: String,
    wallet: Wallet,
}

async fn run(server: &vistalid_server::RunningServer) {
    let pairs = env("VL_BENCH_PAIRS", 64);
    let secs = env("VL_BENCH_SECS", 5);
    let flow_list =
        std::env::var("VL_BENCH_FLOWS").unwrap_or_else(|_| "ciba,browser,identifier".into());
    let flows: Vec<Flow> = flow_list
        .split(',')
        .filter_map(|f| match f.trim() {
            "ciba" => Some(Flow::Ciba),
            "browser" => Some(Flow::Browser),
            _ => None,
        })
        .collect();
    let base = server.base_url().to_owned();
    let admin = server.admin();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::try_from(pairs * 3).unwrap_or(256))
        .build()
        .expect("client");

    let (client_id, secret) = admin
        .add_client("Bench RP", CodeMode::Pick)
        .expect("client");
    let ciba_rp = RelyingParty::new(&base, &client_id, &secret).with_http(http.clone());
    let browser = browser::Browser::register(&admin, &base, &http, pairs);
    let mut wallets = Vec::new();
    for i in 0..pairs {
        let rpps = format!("{}", 10_000_000_000u64 + i);
        let code = admin
            .add_practitioner(&rpps, "Bench", "User", "10")
            .expect("account");
        wallets.push(Arc::new(Pair {
            wallet: enrol(&http, &base, code.as_str()).await,
            rpps,
        }));
    }
    let ctx = Arc::new(Ctx {
        http,
        base,
        ciba_rp,
        browser,
    });
    println!(
        "load bench: {pairs} concurrent RP+wallet pairs, {secs} s per flow, loopback, SQLite file; load average {}",
        load_average()
    );
    let mut broken = Vec::new();
    for flow in flows {
        let (completed, failed) = phase(&ctx, &wallets, flow, secs).await;
        if completed == 0 || failed > 0 {
            broken.push(format!(
                "{}: {completed} flows, {failed} errors",
                flow.name()
            ));
        }
    }
    if flow_list.split(',').any(|f| f.trim() == "identifier") {
        let tries = usize::try_from(env("VL_BENCH_TRIES", 200)).unwrap_or(200);
        if let Err(e) = ctx.browser.identifier_timing(&admin, tries).await {
            broken.push(format!("identifier timing: {e}"));
        }
    }
    println!("load average after: {}", load_average());
    // A bench that cannot run a flow is broken: fail (the test command's smoke run relies on
    // it), whatever the speed.
    assert!(broken.is_empty(), "the load bench is broken: {broken:?}");
}

/// A phone enrolled with `code` (keys in memory: no Argon2, no PIN).
async fn enrol(http: &reqwest::Client, base: &str, code: &str) -> Wallet {
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
            aud: base.to_owned(),
            iat: now(),
        },
    )
    .expect("proof");
    let enrolment: EnrolResponse = http
        .post(format!("{base}{PATH_ENROL}"))
        .json(&EnrolRequest {
            activation_code: code.to_owned(),
            public_key: key.public_key().to_jwk(),
            proof,
            device_name: "bench".into(),
            device_attestation: None,
            key_storage: None,
            pin_guard: None,
        })
        .send()
        .await
        .expect("enrol")
        .json()
        .await
        .expect("enrol json");
    let server_key = PublicKey::from_jwk(&enrolment.server_key).expect("server key");
    Wallet {
        key,
        enrolment,
        server_key,
    }
}

/// Runs `flow` on every pair for `secs` seconds; prints its figures; returns (completed,
/// failed).
async fn phase(ctx: &Arc<Ctx>, pairs: &[Arc<Pair>], flow: Flow, secs: u64) -> (u64, u64) {
    let max_flows = env("VL_BENCH_MAX_FLOWS", u64::MAX);
    let before = cpu_by_thread();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for pair in pairs {
        let (ctx, pair) = (ctx.clone(), pair.clone());
        let (stop, done, errors) = (stop.clone(), done.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let result = match flow {
                    Flow::Ciba => ciba_flow(&ctx, &pair).await,
                    Flow::Browser => ctx.browser.flow(&ctx.http, &ctx.base, &pair).await,
                };
                match result {
                    Ok(()) => {
                        latencies.push(t.elapsed());
                        if done.fetch_add(1, Ordering::Relaxed) + 1 >= max_flows {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    Err(e) => {
                        if errors.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("{} flow error: {e}", flow.name());
                        }
                    }
                }
            }
            latencies
        }));
    }
    let mut rss = vec![rss_kib()];
    let deadline = tokio::time::sleep(Duration::from_secs(secs));
    tokio::pin!(deadline);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut last_sample = Instant::now();
    loop {
        tokio::select! {
            () = &mut deadline => break,
            _ = tick.tick() => {
                if stop.load(Ordering::Relaxed) { break; }
                if last_sample.elapsed() >= Duration::from_secs(1) {
                    rss.push(rss_kib());
                    last_sample = Instant::now();
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    rss.push(rss_kib());
    all.sort();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let i = ((all.len() as f64 - 1.0) * p).round() as usize;
        all[i].as_secs_f64() * 1000.0
    };
    let name = flow.name();
    println!(
        "{name}: completed flows: {} in {elapsed:.2} s = {:.0} flows/s; errors {}",
        all.len(),
        all.len() as f64 / elapsed,
        errors.load(Ordering::Relaxed)
    );
    println!(
        "{name}: flow latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "{name}: RSS MiB per second: {}",
        rss.iter()
            .map(|k| format!("{:.0}", mib(*k)))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let after = cpu_by_thread();
    report_cpu(&before, &after, all.len() as u64, name);
    // Per-login summary: the server's threads (HTTP + SQLite writer) and the load
    // generator's, so the CPU cost can be read whatever the machine's other load.
    let used = |prefix: &str| -> f64 {
        after
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| v - before.get(k).copied().unwrap_or(0.0))
            .sum::<f64>()
            * 1e6
            / (all.len().max(1) as f64)
    };
    let (server, client) = (used("server"), used("load generator"));
    println!(
        "{name}: cpu per login: server {server:.0} us, load generator {client:.0} us, total {:.0} us \
         (= {:.0} logins/s on 2 cores)",
        server + client,
        2e6 / (server + client).max(1.0)
    );
    println!(
        "{name}: RSS MiB start/middle/end: {:.1} {:.1} {:.1}",
        mib(rss[0]),
        mib(rss[rss.len() / 2]),
        mib(rss[rss.len() - 1])
    );
    (all.len() as u64, errors.load(Ordering::Relaxed))
}

/// The process's resident set size in KiB (Linux; 0 elsewhere).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The machine's 1, 5 and 15 minute load averages (Linux; `?` elsewhere).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".into())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn ciba_flow(ctx: &Ctx, pair: &Pair) -> Result<(), String> {
    let (http, base, rp, w) = (&ctx.http, ctx.base.as_str(), &ctx.ciba_rp, &pair.wallet);
    // The wallet parks its long-poll first, as a phone waiting for a push would.
    let poll = park(http, base, w);
    let request = CibaRequest::new(pair.rpps.as_str()).binding_message("bench");
    let (poll, ciba) = tokio::join!(poll, rp.ciba(&request));
    let ciba = ciba.map_err(|e| e.to_string())?;
    let list = challenges(http, base, w, poll).await?;
    approve(http, base, w, &list, &ciba.dynamic_code).await?;
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

/// The phone's long-poll for challenges (up to 10 s).
async fn park(
    http: &reqwest::Client,
    base: &str,
    w: &Wallet,
) -> Result<ChallengesResponse, String> {
    http.get(format!("{base}{PATH_CHALLENGES}?wait=10"))
        .bearer_auth(&w.enrolment.poll_token)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

/// The challenges a parked poll returned, or (when it returned before the challenge was
/// queued) those of a second poll.
async fn challenges(
    http: &reqwest::Client,
    base: &str,
    w: &Wallet,
    parked: Result<ChallengesResponse, String>,
) -> Result<ChallengesResponse, String> {
    let list = parked?;
    if list.challenges.is_empty() {
        return park(http, base, w).await;
    }
    Ok(list)
}

/// The phone verifies the first challenge with the pinned key and approves it with `code`
/// (the code the login page shows: the user picks it; no PIN time).
async fn approve(
    http: &reqwest::Client,
    base: &str,
    w: &Wallet,
    list: &ChallengesResponse,
    code: &str,
) -> Result<(), String> {
    let token = list.challenges.first().ok_or("no challenge")?;
    let c: ChallengeClaims =
        jws::verify_json(token, &w.server_key, Some(TYP_CHALLENGE)).map_err(|e| e.to_string())?;
    let pick = c
        .candidates
        .iter()
        .find(|x| **x == code)
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
            scan_mac: None,
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
    Ok(())
}
