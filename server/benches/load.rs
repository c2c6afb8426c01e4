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
//! Each phase prints completed flows/s, p50/p99 latency (the phone's PIN time excluded: the
//! keys are loaded), CPU per flow (server threads, SQLite's writer, the database server's
//! processes, the load generator) and the store's counters (PostgreSQL's serialization
//! retries). The server gets the bench's own limits: one loopback address and one client
//! play every host and relying party, so the per-IP and per-client limits are lifted.
//!
//! Legs ([`legs`], issue 19): `VL_BENCH_BACKENDS` names the deployments measured side by
//! side in one run (`sqlite`, `postgres`, `cluster` — 3 instances on one PostgreSQL
//! behind HAProxy —, each also with `-old` or `-old-idle`; default `sqlite`, plus `postgres`
//! when `VL_BENCH_DATABASE_URL` is set, plus `sqlite-old` when `VL_BENCH_OLD_LOGINS` is
//! set). `VL_BENCH_ROUNDS` (default 1)
//! rounds run every leg in turn (A B A B), each leg started before its turn and stopped
//! after, each flow after `VL_BENCH_WARMUP_SECS` (default 1) unmeasured; the summary gives
//! per leg the median flows/s over rounds and the ratio to the first leg.
//!
//! Settings (environment): `VL_BENCH_PAIRS` (concurrent pairs, default 64), `VL_BENCH_SECS`
//! (measured seconds per flow, default 5), `VL_BENCH_WORKERS` (tokio workers, default 2),
//! `VL_BENCH_MAX_FLOWS` (stop a flow after this many, default unbounded), `VL_BENCH_FLOWS`
//! (`ciba,browser,identifier` by default; `identifier` compares the identifier step's time for
//! an unknown identifier and a known one without a device, `VL_BENCH_TRIES` pairs, default
//! 200, on the first leg: it fails when a sign test tells them apart).
//! `VL_BENCH_DATABASE_URL` (a PostgreSQL server for the `postgres` legs, each database on a
//! schema of its own there; without it, a `postgres` leg starts a throwaway server with
//! `scripts/pg.sh` and stops it at the end), `VL_BENCH_OLD_LOGINS` (old logins, expired two
//! days ago, in the `-old` legs' databases, written before the run so they measure a
//! database that has served for a while; see [`old_rows`]), `VL_BENCH_OLD_DB` (the
//! `sqlite-old` leg's file, kept after the run and topped up at the next; default: in the
//! run's folder), `VL_BENCH_DIR` (where the run's folder goes; default the system's
//! temporary folder; removed at the end), `VL_BENCH_RETENTION` (`idle`: every `-old` leg as
//! `-old-idle`), `VL_BENCH_RETENTION_PERCENT` (the servers' `retention_busy_percent`).
//!
#![allow(missing_docs)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vistalid_core::jws;
use vistalid_core::keys::{PublicKey, SigningKey};
use vistalid_core::protocol::{
    CodeMode, EnrolProofClaims, EnrolRequest, EnrolResponse, NonceResponse, PATH_ENROL,
    PATH_ENROL_NONCE, TYP_ENROL_PROOF,
};
use vistalid_server::relying_party::{CibaRequest, RelyingParty, RpError};
use vistalid_server::ServerConfig;

/// The server binary's allocator (src/bin/vistalid-server/main.rs), so the bench measures what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "load/browser.rs"]
mod browser;
#[path = "load/legs.rs"]
mod legs;
#[path = "load/old_rows.rs"]
mod old_rows;
#[path = "load/phone.rs"]
mod phone;
#[path = "load/report.rs"]
mod report;

use legs::Backend;
use phone::{approve, challenges, park};

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
    let old = env("VL_BENCH_OLD_LOGINS", 0);
    let default_legs = [
        Some("sqlite"),
        std::env::var("VL_BENCH_DATABASE_URL")
            .is_ok()
            .then_some("postgres"),
        (old > 0).then_some("sqlite-old"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(",");
    let leg_list = std::env::var("VL_BENCH_BACKENDS").unwrap_or(default_legs);
    let idle = std::env::var("VL_BENCH_RETENTION").as_deref() == Ok("idle");
    let legs = legs::parse(&leg_list, idle);
    assert!(!legs.is_empty(), "VL_BENCH_BACKENDS names no leg");
    let pg = legs
        .iter()
        .any(|l| l.backend == Backend::Postgres)
        .then(|| legs::PgServer::from_env_or_start(dir.path()));
    let mut databases = databases(&legs, dir.path(), pg.as_ref(), old);
    let settings = Settings::from_env();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::try_from(settings.pairs * 3).unwrap_or(256))
        .build()
        .expect("client");
    println!(
        "load bench: legs {leg_list}, {} rounds, {} concurrent RP+wallet pairs, {} s per flow \
         after {} s of warm-up, loopback; load average {}",
        settings.rounds,
        settings.pairs,
        settings.secs,
        settings.warmup,
        load_average()
    );
    let mut phases = Vec::new();
    let mut broken = Vec::new();
    for round in 1..=settings.rounds {
        for (i, leg) in legs.iter().enumerate() {
            let db = &mut databases[leg.db];
            let (started, endpoint) = legs::Started::start(leg, db, &server_rt);
            if db.setup.is_none() {
                db.setup = Some(client_rt.block_on(set_up(
                    &started.admin(),
                    &endpoint.base,
                    &http,
                    settings.pairs,
                )));
            }
            let setup = db.setup.as_ref().expect("set up");
            let ctx = Arc::new(Ctx::new(&endpoint.base, setup, &http));
            for &flow in &settings.flows {
                let phase = client_rt.block_on(measure(
                    &ctx,
                    &setup.pairs,
                    flow,
                    &settings,
                    &endpoint,
                    leg,
                    round,
                ));
                phase.print();
                // Broken: no flow completed, or more than 1 in 20 failed. Fewer failures are
                // what the deployment gave under this load (a cluster's writes that kept
                // conflicting are answered 503 and retried by the flows, at most twice):
                // counted in the phase's and the summary's errors, never hidden.
                let failed = usize::try_from(phase.errors).unwrap_or(usize::MAX);
                if phase.latencies.is_empty() || failed.saturating_mul(20) > phase.latencies.len() {
                    broken.push(format!(
                        "{} {} round {round}: {} flows, {} errors",
                        leg.name,
                        flow.name(),
                        phase.latencies.len(),
                        phase.errors
                    ));
                }
                phases.push(phase);
            }
            if round == 1 && i == 0 && settings.identifier {
                let tries = usize::try_from(env("VL_BENCH_TRIES", 200)).unwrap_or(200);
                if let Err(e) =
                    client_rt.block_on(ctx.browser.identifier_timing(&started.admin(), tries))
                {
                    broken.push(format!("identifier timing: {e}"));
                }
            }
            started.stop(&server_rt);
        }
    }
    let names: Vec<String> = legs.iter().map(|l| l.name.clone()).collect();
    report::summary(
        &phases,
        &names,
        &format!("load average after: {}", load_average()),
    );
    for db in &databases {
        if db.old_logins > 0 {
            let left = match &db.pg_url {
                Some(url) => old_rows::count_postgres(url),
                None => old_rows::count_sqlite(&db.path),
            };
            println!(
                "{:?} database: old logins {} at the start, {left} after the run; {:.2} GB",
                db.backend,
                db.old_logins,
                old_rows::size(&db.path, db.pg_url.as_deref()) as f64 / 1e9
            );
        }
    }
    // The throwaway PostgreSQL goes (if the bench started it), then the run's folder.
    drop(pg);
    drop(dir);
    // A bench that cannot run a flow (or fails more than 5 % of them) is broken: fail (the
    // test command's smoke run relies on it), whatever the speed.
    assert!(broken.is_empty(), "the load bench is broken: {broken:?}");
}

/// The run's settings from the environment.
struct Settings {
    pairs: u64,
    secs: u64,
    warmup: u64,
    rounds: u64,
    max_flows: u64,
    flows: Vec<Flow>,
    identifier: bool,
}

impl Settings {
    fn from_env() -> Self {
        let list =
            std::env::var("VL_BENCH_FLOWS").unwrap_or_else(|_| "ciba,browser,identifier".into());
        Self {
            pairs: env("VL_BENCH_PAIRS", 64),
            secs: env("VL_BENCH_SECS", 5),
            warmup: env("VL_BENCH_WARMUP_SECS", 1),
            rounds: env("VL_BENCH_ROUNDS", 1).max(1),
            max_flows: env("VL_BENCH_MAX_FLOWS", u64::MAX),
            flows: list
                .split(',')
                .filter_map(|f| match f.trim() {
                    "ciba" => Some(Flow::Ciba),
                    "browser" => Some(Flow::Browser),
                    _ => None,
                })
                .collect(),
            identifier: list.split(',').any(|f| f.trim() == "identifier"),
        }
    }
}

/// The databases the legs name (one per backend and old-or-fresh), created, migrated and
/// (the old ones) filled.
fn databases(
    legs: &[legs::LegSpec],
    dir: &std::path::Path,
    pg: Option<&legs::PgServer>,
    old: u64,
) -> Vec<legs::Database> {
    let mut out: Vec<legs::Database> = Vec::new();
    for leg in legs {
        if leg.db < out.len() {
            continue;
        }
        let tag = format!(
            "{}-{}",
            match (leg.backend, leg.deployment) {
                (Backend::Sqlite, _) => "sqlite",
                (Backend::Postgres, legs::Deployment::InProcess) => "postgres",
                (Backend::Postgres, legs::Deployment::Cluster) => "cluster",
            },
            if leg.old { "old" } else { "fresh" }
        );
        let path = match std::env::var("VL_BENCH_OLD_DB") {
            Ok(p) if leg.old && leg.backend == Backend::Sqlite => std::path::PathBuf::from(p),
            _ => dir.join(format!("{tag}.sqlite")),
        };
        let mut config = ServerConfig::new(&path);
        if leg.backend == Backend::Postgres {
            let url = &pg.expect("PostgreSQL server").url;
            config.use_postgres_schema(url).expect("PostgreSQL schema");
        }
        config.poll_interval_secs = 0;
        // The bench's own limits. Every pair comes from 127.0.0.1: one address plays many
        // hosts (connections and enrolments), and one relying party plays many (CIBA).
        config.max_connections_per_ip = config.max_connections;
        config.enrol_per_ip_per_min = u32::MAX;
        config.ciba_per_client_per_min = u32::MAX;
        config.browser_login_per_ip_per_min = u32::MAX;
        if let Ok(n) = std::env::var("VL_BENCH_PG_POOL") {
            config.database_pool_size = n.parse().expect("VL_BENCH_PG_POOL");
        }
        if let Ok(p) = std::env::var("VL_BENCH_RETENTION_PERCENT") {
            config.retention_busy_percent = p.parse().expect("VL_BENCH_RETENTION_PERCENT");
        }
        let pg_url = config.database_url.as_ref().map(|u| u.expose().to_owned());
        let mut old_logins = 0;
        if leg.old {
            assert!(old > 0, "leg {} needs VL_BENCH_OLD_LOGINS", leg.name);
            // The server creates and migrates the database; the old rows go in before it
            // serves.
            drop(vistalid_server::open_admin(config.clone()).expect("migrate"));
            match &pg_url {
                Some(url) => old_rows::fill_postgres(url, old, now()),
                None => old_rows::fill_sqlite(&path, old, now()),
            }
            old_logins = match &pg_url {
                Some(url) => old_rows::count_postgres(url),
                None => old_rows::count_sqlite(&path),
            };
        }
        out.push(legs::Database {
            backend: leg.backend,
            config,
            path,
            pg_url,
            old_logins,
            setup: None,
        });
    }
    out
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

/// What every flow of a leg's turn shares.
struct Ctx {
    http: reqwest::Client,
    base: String,
    ciba_rp: RelyingParty,
    browser: browser::Browser,
}

impl Ctx {
    /// The relying parties of `setup` on the server at `base`.
    fn new(base: &str, setup: &legs::Setup, http: &reqwest::Client) -> Self {
        Self {
            http: http.clone(),
            base: base.to_owned(),
            ciba_rp: RelyingParty::new(base, &setup.ciba.0, &setup.ciba.1).with_http(http.clone()),
            browser: browser::Browser::new(base, &setup.browser, http, setup.pairs.len() * 3),
        }
    }
}

/// One enrolled phone and its account.
struct Pair {
    rpps: String,
    wallet: Wallet,
}

/// The bench's clients, accounts and enrolled phones on a leg's database (at its first
/// start). Account numbers are drawn from the clock, so a kept database takes a new set.
async fn set_up(
    admin: &vistalid_server::Admin,
    base: &str,
    http: &reqwest::Client,
    pairs: u64,
) -> legs::Setup {
    let (client_id, secret) = admin
        .add_client("Bench RP", CodeMode::Pick)
        .expect("client");
    let browser = browser::Browser::register(admin);
    let first = 10_000_000_000u64 + (u64::try_from(now()).unwrap_or(0) % 1_000_000) * 1000;
    let mut wallets = Vec::new();
    for i in 0..pairs {
        let rpps = format!("{}", first + i);
        let code = admin
            .add_practitioner(&rpps, "Bench", "User", "10")
            .expect("account");
        wallets.push(Arc::new(Pair {
            wallet: enrol(http, base, code.as_str()).await,
            rpps,
        }));
    }
    legs::Setup {
        ciba: (client_id, secret.to_string()),
        browser,
        pairs: wallets,
    }
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

/// Runs `flow` on every pair: `warmup` seconds unmeasured, then `secs` measured, with the
/// CPU and the leg's counters read around it.
async fn measure(
    ctx: &Arc<Ctx>,
    pairs: &[Arc<Pair>],
    flow: Flow,
    settings: &Settings,
    endpoint: &legs::Endpoint,
    leg: &legs::LegSpec,
    round: u64,
) -> report::Phase {
    if settings.warmup > 0 {
        drive(ctx, pairs, flow, settings.warmup, u64::MAX).await;
    }
    let counters = report::Counters::scrape(&ctx.http, &endpoint.metrics).await;
    let pids = endpoint.db.pids();
    let proxy: Vec<u32> = endpoint.proxy.into_iter().collect();
    let cpu = report::Cpu::now(&pids, &proxy);
    let rss = report::rss_mib();
    let started = Instant::now();
    let (latencies, errors) = drive(ctx, pairs, flow, settings.secs, settings.max_flows).await;
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu.until(&report::Cpu::now(&pids, &proxy));
    let counters = counters.until(&report::Counters::scrape(&ctx.http, &endpoint.metrics).await);
    report::Phase {
        leg: leg.name.clone(),
        postgres: leg.backend == Backend::Postgres,
        flow: flow.name(),
        round,
        latencies,
        errors,
        secs,
        cpu,
        counters,
        rss_mib: (rss, report::rss_mib()),
    }
}

/// Runs `flow` on every pair for `secs` seconds (or until `max_flows` completed); returns
/// the completed flows' latencies and the failed flows' count.
async fn drive(
    ctx: &Arc<Ctx>,
    pairs: &[Arc<Pair>],
    flow: Flow,
    secs: u64,
    max_flows: u64,
) -> (Vec<Duration>, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
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
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    (all, errors.load(Ordering::Relaxed))
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

/// A relying party's request (the CIBA request, the token poll), sent again after a 503 (a
/// database timeout, or a write that kept conflicting: nothing was written), after the
/// server's `Retry-After: 1`, at most twice, as a backend that honours the retryable answer
/// would. Those show in the phase's HTTP 5xx count.
async fn after_503<T, F, Fut>(mut send: F) -> Result<T, RpError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RpError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match send().await {
            Err(RpError::Refused { status: 503, .. }) if tries < 3 => {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            other => return other,
        }
    }
}

async fn ciba_flow(ctx: &Ctx, pair: &Pair) -> Result<(), String> {
    let (http, base, rp, w) = (&ctx.http, ctx.base.as_str(), &ctx.ciba_rp, &pair.wallet);
    // The wallet parks its long-poll first, as a phone waiting for a push would.
    let poll = park(http, base, w);
    let request = CibaRequest::new(pair.rpps.as_str()).binding_message("bench");
    let (poll, ciba) = tokio::join!(poll, after_503(|| rp.ciba(&request)));
    let ciba = ciba.map_err(|e| e.to_string())?;
    let list = challenges(http, base, w, poll).await?;
    approve(http, base, w, &list, &ciba.dynamic_code).await?;
    // The relying party redeems the token and verifies the ID token (JWKS cached).
    let tok = after_503(|| rp.token(&ciba.auth_req_id))
        .await
        .map_err(|e| format!("token: {e}"))?;
    rp.verify_id_token(&tok.id_token, None)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
