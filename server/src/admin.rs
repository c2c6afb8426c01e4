// SPDX-License-Identifier: Apache-2.0
//! Administration: relying parties, accounts with their activation codes, devices.
//!
//! Guarantees: names shown to people are display-safe (`vistalid_core::text`). Client
//! secrets and activation codes are returned once, in [`Zeroizing`]
//! strings, and only their SHA-256 hashes are stored. An activation code is
//! `XXXX-XXXX-XXXX` in Crockford base32: the first 4 characters (20 bits, not secret) find
//! the code, the last 8 (40 bits) are the secret; it is valid `activation_ttl_secs`, dies
//! after `activation_tries` wrong tries and works once. Issuing a new code for an account
//! kills its previous unused codes.
//!
//! The methods are synchronous: each is one short SQLite transaction (under a millisecond)
//! and blocks the calling thread until it is committed, so they suit tests, the CLI and
//! admin tools. From async server code, call them inside `spawn_blocking`.

use std::sync::Arc;

use rusqlite::OptionalExtension as _;
use vistalid_core::protocol::CodeMode;
use vistalid_core::qr::presentation::MAX_AUDIENCE_LEN;
use zeroize::Zeroizing;

use crate::clients::{self, mode_str};
use crate::device::{CODE_LOOKUP_LEN, CODE_SECRET_LEN};
use crate::secrets;
use crate::store::StoreError;
use crate::{ServerError, Shared};

/// A device as the admin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Device id.
    pub device_id: String,
    /// Account id.
    pub account_id: String,
    /// The account's RPPS number or pseudonymous id.
    pub subject_name_id: String,
    /// Name the wallet gave.
    pub name: String,
    /// Key id (RFC 7638 thumbprint) of the device key.
    pub key_thumbprint: String,
    /// Enrolment time, seconds since the epoch.
    pub created_at: i64,
    /// Revocation time, if revoked.
    pub revoked_at: Option<i64>,
    /// Whether the wallet sent a platform attestation.
    pub has_attestation: bool,
}

/// Administration handle (cheap to clone).
#[derive(Clone)]
pub struct Admin {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("db", &self.shared.db.path())
            .finish()
    }
}

/// Names shown to people (client names in challenges, account names, audiences): not blank,
/// at most `max` characters, and display-safe (`vistalid_core::text`: no control, format,
/// bidirectional control, line or paragraph separator).
fn check_field(name: &str, v: &str, max: usize) -> Result<(), ServerError> {
    if v.trim().is_empty() || v.chars().count() > max || !vistalid_core::text::is_display_safe(v) {
        return Err(ServerError::InvalidInput(format!(
            "{name} must be 1 to {max} characters, without control, format or line-separator \
             characters"
        )));
    }
    Ok(())
}

/// How a relying party is registered: its *code dynamique* mode and, for professionals who
/// redeem QR codes, the audience their patients address them to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    mode: CodeMode,
    audience: Option<String>,
}

impl ClientOptions {
    /// Options with `mode` and no audience (the client redeems only QR codes that name no
    /// audience).
    pub fn new(mode: CodeMode) -> Self {
        Self {
            mode,
            audience: None,
        }
    }

    /// Registers `audience`: the client then redeems only QR codes addressed to exactly this
    /// text (1 to 64 bytes, display-safe), as the insured's wallet writes it.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }
}

impl Admin {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Registers a relying party with its *code dynamique* mode and no QR audience; returns
    /// `(client_id, client_secret)`. The secret (256 random bits) is shown only here.
    pub fn add_client(
        &self,
        name: &str,
        mode: CodeMode,
    ) -> Result<(String, Zeroizing<String>), ServerError> {
        self.add_client_with(name, &ClientOptions::new(mode))
    }

    /// Registers a relying party with `options` (mode, optional QR audience); returns
    /// `(client_id, client_secret)`. The secret (256 random bits) is shown only here.
    pub fn add_client_with(
        &self,
        name: &str,
        options: &ClientOptions,
    ) -> Result<(String, Zeroizing<String>), ServerError> {
        check_field("client name", name, 100)?;
        if let Some(a) = &options.audience {
            check_field("audience", a, MAX_AUDIENCE_LEN)?;
            if a.len() > MAX_AUDIENCE_LEN {
                return Err(ServerError::InvalidInput(format!(
                    "audience must be at most {MAX_AUDIENCE_LEN} bytes"
                )));
            }
        }
        let client_id = secrets::make_id()?;
        let secret = Zeroizing::new(secrets::make_token()?);
        let hash = secrets::hash(secret.as_bytes()).to_vec();
        let (id, name, now) = (client_id.clone(), name.to_owned(), self.shared.clock.now());
        let (mode, audience) = (mode_str(options.mode), options.audience.clone());
        self.shared
            .db
            .write_blocking(move |tx| -> Result<(), StoreError> {
                tx.prepare_cached(
                    "INSERT INTO clients (client_id, name, secret_hash, mode, audience, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(rusqlite::params![id, name, hash, mode, audience, now])?;
                Ok(())
            })?;
        tracing::info!(%client_id, "client registered");
        Ok((client_id, secret))
    }

    /// Gives a client a new secret (shown only here); the old one stops working at once in
    /// this server, and within `client_cache_secs` in other servers on the same database.
    pub fn rotate_secret(&self, client_id: &str) -> Result<Zeroizing<String>, ServerError> {
        let secret = Zeroizing::new(secrets::make_token()?);
        let hash = secrets::hash(secret.as_bytes()).to_vec();
        let id = client_id.to_owned();
        let changed = self
            .shared
            .db
            .write_blocking(move |tx| -> Result<usize, StoreError> {
                Ok(tx
                    .prepare_cached("UPDATE clients SET secret_hash = ?2 WHERE client_id = ?1")?
                    .execute(rusqlite::params![id, hash])?)
            })?;
        clients::forget(&self.shared, client_id);
        if changed == 0 {
            return Err(ServerError::NotFound("client"));
        }
        tracing::info!(%client_id, "client secret rotated");
        Ok(secret)
    }

    /// Removes a client: its secret stops working at once in this server, and within
    /// `client_cache_secs` in other servers on the same database. Its pending login requests
    /// can no longer be redeemed (the token endpoint needs the client).
    pub fn remove_client(&self, client_id: &str) -> Result<(), ServerError> {
        let id = client_id.to_owned();
        let removed = self
            .shared
            .db
            .write_blocking(move |tx| -> Result<usize, StoreError> {
                Ok(tx
                    .prepare_cached("DELETE FROM clients WHERE client_id = ?1")?
                    .execute([&id])?)
            })?;
        clients::forget(&self.shared, client_id);
        if removed == 0 {
            return Err(ServerError::NotFound("client"));
        }
        tracing::info!(%client_id, "client removed");
        Ok(())
    }

    /// Ends the login guard's holds on an account (by RPPS number, pseudonymous id or account
    /// id): the "not me" hold and the wrong-pick back-off, e.g. after support has checked
    /// that the user pressed "not me" by mistake.
    pub fn clear_login_hold(&self, account: &str) -> Result<(), ServerError> {
        let account = account.to_owned();
        let changed = self
            .shared
            .db
            .write_blocking(move |tx| -> Result<usize, StoreError> {
                Ok(tx
                    .prepare_cached(
                        "UPDATE accounts SET not_me_until = NULL, wrong_pick_until = NULL,
                             wrong_streak = 0
                         WHERE id = ?1 OR subject_name_id = ?1",
                    )?
                    .execute([&account])?)
            })?;
        if changed == 0 {
            return Err(ServerError::NotFound("account"));
        }
        Ok(())
    }

    /// Creates a practitioner account (RPPS number, names, profession code such as `10`
    /// doctor) and returns its first activation code.
    pub fn add_practitioner(
        &self,
        rpps: &str,
        given_name: &str,
        family_name: &str,
        profession: &str,
    ) -> Result<Zeroizing<String>, ServerError> {
        if rpps.is_empty() || rpps.len() > 20 || !rpps.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ServerError::InvalidInput(
                "the RPPS number must be 1 to 20 digits".into(),
            ));
        }
        check_field("profession", profession, 10)?;
        self.add_account(
            "practitioner",
            rpps,
            given_name,
            family_name,
            Some(profession),
        )
    }

    /// Creates an insured account (pseudonymous id, names) and returns its first activation
    /// code.
    pub fn add_insured(
        &self,
        pseudonymous_id: &str,
        given_name: &str,
        family_name: &str,
    ) -> Result<Zeroizing<String>, ServerError> {
        check_field("pseudonymous id", pseudonymous_id, 64)?;
        self.add_account("insured", pseudonymous_id, given_name, family_name, None)
    }

    fn add_account(
        &self,
        kind: &'static str,
        subject: &str,
        given_name: &str,
        family_name: &str,
        profession: Option<&str>,
    ) -> Result<Zeroizing<String>, ServerError> {
        check_field("given name", given_name, 100)?;
        check_field("family name", family_name, 100)?;
        let account_id = secrets::make_id()?;
        let (subject, given, family, prof) = (
            subject.to_owned(),
            given_name.to_owned(),
            family_name.to_owned(),
            profession.map(str::to_owned),
        );
        let now = self.shared.clock.now();
        let code = self.make_code()?;
        let (ttl, tries) = self.code_policy();
        self.shared
            .db
            .write_blocking(move |tx| -> Result<Zeroizing<String>, ServerError> {
                let exists: Option<String> = tx
                    .prepare_cached("SELECT id FROM accounts WHERE subject_name_id = ?1")?
                    .query_row([&subject], |r| r.get(0))
                    .optional()
                    .map_err(StoreError::from)?;
                if exists.is_some() {
                    return Err(ServerError::DuplicateAccount);
                }
                tx.prepare_cached(
                    "INSERT INTO accounts (id, kind, subject_name_id, given_name, family_name,
                         profession, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(rusqlite::params![
                    account_id, kind, subject, given, family, prof, now
                ])
                .map_err(StoreError::from)?;
                store_code(tx, &account_id, code, now, ttl, tries)
            })
    }

    /// Issues a new activation code for an existing account (by RPPS number, pseudonymous
    /// id or account id), e.g. after a revocation or a dead code; earlier unused codes die.
    pub fn new_activation_code(&self, account: &str) -> Result<Zeroizing<String>, ServerError> {
        let account = account.to_owned();
        let now = self.shared.clock.now();
        let code = self.make_code()?;
        let (ttl, tries) = self.code_policy();
        self.shared
            .db
            .write_blocking(move |tx| -> Result<Zeroizing<String>, ServerError> {
                let id: String = tx
                    .prepare_cached(
                        "SELECT id FROM accounts WHERE id = ?1 OR subject_name_id = ?1",
                    )?
                    .query_row([&account], |r| r.get(0))
                    .optional()
                    .map_err(StoreError::from)?
                    .ok_or(ServerError::NotFound("account"))?;
                store_code(tx, &id, code, now, ttl, tries)
            })
    }

    /// Devices of an account (by RPPS number, pseudonymous id or account id), revoked ones
    /// included, oldest first.
    pub fn list_devices(&self, account: &str) -> Result<Vec<DeviceInfo>, ServerError> {
        let account = account.to_owned();
        self.shared
            .db
            .read_blocking(move |c| -> Result<Vec<DeviceInfo>, ServerError> {
                let mut stmt = c.prepare_cached(
                    "SELECT d.id, d.account_id, a.subject_name_id, d.name, d.public_key,
                            d.created_at, d.revoked_at, d.attestation IS NOT NULL
                     FROM devices d JOIN accounts a ON a.id = d.account_id
                     WHERE a.id = ?1 OR a.subject_name_id = ?1 ORDER BY d.created_at, d.rowid",
                )?;
                let rows = stmt
                    .query_map([&account], |r| {
                        Ok((
                            DeviceInfo {
                                device_id: r.get(0)?,
                                account_id: r.get(1)?,
                                subject_name_id: r.get(2)?,
                                name: r.get(3)?,
                                key_thumbprint: String::new(),
                                created_at: r.get(5)?,
                                revoked_at: r.get(6)?,
                                has_attestation: r.get(7)?,
                            },
                            r.get::<_, Vec<u8>>(4)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(StoreError::from)?;
                rows.into_iter()
                    .map(|(mut info, sec1)| {
                        let key = vistalid_core::keys::PublicKey::from_sec1(&sec1)
                            .map_err(|_| StoreError::Corrupt("device public key"))?;
                        info.key_thumbprint = key.thumbprint();
                        Ok(info)
                    })
                    .collect()
            })
    }

    /// Revokes a device: its poll token and its answers stop working at once, and its
    /// pending challenges are closed. Returns `false` if it was already revoked.
    pub fn revoke_device(&self, device_id: &str) -> Result<bool, ServerError> {
        let id = device_id.to_owned();
        let now = self.shared.clock.now();
        let changed =
            self.shared
                .db
                .write_blocking(move |tx| -> Result<Option<bool>, ServerError> {
                    let known: Option<Option<i64>> = tx
                        .prepare_cached("SELECT revoked_at FROM devices WHERE id = ?1")?
                        .query_row([&id], |r| r.get(0))
                        .optional()
                        .map_err(StoreError::from)?;
                    match known {
                        None => Ok(None),
                        Some(Some(_)) => Ok(Some(false)),
                        Some(None) => {
                            tx.prepare_cached("UPDATE devices SET revoked_at = ?2 WHERE id = ?1")?
                                .execute(rusqlite::params![id, now])
                                .map_err(StoreError::from)?;
                            tx.prepare_cached(
                                "UPDATE challenges SET status = 'closed'
                             WHERE device_id = ?1 AND status = 'pending'",
                            )?
                            .execute([&id])
                            .map_err(StoreError::from)?;
                            Ok(Some(true))
                        }
                    }
                })?;
        match changed {
            None => Err(ServerError::NotFound("device")),
            Some(c) => {
                if c {
                    tracing::info!(%device_id, "device revoked");
                }
                Ok(c)
            }
        }
    }

    /// Counts of "not me" reports and wrong codes on an account (for monitoring).
    pub fn account_alerts(&self, account: &str) -> Result<(u32, u32), ServerError> {
        let account = account.to_owned();
        self.shared
            .db
            .read_blocking(move |c| -> Result<(u32, u32), ServerError> {
                c.prepare_cached(
                    "SELECT fraud_reports, wrong_codes FROM accounts
                     WHERE id = ?1 OR subject_name_id = ?1",
                )?
                .query_row([&account], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(StoreError::from)?
                .ok_or(ServerError::NotFound("account"))
            })
    }

    fn code_policy(&self) -> (i64, i64) {
        let c = &self.shared.config;
        (
            i64::try_from(c.activation_ttl_secs).unwrap_or(i64::MAX),
            i64::from(c.activation_tries),
        )
    }

    fn make_code(&self) -> Result<Zeroizing<String>, ServerError> {
        Ok(secrets::make_base32(CODE_LOOKUP_LEN + CODE_SECRET_LEN)?)
    }
}

impl From<rusqlite::Error> for ServerError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(StoreError::Sqlite(e))
    }
}

/// Stores `code` for `account_id` (killing earlier unused codes), redrawing the lookup part
/// if a live code already uses it; returns it formatted `XXXX-XXXX-XXXX`.
fn store_code(
    tx: &rusqlite::Transaction<'_>,
    account_id: &str,
    mut code: Zeroizing<String>,
    now: i64,
    ttl: i64,
    tries: i64,
) -> Result<Zeroizing<String>, ServerError> {
    tx.prepare_cached(
        "UPDATE activation_codes SET tries_left = 0 WHERE account_id = ?1 AND used_at IS NULL",
    )?
    .execute([account_id])?;
    for _ in 0..32 {
        let (lookup, secret) = code.split_at(CODE_LOOKUP_LEN);
        let hash = secrets::hash(secret.as_bytes()).to_vec();
        // A lookup may be reused once its previous code is dead (used, expired or locked).
        let inserted = tx
            .prepare_cached(
                "INSERT INTO activation_codes (lookup, account_id, secret_hash, expires_at,
                     tries_left, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (lookup) DO UPDATE SET account_id = excluded.account_id,
                     secret_hash = excluded.secret_hash, expires_at = excluded.expires_at,
                     tries_left = excluded.tries_left, used_at = NULL,
                     created_at = excluded.created_at
                 WHERE activation_codes.used_at IS NOT NULL
                    OR activation_codes.expires_at <= ?6
                    OR activation_codes.tries_left <= 0",
            )?
            .execute(rusqlite::params![
                lookup,
                account_id,
                hash,
                now.saturating_add(ttl),
                tries,
                now
            ])?;
        if inserted == 1 {
            let mut out = Zeroizing::new(String::with_capacity(14));
            for (i, ch) in code.chars().enumerate() {
                if i > 0 && i % 4 == 0 {
                    out.push('-');
                }
                out.push(ch);
            }
            return Ok(out);
        }
        code = secrets::make_base32(CODE_LOOKUP_LEN + CODE_SECRET_LEN)?;
    }
    Err(ServerError::Config(
        "no free activation code lookup after 32 draws; too many live codes".into(),
    ))
}
