// SPDX-License-Identifier: Apache-2.0
//! The PostgreSQL schema: its migrations, numbered as SQLite's (`sqlite/schema.rs`), applied
//! in order at start.
//!
//! Guarantees: entry `i` of [`MIGRATIONS`] moves the one row of `schema_version` from `i` to
//! `i + 1`, each in its own transaction, under a transaction-scoped advisory lock (instances
//! starting together migrate once); a schema of a newer version is refused
//! ([`StoreError::TooNew`]), never written. Entry `i` holds what SQLite's entry `i` holds,
//! in PostgreSQL's types: `BIGINT` for SQLite's integers, `BOOLEAN` for its 0/1 flags,
//! `BYTEA` for its blobs, and an identity column `seq` where SQLite's code orders by `rowid`.

use crate::store::StoreError;

/// Schema migrations; entry `i` moves `schema_version.version` from `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
CREATE TABLE clients (
    client_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    mode        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE TABLE accounts (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    subject_name_id  TEXT NOT NULL UNIQUE,
    given_name       TEXT NOT NULL,
    family_name      TEXT NOT NULL,
    profession       TEXT,
    wrong_codes      BIGINT NOT NULL DEFAULT 0,
    fraud_reports    BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);
CREATE TABLE activation_codes (
    lookup      TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    secret_hash BYTEA NOT NULL,
    expires_at  BIGINT NOT NULL,
    tries_left  BIGINT NOT NULL,
    used_at     BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    name            TEXT NOT NULL,
    public_key      BYTEA NOT NULL,
    attestation     TEXT,
    poll_token_hash BYTEA NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL,
    revoked_at      BIGINT,
    seq             BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX devices_account ON devices(account_id);
CREATE TABLE enrol_nonces (
    nonce      TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE TABLE auth_requests (
    id                TEXT PRIMARY KEY,
    client_id         TEXT NOT NULL,
    account_id        TEXT NOT NULL,
    code              TEXT NOT NULL,
    scope             TEXT NOT NULL,
    acr_values        TEXT,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    interval_secs     BIGINT NOT NULL,
    status            TEXT NOT NULL,
    reason            TEXT,
    auth_time         BIGINT,
    answered_by       TEXT,
    last_poll         BIGINT,
    access_token_hash BYTEA
);
CREATE INDEX auth_requests_account ON auth_requests(account_id, status, expires_at);
CREATE TABLE challenges (
    id          TEXT PRIMARY KEY,
    auth_req_id TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    jws         TEXT NOT NULL,
    exp         BIGINT NOT NULL,
    status      TEXT NOT NULL,
    answered_at BIGINT,
    seq         BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX challenges_device ON challenges(device_id, status, exp);
CREATE INDEX challenges_request ON challenges(auth_req_id);
CREATE TABLE fraud_reports (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    auth_req_id TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    reported_at BIGINT NOT NULL
);
"#,
    r#"
CREATE TABLE credentials (
    id          BYTEA PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    device_id   TEXT NOT NULL REFERENCES devices(id),
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE TABLE redemptions (
    nonce         BYTEA PRIMARY KEY,
    credential_id BYTEA NOT NULL,
    client_id     TEXT NOT NULL,
    redeemed_at   BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX redemptions_expiry ON redemptions(expires_at);
"#,
    // 3: the QR audience a client redeems for; login holds after "not me" and wrong picks.
    r#"
ALTER TABLE clients ADD COLUMN audience TEXT;
ALTER TABLE accounts ADD COLUMN not_me_until BIGINT;
ALTER TABLE accounts ADD COLUMN wrong_streak BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN wrong_pick_until BIGINT;
"#,
    // 4: where the device's keystore keeps its key.
    r#"
ALTER TABLE devices ADD COLUMN key_storage TEXT NOT NULL DEFAULT 'software';
"#,
    // 5: the server-counted PIN guesses (issue 18).
    r#"
CREATE TABLE pin_guards (
    device_id    TEXT PRIMARY KEY REFERENCES devices(id),
    key_id       TEXT NOT NULL,
    secret_key   BYTEA,
    unlock_key   BYTEA NOT NULL,
    confirm_key  BYTEA NOT NULL,
    guesses_used BIGINT NOT NULL DEFAULT 0,
    guess_limit  BIGINT NOT NULL,
    erased_at    BIGINT,
    created_at   BIGINT NOT NULL
);
CREATE TABLE pin_guard_requests (
    device_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, jti)
);
CREATE INDEX pin_guard_requests_expiry ON pin_guard_requests(expires_at);
"#,
    // 6: the browser login (ADR 0002), as SQLite's 6 (the updates only touch rows written
    // before it, which a PostgreSQL database never had; kept so both schemas say the same).
    r#"
ALTER TABLE accounts ADD COLUMN login_id TEXT;
UPDATE accounts SET subject_name_id = '8' || subject_name_id
    WHERE kind = 'practitioner' AND length(subject_name_id) = 11
      AND subject_name_id ~ '^[0-9]+$';
UPDATE accounts SET login_id = subject_name_id WHERE kind = 'practitioner';
UPDATE accounts SET login_id = 'V' || upper(substr(replace(gen_random_uuid()::text, '-', ''), 1, 11))
    WHERE kind = 'insured';
CREATE UNIQUE INDEX accounts_login_id ON accounts(login_id);
ALTER TABLE clients ADD COLUMN userinfo_signed BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE client_uris (
    client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    uri       TEXT NOT NULL,
    seq       BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (client_id, kind, uri)
);
ALTER TABLE auth_requests ADD COLUMN flow TEXT NOT NULL DEFAULT 'ciba';
CREATE TABLE login_attempts (
    id             TEXT PRIMARY KEY,
    cookie_hash    BYTEA NOT NULL,
    csrf           TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    state          TEXT,
    nonce          TEXT,
    code_challenge TEXT NOT NULL,
    scope          TEXT NOT NULL,
    acr_values     TEXT,
    login_hint     TEXT,
    locale         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    account_id     TEXT,
    request_id     TEXT,
    starts         BIGINT NOT NULL DEFAULT 0,
    stop           TEXT,
    held_reason    TEXT,
    held_until     BIGINT,
    done_at        BIGINT
);
CREATE INDEX login_attempts_expiry ON login_attempts(expires_at);
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    cookie_hash BYTEA NOT NULL UNIQUE,
    account_id  TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    auth_time   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    ended_at    BIGINT
);
CREATE INDEX sessions_expiry ON sessions(expires_at);
CREATE TABLE authorization_codes (
    hash           BYTEA PRIMARY KEY,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce          TEXT,
    scope          TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    family_id      TEXT
);
CREATE INDEX authorization_codes_expiry ON authorization_codes(expires_at);
CREATE TABLE token_families (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    session_id TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX token_families_session ON token_families(session_id);
CREATE TABLE refresh_tokens (
    hash       BYTEA PRIMARY KEY,
    family_id  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE TABLE access_tokens (
    hash       BYTEA PRIMARY KEY,
    client_id  TEXT NOT NULL,
    account_id TEXT NOT NULL,
    family_id  TEXT,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX access_tokens_family ON access_tokens(family_id);
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);
"#,
    // 7: the device's attested hardware key (ADR 0001); refusal counts.
    r#"
ALTER TABLE devices ADD COLUMN attest_platform TEXT;
ALTER TABLE devices ADD COLUMN attest_level TEXT;
ALTER TABLE devices ADD COLUMN attest_app_id TEXT;
ALTER TABLE devices ADD COLUMN attest_boot_state TEXT;
ALTER TABLE devices ADD COLUMN attest_device_locked BOOLEAN;
ALTER TABLE devices ADD COLUMN attest_patch_level BIGINT;
ALTER TABLE devices ADD COLUMN hardware_key BYTEA;
ALTER TABLE devices ADD COLUMN apple_key_id BYTEA;
ALTER TABLE devices ADD COLUMN attest_counter BIGINT NOT NULL DEFAULT 0;
CREATE TABLE attestation_refusals (
    stage   TEXT NOT NULL,
    code    TEXT NOT NULL,
    reason  TEXT NOT NULL,
    count   BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (stage, code, reason)
);
"#,
    // 8: scan mode (issue 16).
    r#"
ALTER TABLE clients ADD COLUMN scan_login BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE login_attempts ADD COLUMN scan_secret BYTEA;
ALTER TABLE challenges ADD COLUMN scan_attempt TEXT;
"#,
    // 9: the retention's expiry indexes and the partial indexes of pending rows.
    r#"
CREATE INDEX IF NOT EXISTS auth_requests_expiry ON auth_requests(expires_at);
CREATE INDEX IF NOT EXISTS auth_requests_pending ON auth_requests(flow, expires_at)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS challenges_pending ON challenges(exp) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS enrol_nonces_expiry ON enrol_nonces(expires_at);
CREATE INDEX IF NOT EXISTS sessions_ended ON sessions(ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS refresh_tokens_expiry ON refresh_tokens(expires_at);
CREATE INDEX IF NOT EXISTS token_families_expiry ON token_families(expires_at);
CREATE INDEX IF NOT EXISTS activation_codes_expiry ON activation_codes(expires_at);
"#,
    // 10: the server's signing keys, sealed (issue 19, docs/key-rotation.md).
    r#"
CREATE TABLE signing_keys (
    purpose      TEXT NOT NULL,
    kid          TEXT NOT NULL,
    sealed       BYTEA NOT NULL,
    published_at BIGINT NOT NULL,
    active_at    BIGINT NOT NULL,
    retired_at   BIGINT,
    expires_at   BIGINT,
    PRIMARY KEY (purpose, kid)
);
"#,
    // 11: the offline code (issue 16).
    r#"
CREATE TABLE offline_secrets (
    device_id  TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL,
    sealed     BYTEA NOT NULL,
    last_step  BIGINT,
    created_at BIGINT NOT NULL,
    seq        BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE TABLE offline_guards (
    account_id   TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    locked_until BIGINT
);
ALTER TABLE clients ADD COLUMN no_offline_code BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE auth_requests ADD COLUMN offline_otp BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE sessions ADD COLUMN offline_otp BOOLEAN NOT NULL DEFAULT FALSE;
"#,
    // 12: push tokens (issue 20).
    r#"
CREATE TABLE push_tokens (
    device_id  TEXT PRIMARY KEY REFERENCES devices(id),
    platform   TEXT NOT NULL,
    token      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE push_token_requests (
    device_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, jti)
);
CREATE INDEX push_token_requests_expiry ON push_token_requests(expires_at);
"#,
    // 13: the account's unused activation codes by account, for the update that kills them
    // when a new code is issued (without it, PostgreSQL scanned the whole table: a disabled
    // sequential scan, JIT-compiled on every call and, inside SERIALIZABLE, a lock on the
    // whole table for the conflict check).
    r#"
CREATE INDEX IF NOT EXISTS activation_codes_account ON activation_codes(account_id)
    WHERE used_at IS NULL;
"#,
];

/// Applies the migrations the database lacks (see the module guarantees).
pub(super) async fn migrate(client: &mut deadpool_postgres::Client) -> Result<(), StoreError> {
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    loop {
        let tx = client.build_transaction().read_only(false).start().await?;
        // One migrating instance per schema at a time.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema()))",
            &[],
        )
        .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);
             INSERT INTO schema_version (version)
                 SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version);",
        )
        .await?;
        let version: i64 = tx
            .query_one("SELECT version FROM schema_version", &[])
            .await?
            .try_get(0)?;
        if version > known {
            return Err(StoreError::TooNew(version));
        }
        let Some(sql) = MIGRATIONS.get(usize::try_from(version).unwrap_or(usize::MAX)) else {
            tx.commit().await?;
            return Ok(());
        };
        tx.batch_execute(sql).await?;
        tx.execute("UPDATE schema_version SET version = version + 1", &[])
            .await?;
        tx.commit().await?;
        tracing::info!(version = version + 1, "database migrated");
    }
}
