// SPDX-License-Identifier: Apache-2.0
//! The SQLite schema: its migrations, applied in order at start.
//!
//! Guarantees: entry `i` of [`MIGRATIONS`] moves `PRAGMA user_version` from `i` to `i + 1`,
//! each in its own transaction; a file of a newer version is refused (`StoreError::TooNew`),
//! never written.

/// Schema migrations; entry `i` moves `user_version` from `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;
CREATE TABLE clients (
    client_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    mode        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE TABLE accounts (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    subject_name_id  TEXT NOT NULL UNIQUE,
    given_name       TEXT NOT NULL,
    family_name      TEXT NOT NULL,
    profession       TEXT,
    wrong_codes      INTEGER NOT NULL DEFAULT 0,
    fraud_reports    INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL
) STRICT;
CREATE TABLE activation_codes (
    lookup      TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    secret_hash BLOB NOT NULL,
    expires_at  INTEGER NOT NULL,
    tries_left  INTEGER NOT NULL,
    used_at     INTEGER,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    name            TEXT NOT NULL,
    public_key      BLOB NOT NULL,
    attestation     TEXT,
    poll_token_hash BLOB NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
) STRICT;
CREATE INDEX devices_account ON devices(account_id);
CREATE TABLE enrol_nonces (
    nonce      TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE TABLE auth_requests (
    id                TEXT PRIMARY KEY,
    client_id         TEXT NOT NULL,
    account_id        TEXT NOT NULL,
    code              TEXT NOT NULL,
    scope             TEXT NOT NULL,
    acr_values        TEXT,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    interval_secs     INTEGER NOT NULL,
    status            TEXT NOT NULL,
    reason            TEXT,
    auth_time         INTEGER,
    answered_by       TEXT,
    last_poll      INTEGER,
    access_token_hash BLOB
) STRICT;
CREATE INDEX auth_requests_account ON auth_requests(account_id, status, expires_at);
CREATE TABLE challenges (
    id          TEXT PRIMARY KEY,
    auth_req_id TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    jws         TEXT NOT NULL,
    exp         INTEGER NOT NULL,
    status      TEXT NOT NULL,
    answered_at INTEGER
) STRICT;
CREATE INDEX challenges_device ON challenges(device_id, status, exp);
CREATE INDEX challenges_request ON challenges(auth_req_id);
CREATE TABLE fraud_reports (
    id          INTEGER PRIMARY KEY,
    account_id  TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    auth_req_id TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    reported_at INTEGER NOT NULL
) STRICT;
"#,
    r#"
CREATE TABLE credentials (
    id          BLOB PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    device_id   TEXT NOT NULL REFERENCES devices(id),
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE TABLE redemptions (
    nonce         BLOB PRIMARY KEY,
    credential_id BLOB NOT NULL,
    client_id     TEXT NOT NULL,
    redeemed_at   INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX redemptions_expiry ON redemptions(expires_at);
"#,
    // 3: the QR audience a client redeems for; login holds after "not me" and wrong picks.
    r#"
ALTER TABLE clients ADD COLUMN audience TEXT;
ALTER TABLE accounts ADD COLUMN not_me_until INTEGER;
ALTER TABLE accounts ADD COLUMN wrong_streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN wrong_pick_until INTEGER;
"#,
    // 4: where the device's keystore keeps its key, as the wallet reported it at enrolment
    // (devices enrolled before the field count as software; see `domain::Stored`).
    r#"
ALTER TABLE devices ADD COLUMN key_storage TEXT NOT NULL DEFAULT 'software';
"#,
    // 5: the server-counted PIN guesses (issue 18): one OPRF key per device, its guess
    // counter, the keys that sign its requests, and the request ids already used.
    r#"
CREATE TABLE pin_guards (
    device_id    TEXT PRIMARY KEY REFERENCES devices(id),
    key_id       TEXT NOT NULL,
    secret_key   BLOB,
    unlock_key   BLOB NOT NULL,
    confirm_key  BLOB NOT NULL,
    guesses_used INTEGER NOT NULL DEFAULT 0,
    guess_limit  INTEGER NOT NULL,
    erased_at    INTEGER,
    created_at   INTEGER NOT NULL
) STRICT;
CREATE TABLE pin_guard_requests (
    device_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, jti)
) STRICT;
CREATE INDEX pin_guard_requests_expiry ON pin_guard_requests(expires_at);
"#,
    // 6: the browser login (ADR 0002). Practitioners' `SubjectNameID` becomes the national id
    // (`8` + RPPS); every account gets the login identifier its user types (practitioners:
    // the national id; insured: `V` + random characters no QR carries). Clients register
    // redirect URIs; login attempts, SSO sessions, authorization codes, access tokens and
    // refresh-token families are kept; a request says which flow made it.
    r#"
ALTER TABLE accounts ADD COLUMN login_id TEXT;
UPDATE accounts SET subject_name_id = '8' || subject_name_id
    WHERE kind = 'practitioner' AND length(subject_name_id) = 11
      AND subject_name_id NOT GLOB '*[^0-9]*';
UPDATE accounts SET login_id = subject_name_id WHERE kind = 'practitioner';
UPDATE accounts SET login_id = 'V' || substr(hex(randomblob(8)), 1, 11) WHERE kind = 'insured';
CREATE UNIQUE INDEX accounts_login_id ON accounts(login_id);
ALTER TABLE clients ADD COLUMN userinfo_signed INTEGER NOT NULL DEFAULT 0;
CREATE TABLE client_uris (
    client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    uri       TEXT NOT NULL,
    PRIMARY KEY (client_id, kind, uri)
) STRICT;
ALTER TABLE auth_requests ADD COLUMN flow TEXT NOT NULL DEFAULT 'ciba';
CREATE TABLE login_attempts (
    id             TEXT PRIMARY KEY,
    cookie_hash    BLOB NOT NULL,
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
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    account_id     TEXT,
    request_id     TEXT,
    starts         INTEGER NOT NULL DEFAULT 0,
    stop           TEXT,
    held_reason    TEXT,
    held_until     INTEGER,
    done_at        INTEGER
) STRICT;
CREATE INDEX login_attempts_expiry ON login_attempts(expires_at);
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    cookie_hash BLOB NOT NULL UNIQUE,
    account_id  TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    auth_time   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    ended_at    INTEGER
) STRICT;
CREATE INDEX sessions_expiry ON sessions(expires_at);
CREATE TABLE authorization_codes (
    hash           BLOB PRIMARY KEY,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce          TEXT,
    scope          TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    family_id      TEXT
) STRICT;
CREATE INDEX authorization_codes_expiry ON authorization_codes(expires_at);
CREATE TABLE token_families (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    session_id TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX token_families_session ON token_families(session_id);
CREATE TABLE refresh_tokens (
    hash       BLOB PRIMARY KEY,
    family_id  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE TABLE access_tokens (
    hash       BLOB PRIMARY KEY,
    client_id  TEXT NOT NULL,
    account_id TEXT NOT NULL,
    family_id  TEXT,
    scope      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX access_tokens_family ON access_tokens(family_id);
CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);
"#,
    // 7: the device's attested hardware key (ADR 0001), what its attestation showed, the
    // App Attest counter; refusal counts. The opaque `attestation` column is no longer
    // written.
    r#"
ALTER TABLE devices ADD COLUMN attest_platform TEXT;
ALTER TABLE devices ADD COLUMN attest_level TEXT;
ALTER TABLE devices ADD COLUMN attest_app_id TEXT;
ALTER TABLE devices ADD COLUMN attest_boot_state TEXT;
ALTER TABLE devices ADD COLUMN attest_device_locked INTEGER;
ALTER TABLE devices ADD COLUMN attest_patch_level INTEGER;
ALTER TABLE devices ADD COLUMN hardware_key BLOB;
ALTER TABLE devices ADD COLUMN apple_key_id BLOB;
ALTER TABLE devices ADD COLUMN attest_counter INTEGER NOT NULL DEFAULT 0;
CREATE TABLE attestation_refusals (
    stage   TEXT NOT NULL,
    code    TEXT NOT NULL,
    reason  TEXT NOT NULL,
    count   INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (stage, code, reason)
) STRICT;
"#,
    // 8 (branch scan16, issue 16 scan mode): clients registered for scan mode; the 128-bit
    // secret of a scan-mode attempt's QR code (kept for the attempt's lifetime, pruned with
    // it); the attempt a scan-mode challenge answers through (its answer needs the MAC).
    r#"
ALTER TABLE clients ADD COLUMN scan_login INTEGER NOT NULL DEFAULT 0;
ALTER TABLE login_attempts ADD COLUMN scan_secret BLOB;
ALTER TABLE challenges ADD COLUMN scan_attempt TEXT;
"#,
    // 9 (branch ops19, issue 19 operations): indexes
    // for the batched retention (each batch walks an expiry index, oldest first) and
    // partial indexes holding only pending rows, so the metrics' pending counts cost the same
    // on a database of any size.
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
    // 10 (branch keys19, issue 19 "keys that can change"): the server's signing keys, several
    // per purpose (`id_token`, `challenge`, `issuer`), each sealed (AES-256-GCM) under the
    // key-encryption key of the configuration, with its timing: published from
    // `published_at`, signs from `active_at` until `retired_at`, published until
    // `expires_at`. The keys of `meta` are moved here at the next start (`keyring`).
    r#"
CREATE TABLE signing_keys (
    purpose      TEXT NOT NULL,
    kid          TEXT NOT NULL,
    sealed       BLOB NOT NULL,
    published_at INTEGER NOT NULL,
    active_at    INTEGER NOT NULL,
    retired_at   INTEGER,
    expires_at   INTEGER,
    PRIMARY KEY (purpose, kid)
) STRICT;
"#,
    // 11 (branch otp16, issue 16): the offline code. Per device its TOTP secret, sealed with
    // AES-256-GCM under a configured key (`key_id` names it, so it can rotate) and the last
    // time step accepted (a step is accepted once); per account the fallback's wrong-code
    // count and lock; clients that refuse it; requests and sessions it approved.
    r#"
CREATE TABLE offline_secrets (
    device_id  TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    last_step  INTEGER,
    created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE offline_guards (
    account_id   TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until INTEGER
) STRICT;
ALTER TABLE clients ADD COLUMN no_offline_code INTEGER NOT NULL DEFAULT 0;
ALTER TABLE auth_requests ADD COLUMN offline_otp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN offline_otp INTEGER NOT NULL DEFAULT 0;
"#,
    // 12 (branch push20, issue 20): each device's push token (FCM or APNs), at most one per
    // device, and the registration request ids already used.
    r#"
CREATE TABLE push_tokens (
    device_id  TEXT PRIMARY KEY REFERENCES devices(id),
    platform   TEXT NOT NULL,
    token      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE push_token_requests (
    device_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, jti)
) STRICT;
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
