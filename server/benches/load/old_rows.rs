// SPDX-License-Identifier: Apache-2.0
//! The retention bench's old logins (issue 19): `VL_BENCH_OLD_LOGINS` logins that expired
//! two days before the run, written in bulk SQL before the server starts, each as a login
//! leaves it: its request (`auth_requests`, issued), its challenge with a JWS of a real
//! challenge's size, its access token. The server's retention then works them off in small
//! batches while the bench measures, as on a database that has served for a while.

use std::path::Path;
use std::time::Instant;

/// Rows per insert transaction.
const CHUNK: u64 = 200_000;

/// Writes `n` old logins into the database at `path` (created and migrated by the server
/// first); prints the time taken and the file size.
pub(crate) fn fill(path: &Path, n: u64, now: i64) {
    if n == 0 {
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
    let mut done = 0;
    while done < n {
        let count = CHUNK.min(n - done);
        let sql = format!(
            "BEGIN;
             WITH RECURSIVE k(i) AS (SELECT {done} UNION ALL SELECT i + 1 FROM k WHERE i + 1 < {end})
             INSERT INTO auth_requests (id, client_id, account_id, code, scope, created_at,
                 expires_at, interval_secs, status, auth_time, answered_by, flow)
             SELECT 'old-' || i, 'old-client', 'old-account-' || (i % 1000), '42', 'openid',
                 {expired} - 120 - i / 1000, {expired} - i / 1000, 5, 'issued',
                 {expired} - 100, 'old-device', CASE i % 2 WHEN 0 THEN 'ciba' ELSE 'browser' END
             FROM k;
             WITH RECURSIVE k(i) AS (SELECT {done} UNION ALL SELECT i + 1 FROM k WHERE i + 1 < {end})
             INSERT INTO challenges (id, auth_req_id, device_id, jws, exp, status, answered_at)
             SELECT 'oldc-' || i, 'old-' || i, 'old-device-' || (i % 1000),
                 hex(randomblob(330)), {expired} - i / 1000, 'answered', {expired} - 100
             FROM k;
             WITH RECURSIVE k(i) AS (SELECT {done} UNION ALL SELECT i + 1 FROM k WHERE i + 1 < {end})
             INSERT INTO access_tokens (hash, client_id, account_id, scope, created_at, expires_at)
             SELECT randomblob(32), 'old-client', 'old-account-' || (i % 1000), 'openid',
                 {expired} - 120 - i / 1000, {expired} - i / 1000
             FROM k;
             COMMIT;",
            end = done + count
        );
        conn.execute_batch(&sql).expect("fill old logins");
        done += count;
    }
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .expect("checkpoint");
    drop(conn);
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    println!(
        "old logins: {n} written in {:.1} s; database {:.2} GB ({:.0} bytes per old login)",
        started.elapsed().as_secs_f64(),
        bytes as f64 / 1e9,
        bytes as f64 / n as f64
    );
}
