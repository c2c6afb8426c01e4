// SPDX-License-Identifier: Apache-2.0
//! Faults of a real cluster (issue 19): `scripts/cluster.sh` runs 3 `vistalid-server`
//! processes on one PostgreSQL behind HAProxy, and these tests break it while logins run
//! through HAProxy: one instance killed with SIGKILL under load, PostgreSQL restarted, and a
//! database too slow to answer (a table lock held by the test).
//!
//! The client's rule, as a relying party and a phone would follow it: a step that fails with
//! a *retryable* error (no answer, a broken connection, a 5xx, or an error page that is not
//! the server's JSON: HAProxy's own 502/503/504) is tried again; a login whose token was
//! lost in flight (its poll broke, the next poll says the grant was used) starts again with a
//! new CIBA request. Any other error fails the test.
//!
//! They need PostgreSQL, HAProxy and the server binary (`VL_CLUSTER_BIN`, default
//! target/debug/vistalid-server, which the workspace's test build makes), so they are
//! `#[ignore]`d: scripts/test.sh's cluster suite runs them (`--ignored fault_`).
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vistalid_core::client::ClientError;
use vistalid_core::protocol::CodeMode;
use vistalid_core::secret::Pin;
use vistalid_core::wallet::{Wallet, WalletError};
use vistalid_e2e::cluster::cluster_script;
use vistalid_e2e::{wallet, RelyingParty};
use vistalid_server::relying_party::{self as rp, RpError};

const PIN: &str = "204862";

/// Users logging in at once in the kill test, and logins each makes in a row.
const USERS: usize = 40;
const ROUNDS: usize = 3;

/// Settings of every instance: token polls at any pace, limits above the load of the tests.
const SETTINGS: &str = r#""poll_interval_secs": 0, "enrol_per_ip_per_min": 100000,
  "ciba_per_client_per_min": 100000, "max_pending_per_account": 20,
  "database_statement_timeout_ms": 1000, "database_wait_timeout_ms": 1000,
  "shutdown_grace_secs": 1"#;

/// The bound of the slow-database test: the configured 1 s, and room for HAProxy and a
/// loaded machine.
const SLOW_BOUND: Duration = Duration::from_secs(4);

/// The exclusive lock of the slow-database test, in `pg_locks`.
const LOCKS: &str =
    "pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'auth_requests'::regclass";

/// A cluster started by scripts/cluster.sh; stopped (every process, its PostgreSQL, its
/// directory) when dropped.
struct Cluster {
    state: PathBuf,
    url: String,
    /// Each instance's own address (not through HAProxy), instance 1 first.
    instances: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("cluster.state");
        let mut c = Cluster {
            state,
            url: String::new(),
            instances: Vec::new(),
            _dir: dir,
        };
        c.url = c.run(&["start"]);
        c.instances = (1..=3)
            .map(|n| c.run(&["instance-url", &n.to_string()]))
            .collect();
        c
    }

    /// Runs `scripts/cluster.sh ARGS` on this cluster; its standard output, trimmed.
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(cluster_script())
            .args(args)
            .env("VL_CLUSTER_STATE", &self.state)
            .env("VL_CLUSTER_SETTINGS", SETTINGS)
            .env("VL_CLUSTER_CHECK_MS", "250")
            .env("RUST_LOG", "info")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cluster.sh {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn db_url(&self) -> String {
        self.run(&["db-url"])
    }

    /// An admin handle on the cluster's database (the instances' key-encryption key).
    fn admin(&self) -> vistalid_server::Admin {
        let dir = PathBuf::from(self.run(&["dir"]));
        let mut c = vistalid_server::ServerConfig::new(dir.join("admin.sqlite"));
        c.database_url = Some(self.db_url().into());
        c.key_encryption_key_file = Some(dir.join("kek"));
        c.issuer = Some(self.url.clone());
        vistalid_server::open_admin(c).unwrap()
    }

    fn relying_party(&self) -> RelyingParty {
        let (id, secret) = self
            .admin()
            .add_client_with("DMP", &vistalid_server::ClientOptions::new(CodeMode::Type))
            .unwrap();
        RelyingParty {
            base: self.url.clone(),
            id,
            secret: secret.to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// One SQL query through psql on the cluster's database: its unaligned output.
    fn sql(&self, query: &str) -> String {
        let out = Command::new("psql")
            .args([self.db_url().as_str(), "-Atqc", query])
            .output()
            .unwrap();
        assert!(out.status.success(), "psql {query}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// The HTTP status of `/ready` on instance `n` itself.
    async fn ready(&self, n: usize) -> u16 {
        status_of(&self.instances[n - 1]).await
    }

    /// The HTTP status of `/ready` through HAProxy.
    async fn front_ready(&self) -> u16 {
        status_of(&self.url).await
    }
}

/// The status of GET `url`/ready (0: no answer in 3 s).
async fn status_of(url: &str) -> u16 {
    match reqwest::Client::new()
        .get(format!("{url}/ready"))
        .timeout(Duration::from_secs(3))
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(cluster_script())
            .arg("stop")
            .env("VL_CLUSTER_STATE", &self.state)
            .status();
    }
}

/// A relying party's error that a retry may cure: no answer, a 5xx, or an error page that is
/// not the server's JSON (HAProxy's own 502/503/504).
fn rp_retryable(e: &RpError) -> bool {
    match e {
        RpError::Transport(_) | RpError::Malformed("error body") => true,
        RpError::Refused { status, .. } => *status >= 500,
        _ => false,
    }
}

/// A wallet's error that a retry may cure (the same rule).
fn wallet_retryable(e: &WalletError) -> bool {
    match e {
        WalletError::Client(ClientError::Network { retryable }) => *retryable,
        WalletError::Client(ClientError::Server { status, .. }) => *status >= 500,
        WalletError::Client(ClientError::BadResponse) => true,
        _ => false,
    }
}

/// How far a batch of logins has come.
#[derive(Debug, Default)]
struct Progress {
    /// Approvals sent.
    approved: AtomicUsize,
    /// Logins that got their token.
    done: AtomicUsize,
}

/// What one user's logins went through.
#[derive(Debug, Default)]
struct Tally {
    /// Retryable errors met (and retried).
    retried: usize,
    /// Tokens lost in flight: the poll broke and the next said the grant was used.
    lost_tokens: usize,
    /// Logins started (CIBA requests accepted).
    started: usize,
    /// The request that gave the token.
    auth_req_id: String,
}

/// A practitioner enrolled through the cluster: RPPS and wallet.
struct User {
    rpps: String,
    wallet: Wallet,
    _dir: tempfile::TempDir,
}

/// `n` practitioners enrolled through the cluster, numbered from `first`.
async fn enrol(cluster: &Cluster, first: u64, n: u64) -> Vec<User> {
    let admin = cluster.admin();
    let mut users = Vec::new();
    for i in first..first + n {
        let rpps = format!("{:011}", 30_000_000_000_u64 + i);
        let code = admin
            .add_practitioner(&rpps, "Jeanne", "Martin", "10")
            .unwrap()
            .to_string();
        let (wallet, dir) = wallet();
        wallet
            .enrol(&cluster.url, &code, Pin::new(PIN))
            .await
            .unwrap();
        users.push(User {
            rpps,
            wallet,
            _dir: dir,
        });
    }
    users
}

/// Retries `f` while it fails with an error `retryable` accepts (counting them), at most
/// 40 times, 100 ms apart; the first other error or the last retryable one is returned.
macro_rules! retry {
    ($tally:expr, $retryable:expr, $f:expr) => {{
        let mut tries = 0;
        loop {
            match $f.await {
                Err(e) if $retryable(&e) && tries < 40 => {
                    eprintln!("retried: {e}");
                    tries += 1;
                    $tally.retried += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => break other,
            }
        }
    }};
}

/// One user's login through the cluster, started again (a new CIBA request) when its token
/// was lost in flight; `progress` counts its approvals and its token. Panics on any error
/// the client's rule does not retry.
async fn login(rp: &rp::RelyingParty, user: &User, progress: &Progress) -> Tally {
    let mut t = Tally::default();
    for round in 0..5 {
        let binding = format!("Connexion {} {round}", user.rpps);
        let req = rp::CibaRequest::new(&user.rpps).binding_message(&binding);
        let ciba = retry!(t, rp_retryable, rp.ciba(&req)).expect("CIBA request");
        t.started += 1;
        // The phone: its challenge (the long-poll may break with its instance), then the
        // approval. An approval that failed retryably may or may not have been recorded: the
        // phone fetches again; its challenge still pending means not recorded (approve it
        // again), gone means recorded (the token tells).
        let mut failed_approvals = 0;
        loop {
            let wait = if failed_approvals == 0 { 2 } else { 0 };
            let fetched = retry!(t, wallet_retryable, user.wallet.fetch_challenges(wait))
                .expect("challenges");
            let Some(challenge) = fetched
                .challenges
                .into_iter()
                .find(|c| c.binding_message == binding)
            else {
                if failed_approvals == 0 {
                    continue;
                }
                break;
            };
            match user
                .wallet
                .approve(&challenge.id, Pin::new(PIN), &ciba.dynamic_code)
                .await
            {
                Ok(_) => break,
                Err(e) if wallet_retryable(&e) && failed_approvals < 40 => {
                    eprintln!("{}: approval failed, retried: {e}", user.rpps);
                    t.retried += 1;
                    failed_approvals += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("{}: approval: {e}", user.rpps),
            }
        }
        progress.approved.fetch_add(1, Ordering::SeqCst);
        // The relying party polls for its token.
        let mut broken_poll = false;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "{}: no token in 30 s", user.rpps);
            match rp.token(&ciba.auth_req_id).await {
                Ok(_) => {
                    progress.done.fetch_add(1, Ordering::SeqCst);
                    t.auth_req_id = ciba.auth_req_id;
                    return t;
                }
                Err(e) if rp_retryable(&e) => {
                    eprintln!("{}: token poll failed, retried: {e}", user.rpps);
                    t.retried += 1;
                    broken_poll = true;
                }
                Err(RpError::Refused { body, .. }) if body.error == "authorization_pending" => {}
                Err(RpError::Refused { body, .. })
                    if body.error == "invalid_grant" && broken_poll =>
                {
                    t.lost_tokens += 1;
                    break;
                }
                Err(e) => panic!("{}: token poll: {e}", user.rpps),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("{}: no login in 5 rounds: {t:?}", user.rpps);
}

/// Tokens issued according to the database (CIBA requests holding an access token).
fn tokens_issued(cluster: &Cluster) -> usize {
    cluster
        .sql("SELECT count(*) FROM auth_requests WHERE access_token_hash IS NOT NULL")
        .parse()
        .unwrap()
}

/// Logins of `users` run at once through the cluster, `rounds` in a row for each user.
async fn logins(
    rp: &RelyingParty,
    users: &Arc<Vec<User>>,
    progress: &Arc<Progress>,
    rounds: usize,
) -> Vec<Tally> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..users.len() {
        let (rp, users, progress) = (rp.shared(), Arc::clone(users), Arc::clone(progress));
        tasks.spawn(async move {
            let mut out = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                out.push(login(&rp, &users[i], &progress).await);
            }
            out
        });
    }
    let mut out = Vec::new();
    while let Some(t) = tasks.join_next().await {
        out.extend(t.expect("a login task panicked"));
    }
    out
}

/// HAProxy's 5xx answers in its log (`option httplog` lines), counted by server, status and
/// termination state (`SC--`: the connection to the server failed, `SH--`: the server
/// closed before answering, ...).
fn proxy_errors(log: &str) -> std::collections::BTreeMap<(String, String, String), usize> {
    let mut out = std::collections::BTreeMap::new();
    for line in log.lines() {
        let words: Vec<&str> = line
            .split_whitespace()
            .skip_while(|w| !w.starts_with("vistalid/"))
            .collect();
        if let [server, _timers, status, _bytes, _, _, flags, ..] = words[..] {
            if status.starts_with('5') {
                *out.entry((server.to_owned(), status.to_owned(), flags.to_owned()))
                    .or_default() += 1;
            }
        }
    }
    out
}

fn log_of(cluster: &Cluster, n: usize) -> String {
    std::fs::read_to_string(Path::new(&cluster.run(&["log", &n.to_string()]))).unwrap()
}

/// Kill -9 of one instance in the middle of 120 logins (40 users at once, 3 in a row each),
/// once a quarter of them are done: every login completes
/// (after the client's retries), no request gives its token twice, the database holds as
/// many tokens as the clients received plus those lost in flight, and the two survivors
/// serve new logins without a single error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL, HAProxy and the server binary: scripts/test.sh's cluster suite"]
async fn fault_kill_9_of_one_instance_under_load_loses_no_login() {
    let cluster = Cluster::start();
    let rp = cluster.relying_party();
    let users = Arc::new(enrol(&cluster, 0, USERS as u64).await);
    let progress = Arc::new(Progress::default());

    let killer = {
        let progress = Arc::clone(&progress);
        let state = cluster.state.clone();
        tokio::spawn(async move {
            while progress.done.load(Ordering::SeqCst) < USERS * ROUNDS / 4 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let before = progress.done.load(Ordering::SeqCst);
            let status = Command::new(cluster_script())
                .args(["kill", "2"])
                .env("VL_CLUSTER_STATE", &state)
                .status()
                .unwrap();
            assert!(status.success(), "cluster.sh kill 2");
            (before, progress.done.load(Ordering::SeqCst))
        })
    };
    let tallies = logins(&rp, &users, &progress, ROUNDS).await;
    // The kill is sent once a quarter of the logins are done, and the instance is dead
    // (the script waits for it) while logins are still running: in the middle of the load,
    // however long the script took to start on a busy machine.
    let (done_at_kill, done_once_dead) = killer.await.unwrap();
    assert!(
        done_once_dead < USERS * ROUNDS,
        "the instance died after the load ({done_at_kill} logins done at the kill, \
         {done_once_dead} once it was dead)"
    );
    assert_eq!(cluster.ready(2).await, 0, "instance 2 is dead");
    let retried: usize = tallies.iter().map(|t| t.retried).sum();
    let lost: usize = tallies.iter().map(|t| t.lost_tokens).sum();
    let haproxy = std::fs::read_to_string(cluster.run(&["log", "haproxy"])).unwrap();
    for line in haproxy
        .lines()
        .filter(|l| l.contains("is DOWN") || l.contains("is UP"))
    {
        eprintln!("haproxy: {line}");
    }
    eprintln!(
        "HAProxy's 5xx answers (server, status, termination state): {:?}",
        proxy_errors(&haproxy)
    );
    let unavailable: Vec<usize> = [1, 3]
        .iter()
        .map(|n| log_of(&cluster, *n).matches("database unavailable").count())
        .collect();
    eprintln!(
        "kill -9 with {done_at_kill} logins done ({done_once_dead} once dead): {} logins ({} approvals), {retried} retried \
         errors, {lost} tokens lost in flight; 503s of the survivors: {unavailable:?}",
        tallies.len(),
        progress.approved.load(Ordering::SeqCst)
    );
    assert_eq!(tallies.len(), USERS * ROUNDS, "every login completed");
    // Nothing issued twice: a request's token is refused once given, on every survivor.
    for t in &tallies {
        for _ in 0..2 {
            match rp.shared().token(&t.auth_req_id).await {
                Err(RpError::Refused { body, .. }) => assert_eq!(body.error, "invalid_grant"),
                other => panic!("a second token for {}: {other:?}", t.auth_req_id),
            }
        }
    }
    assert_eq!(
        tokens_issued(&cluster),
        tallies.len() + lost,
        "tokens in the database: those received and those lost in flight"
    );
    // The survivors serve the rest, without an error the client must retry.
    let fresh = Arc::new(Progress::default());
    let more = logins(&rp, &Arc::new(enrol(&cluster, 1000, 6).await), &fresh, 1).await;
    assert!(
        more.iter().all(|t| t.retried == 0 && t.started == 1),
        "{more:?}"
    );
    for n in [1, 3] {
        assert!(
            !log_of(&cluster, n).contains("panicked"),
            "instance {n} panicked"
        );
    }
}

/// PostgreSQL restarted under the cluster (down for 2 s): `/ready` goes 503 then 200 by
/// itself on every instance, and the next logins pass without one retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL, HAProxy and the server binary: scripts/test.sh's cluster suite"]
async fn fault_postgresql_restart_instances_reconnect_by_themselves() {
    let cluster = Cluster::start();
    let rp = cluster.relying_party();
    let users = Arc::new(enrol(&cluster, 0, 3).await);
    let none = Arc::new(Progress::default());
    logins(&rp, &users, &none, 1).await;

    let state = cluster.state.clone();
    let restart = std::thread::spawn(move || {
        let status = Command::new(cluster_script())
            .args(["restart-db", "2"])
            .env("VL_CLUSTER_STATE", &state)
            .status()
            .unwrap();
        assert!(status.success(), "cluster.sh restart-db");
    });
    let mut seen = Vec::new();
    while !restart.is_finished() {
        seen.push(cluster.ready(1).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    restart.join().unwrap();
    assert!(
        seen.contains(&503),
        "/ready never said the database was gone: {seen:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    for n in 1..=3 {
        while cluster.ready(n).await != 200 {
            assert!(
                Instant::now() < deadline,
                "instance {n} not ready again in 15 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // HAProxy puts them back after two good checks.
    while cluster.front_ready().await != 200 {
        assert!(
            Instant::now() < deadline,
            "HAProxy has no instance again in 15 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = logins(&rp, &users, &none, 1).await;
    assert!(after.iter().all(|t| t.retried == 0), "{after:?}");
}

/// A database too slow to answer (the test holds an exclusive lock on the login requests'
/// table): a CIBA request and a token poll are answered 503 with the server's JSON error
/// body and `Retry-After` within the configured 1 s bound (plus slack), not left hanging;
/// once the lock is gone, logins pass again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL, HAProxy and the server binary: scripts/test.sh's cluster suite"]
async fn fault_slow_database_gives_typed_timeouts_not_hangs() {
    let cluster = Cluster::start();
    let rp = cluster.relying_party();
    let users = Arc::new(enrol(&cluster, 0, 1).await);
    let none = Arc::new(Progress::default());
    let first = logins(&rp, &users, &none, 1).await;

    // The lock, held for 10 s by a psql session of its own.
    let mut holder = Command::new("psql")
        .args([
            cluster.db_url().as_str(),
            "-Atqc",
            "BEGIN; LOCK TABLE auth_requests IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(10); COMMIT;",
        ])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while cluster.sql(&format!("SELECT count(*) FROM {LOCKS}")) != "1" {
        assert!(Instant::now() < deadline, "the lock was not taken");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let http = reqwest::Client::new();
    let form_ciba = [
        ("scope", "openid"),
        ("login_hint", users[0].rpps.as_str()),
        ("binding_message", "Connexion lente"),
    ];
    let form_token = [
        ("grant_type", vistalid_core::protocol::CIBA_GRANT_TYPE),
        ("auth_req_id", first[0].auth_req_id.as_str()),
    ];
    for (path, form) in [
        (vistalid_core::protocol::PATH_CIBA, &form_ciba[..]),
        (vistalid_core::protocol::PATH_TOKEN, &form_token[..]),
    ] {
        let t0 = Instant::now();
        let resp = http
            .post(format!("{}{path}", cluster.url))
            .basic_auth(&rp.id, Some(&rp.secret))
            .form(form)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        let took = t0.elapsed();
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get("retry-after").cloned();
        let body: serde_json::Value = resp.json().await.unwrap();
        eprintln!("{path} with the table locked: {status} in {took:?}: {body}");
        assert_eq!(status, 503, "{path}: {body}");
        assert_eq!(body["error"], "server_error", "{path}: {body}");
        assert!(retry_after.is_some(), "{path}: no Retry-After");
        assert!(took < SLOW_BOUND, "{path} took {took:?}");
        assert!(
            took >= Duration::from_millis(900),
            "{path} answered before the lock timeout"
        );
    }
    assert!(holder.try_wait().unwrap().is_none(), "the lock ended early");
    cluster.sql(&format!("SELECT pg_terminate_backend(pid) FROM {LOCKS}"));
    let _ = holder.wait();
    assert_eq!(cluster.sql(&format!("SELECT count(*) FROM {LOCKS}")), "0");
    let after = logins(&rp, &users, &none, 1).await;
    assert!(after.iter().all(|t| t.retried == 0), "{after:?}");
    for n in 1..=3 {
        let log = log_of(&cluster, n);
        assert!(!log.contains("panicked"), "instance {n} panicked");
    }
}
