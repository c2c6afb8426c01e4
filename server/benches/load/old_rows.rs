// SPDX-License-Identifier: Apache-2.0
//! The retention bench's old logins (issue 19): `VL_BENCH_OLD_LOGINS` logins that expired
//! two days before the run, written in bulk SQL before the server starts, each as a login
//! leaves it: its request (`auth_requests`, issued), its challenge with a JWS of a real
//! challenge's size, its access token. The server's retention then works them off in small
//! batches while the bench measures, as on a database that has served for a while. Their
//! ids and token keys begin with their creation time as the server's own do (`ordered`):
//! hex milliseconds for ids, 6 bytes for token keys.
//!
//! A kept SQLite file (`VL_BENCH_OLD_DB`) is topped up to the count rather than filled
//! again: what the retention removed in a run is written back at the next.

use std::path::Path;
use std::time::Instant;

/// Rows per insert transaction.
const CHUNK: u64 = 200_000;

/// Old logins in the SQLite file at `path` (accounts `old-account-…`, through the
/// `auth_requests_account` index).
pub(crate) fn count_sqlite(path: &Path) -> u64 {
    rusqlite::Connection::open(path)
        .and_then(|c| {
            c.query_row(
                "SELECT count(*) FROM auth_requests
                 WHERE account_id >= 'old-account-' AND account_id < 'old-account.'",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .map(|n| u64::try_from(n).unwrap_or(0))
        .unwrap_or(0)
}

/// Old logins in the PostgreSQL schema of `url`.
pub(crate) fn count_postgres(url: &str) -> u64 {
    super::legs::with_client(url, |c| async move {
        c.query_one(
            "SELECT count(*) FROM auth_requests
             WHERE account_id >= 'old-account-' AND account_id < 'old-account.'",
            &[],
        )
        .await
        .map(|r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0))
        .unwrap_or(0)
    })
}

/// Bytes the database takes: the SQLite file with its WAL, or the PostgreSQL schema's
/// tables with their indexes and TOAST.
pub(crate) fn size(path: &Path, pg_url: Option<&str>) -> u64 {
    match pg_url {
        None => ["", "-wal"]
            .iter()
            .map(|s| {
                let mut p = path.as_os_str().to_owned();
                p.push(s);
                std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
            })
            .sum(),
        Some(url) => super::legs::with_client(url, |c| async move {
            c.query_one(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = current_schema() AND c.relkind = 'r'",
                &[],
            )
            .await
            .map(|r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0))
            .unwrap_or(0)
        }),
    }
}

/// Writes old logins into the SQLite file at `path` (created and migrated by the server
/// first) until it holds `n`; prints the time taken and the file size.
pub(crate) fn fill_sqlite(path: &Path, n: u64, now: i64) {
    let have = count_sqlite(path);
    if have >= n {
        return;
    }
    let started = Instant::now();
    let conn = rusqlite::Connection::open(path).expect("open the bench database");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "OFF")
        .expect("sync");
    // Two days ago: past the default 24 h retention, so every row is prunable.
    let expired = now - 2 * 86_400;
    // Ids of this top-up's own (`<time>old-<now>-<i>`), apart from those of earlier fills;
    // login `i` was made at `ms(i)`, 1 000 logins a second going back from two days ago.
    let tag = now;
    let ms = format!("(({expired} - 120 - i / 1000) * 1000 + i % 1000)");
    let (mut done, end) = (0, n - have);
    while done < end {
        let count = CHUNK.min(end - done);
        let sql = format!(
            "BEGIN;
             WITH RECURSIVE k(i) AS (SELECT {done} UNION ALL SELECT i + 1 FROM k WHERE i + 1 < {stop})
             INSERT INTO auth_requests (id, client_id, account_id, code, scope, created_at,
                 expires_at, interval_secs, status, auth_time, answered_by, flow)
             SELECT printf('%012xold-{tag}-%024d', {ms}, i), 'old-client',
                 'old-account-' || (i % 1000), '42', 'openid',
                 {expired} - 120 - i / 1000, {expired} - i / 1000, 5, 'issued',
                 {expired} - 100, 'old-device', CASE i % 2 WHEN 0 THEN 'ciba' ELSE 'browser' END
             FROM k;
             WITH RECURSIVE k(i) AS (SELECT {done} UNION ALL SELECT i + 1 FROM k WHERE i + 1 < {stop})
             INSERT INTO challenges (id, auth_req_id, device_id, jws, exp, status, answered_at)
             SELECT printf('%012xoldc-{tag}-%023d', {ms}, i), printf('%012xold-{tag}-%024d', {ms}, i),
                 'old-device-' || (i % 1000), hex(randomblob(330)), {expired} - i / 1000,
                 'answered', {expired} - 100
             FROM k;
             WITH RECURSIVE k(i) AS (SELECT {done} UNION ALL SELECT i + 1 FROM k WHERE i + 1 < {stop})
             INSERT INTO access_tokens (hash, client_id, account_id, scope, created_at, expires_at)
             SELECT unhex(printf('%012x', {ms}) || hex(randomblob(26))), 'old-client',
                 'old-account-' || (i % 1000), 'openid',
                 {expired} - 120 - i / 1000, {expired} - i / 1000
             FROM k;
             COMMIT;",
            stop = done + count
        );
        conn.execute_batch(&sql).expect("fill old logins");
        done += count;
    }
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .expect("checkpoint");
    drop(conn);
    report(n - have, n, started, size(path, None));
}

/// Writes old logins into the PostgreSQL schema of `url` (created and migrated by the
/// server first) until it holds `n`, with `generate_series`; prints time and size.
pub(crate) fn fill_postgres(url: &str, n: u64, now: i64) {
    let have = count_postgres(url);
    if have >= n {
        return;
    }
    let started = Instant::now();
    let expired = now - 2 * 86_400;
    let (tag, end) = (now, i64::try_from(n - have).unwrap_or(i64::MAX));
    // As in `fill_sqlite`: login `i` was made at `ms(i)`, as 12 hex digits.
    let hex_ms = format!("lpad(to_hex(({expired} - 120 - i / 1000) * 1000 + i % 1000), 12, '0')");
    super::legs::with_client(url, |c| async move {
        let chunk = 500_000_i64;
        let mut done = 0_i64;
        while done < end {
            let stop = (done + chunk).min(end) - 1;
            let sql = format!(
                "BEGIN;
                 INSERT INTO auth_requests (id, client_id, account_id, code, scope, created_at,
                     expires_at, interval_secs, status, auth_time, answered_by, flow)
                 SELECT {hex_ms} || 'old-{tag}-' || lpad(i::text, 24, '0'), 'old-client',
                     'old-account-' || (i % 1000), '42', 'openid', {expired} - 120 - i / 1000, {expired} - i / 1000, 5, 'issued',
                     {expired} - 100, 'old-device',
                     CASE i % 2 WHEN 0 THEN 'ciba' ELSE 'browser' END
                 FROM generate_series({done}::bigint, {stop}) i;
                 INSERT INTO challenges (id, auth_req_id, device_id, jws, exp, status, answered_at)
                 SELECT {hex_ms} || 'oldc-{tag}-' || lpad(i::text, 23, '0'),
                     {hex_ms} || 'old-{tag}-' || lpad(i::text, 24, '0'), 'old-device-' || (i % 1000),
                     repeat(md5(i::text || random()::text), 21), {expired} - i / 1000,
                     'answered', {expired} - 100
                 FROM generate_series({done}::bigint, {stop}) i;
                 INSERT INTO access_tokens (hash, client_id, account_id, scope, created_at,
                     expires_at)
                 SELECT decode({hex_ms} || substr(md5(i::text || 'a' || random()::text)
                         || md5(i::text || 'b' || random()::text), 1, 52), 'hex'),
                     'old-client', 'old-account-' || (i % 1000), 'openid',
                     {expired} - 120 - i / 1000, {expired} - i / 1000
                 FROM generate_series({done}::bigint, {stop}) i;
                 COMMIT;"
            );
            c.batch_execute(&sql).await.expect("fill old logins");
            done = stop + 1;
        }
        c.batch_execute("VACUUM ANALYZE auth_requests, challenges, access_tokens")
            .await
            .expect("vacuum");
    });
    report(n - have, n, started, size(Path::new(""), Some(url)));
}

fn report(written: u64, n: u64, started: Instant, bytes: u64) {
    println!(
        "old logins: {written} written (now {n}) in {:.1} s; database {:.2} GB ({:.0} bytes per old login)",
        started.elapsed().as_secs_f64(),
        bytes as f64 / 1e9,
        bytes as f64 / n.max(1) as f64
    );
}
