// SPDX-License-Identifier: Apache-2.0
//! SQL of the `authorization_codes`, `token_families`, `refresh_tokens` and `access_tokens`
//! tables.

use rusqlite::{Connection, OptionalExtension as _};
use vistalid_core::protocol::{Identity, KeyStorage};

use super::{state, Tx};
use crate::secrets;
use crate::store::{
    AccessGrant, CodeExchange, ExchangeRefusal, Exchanged, NewCode, RefreshRefusal, RefreshTry,
    Refreshed, StoreError, TokenGrant,
};

pub(super) fn add_code(
    tx: &Tx<'_>,
    c: &NewCode,
    session_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO authorization_codes (hash, client_id, redirect_uri, code_challenge, nonce,
             scope, session_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(rusqlite::params![
        c.hash.as_slice(),
        c.client_id,
        c.redirect_uri,
        c.code_challenge,
        c.nonce,
        c.scope,
        session_id,
        now,
        c.expires_at
    ])?;
    Ok(())
}

/// An access token row.
pub(super) struct AccessRow<'a> {
    pub(super) hash: &'a [u8; 32],
    pub(super) client_id: &'a str,
    pub(super) account_id: &'a str,
    pub(super) family_id: Option<&'a str>,
    pub(super) scope: &'a str,
    pub(super) now: i64,
    pub(super) expires_at: i64,
}

pub(super) fn add_access(tx: &Tx<'_>, a: &AccessRow<'_>) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO access_tokens (hash, client_id, account_id, family_id, scope, created_at,
             expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(rusqlite::params![
        a.hash.as_slice(),
        a.client_id,
        a.account_id,
        a.family_id,
        a.scope,
        a.now,
        a.expires_at
    ])?;
    Ok(())
}

fn add_refresh(
    tx: &Tx<'_>,
    hash: &[u8; 32],
    family_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(rusqlite::params![
        hash.as_slice(),
        family_id,
        now,
        expires_at
    ])?;
    Ok(())
}

fn revoke_family(tx: &Tx<'_>, family_id: &str, now: i64) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE token_families SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
    )?
    .execute(rusqlite::params![family_id, now])?;
    Ok(())
}

/// Who a session is, as tokens need it: `None` when the session is unknown; `live` false
/// when it ended or its device was revoked.
struct SessionGrant {
    grant: TokenGrant,
    expires_at: i64,
    last_seen: i64,
    live: bool,
}

fn session_grant(tx: &Tx<'_>, sid: &str) -> Result<Option<SessionGrant>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT s.account_id, a.kind, a.subject_name_id, a.given_name, a.family_name,
                    a.profession, s.auth_time, d.attest_platform IS NOT NULL, s.expires_at,
                    s.ended_at IS NULL AND d.revoked_at IS NULL, s.last_seen, s.offline_otp
             FROM sessions s JOIN accounts a ON a.id = s.account_id
             JOIN devices d ON d.id = s.device_id
             WHERE s.id = ?1",
        )?
        .query_row([sid], |r| {
            Ok(SessionGrant {
                grant: TokenGrant {
                    account_id: r.get(0)?,
                    kind: state(r, 1)?,
                    identity: Identity {
                        subject_name_id: r.get(2)?,
                        given_name: r.get(3)?,
                        family_name: r.get(4)?,
                        profession: r.get(5)?,
                    },
                    auth_time: r.get(6)?,
                    // Only an attested hardware key counts as one (`amr` `hwk`, ADR 0001); a keystore
                    // that only reports hardware reads as software.
                    key_storage: if r.get(7)? {
                        KeyStorage::Hardware
                    } else {
                        KeyStorage::Software
                    },
                    offline: r.get(11)?,
                    nonce: None,
                    sid: sid.to_owned(),
                    scope: String::new(),
                    refresh_expires_at: 0,
                },
                expires_at: r.get(8)?,
                live: r.get(9)?,
                last_seen: r.get(10)?,
            })
        })
        .optional()?)
}

/// A stored code, as an exchange needs it.
struct CodeRow {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: Option<String>,
    scope: String,
    session_id: String,
    expires_at: i64,
    used: bool,
    family_id: Option<String>,
}

pub(in crate::store) fn exchange_code(
    tx: &Tx<'_>,
    x: &CodeExchange,
) -> Result<Exchanged, StoreError> {
    let now = x.now;
    let refused = |why| Ok(Exchanged::Refused(why));
    let row = tx
        .prepare_cached(
            "SELECT client_id, redirect_uri, code_challenge, nonce, scope, session_id,
                    expires_at, used_at IS NOT NULL, family_id
             FROM authorization_codes WHERE hash = ?1",
        )?
        .query_row([x.code_hash.as_slice()], |r| {
            Ok(CodeRow {
                client_id: r.get(0)?,
                redirect_uri: r.get(1)?,
                code_challenge: r.get(2)?,
                nonce: r.get(3)?,
                scope: r.get(4)?,
                session_id: r.get(5)?,
                expires_at: r.get(6)?,
                used: r.get(7)?,
                family_id: r.get(8)?,
            })
        })
        .optional()?;
    let Some(code) = row.filter(|c| c.client_id == x.client_id) else {
        return refused(ExchangeRefusal::Unknown);
    };
    if code.used {
        // RFC 6749 §4.1.2: a second use revokes what the first issued.
        if let Some(family) = &code.family_id {
            revoke_family(tx, family, now)?;
        }
        return refused(ExchangeRefusal::Replayed);
    }
    if now >= code.expires_at {
        return refused(ExchangeRefusal::Expired);
    }
    if code.redirect_uri != x.redirect_uri {
        return refused(ExchangeRefusal::WrongRedirect);
    }
    if !secrets::ct_eq(
        code.code_challenge.as_bytes(),
        x.verifier_challenge.as_bytes(),
    ) {
        return refused(ExchangeRefusal::WrongVerifier);
    }
    let Some(session) = session_grant(tx, &code.session_id)?.filter(|s| s.live) else {
        return refused(ExchangeRefusal::SessionEnded);
    };
    tx.prepare_cached(
        "UPDATE authorization_codes SET used_at = ?2, family_id = ?3 WHERE hash = ?1",
    )?
    .execute(rusqlite::params![x.code_hash.as_slice(), now, x.family_id])?;
    tx.prepare_cached(
        "INSERT INTO token_families (id, client_id, session_id, scope, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(rusqlite::params![
        x.family_id,
        x.client_id,
        code.session_id,
        code.scope,
        now,
        session.expires_at
    ])?;
    let refresh_exp = x.refresh.expires_at.min(session.expires_at);
    add_refresh(tx, &x.refresh.hash, &x.family_id, now, refresh_exp)?;
    add_access(
        tx,
        &AccessRow {
            hash: &x.access.hash,
            client_id: &x.client_id,
            account_id: &session.grant.account_id,
            family_id: Some(&x.family_id),
            scope: &code.scope,
            now,
            expires_at: x.access.expires_at,
        },
    )?;
    Ok(Exchanged::Granted(Box::new(TokenGrant {
        nonce: code.nonce,
        scope: code.scope,
        refresh_expires_at: refresh_exp,
        ..session.grant
    })))
}

/// A stored refresh token with its family, as a refresh needs it.
struct RefreshRow {
    family_id: String,
    expires_at: i64,
    used: bool,
    client_id: String,
    session_id: String,
    scope: String,
    family_expires_at: i64,
    revoked: bool,
}

pub(in crate::store) fn refresh(tx: &Tx<'_>, t: &RefreshTry) -> Result<Refreshed, StoreError> {
    let now = t.now;
    let refused = |why| Ok(Refreshed::Refused(why));
    let row = tx
        .prepare_cached(
            "SELECT t.family_id, t.expires_at, t.used_at IS NOT NULL, f.client_id, f.session_id,
                    f.scope, f.expires_at, f.revoked_at IS NOT NULL
             FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id
             WHERE t.hash = ?1",
        )?
        .query_row([t.hash.as_slice()], |r| {
            Ok(RefreshRow {
                family_id: r.get(0)?,
                expires_at: r.get(1)?,
                used: r.get(2)?,
                client_id: r.get(3)?,
                session_id: r.get(4)?,
                scope: r.get(5)?,
                family_expires_at: r.get(6)?,
                revoked: r.get(7)?,
            })
        })
        .optional()?;
    let Some(old) = row.filter(|r| r.client_id == t.client_id) else {
        return refused(RefreshRefusal::Unknown);
    };
    if old.revoked {
        return refused(RefreshRefusal::Revoked);
    }
    if old.used {
        // A rotated token came back: someone holds a copy. The whole family goes.
        revoke_family(tx, &old.family_id, now)?;
        return refused(RefreshRefusal::Replayed);
    }
    if now >= old.expires_at || now >= old.family_expires_at {
        return refused(RefreshRefusal::Expired);
    }
    let Some(session) = session_grant(tx, &old.session_id)?.filter(|s| s.live) else {
        revoke_family(tx, &old.family_id, now)?;
        return refused(RefreshRefusal::Revoked);
    };
    if now.saturating_sub(session.last_seen) >= t.idle_secs {
        // The session went unused past its idle lifetime: it is over, and its families too.
        revoke_family(tx, &old.family_id, now)?;
        return refused(RefreshRefusal::Expired);
    }
    // A refresh is a use of the session (as a new authorization request is).
    tx.prepare_cached("UPDATE sessions SET last_seen = ?2 WHERE id = ?1")?
        .execute(rusqlite::params![old.session_id, now])?;
    tx.prepare_cached("UPDATE refresh_tokens SET used_at = ?2 WHERE hash = ?1")?
        .execute(rusqlite::params![t.hash.as_slice(), now])?;
    let refresh_exp = t.refresh.expires_at.min(old.family_expires_at);
    add_refresh(tx, &t.refresh.hash, &old.family_id, now, refresh_exp)?;
    add_access(
        tx,
        &AccessRow {
            hash: &t.access.hash,
            client_id: &t.client_id,
            account_id: &session.grant.account_id,
            family_id: Some(&old.family_id),
            scope: &old.scope,
            now,
            expires_at: t.access.expires_at,
        },
    )?;
    Ok(Refreshed::Granted(Box::new(TokenGrant {
        scope: old.scope,
        refresh_expires_at: refresh_exp,
        ..session.grant
    })))
}

pub(in crate::store) fn access(
    c: &Connection,
    hash: &[u8; 32],
    now: i64,
) -> Result<Option<AccessGrant>, StoreError> {
    Ok(c.prepare_cached(
        "SELECT t.client_id, t.account_id, a.kind, a.subject_name_id, a.given_name,
                    a.family_name, a.profession
             FROM access_tokens t JOIN accounts a ON a.id = t.account_id
             LEFT JOIN token_families f ON f.id = t.family_id
             WHERE t.hash = ?1 AND t.expires_at > ?2
               AND (t.family_id IS NULL OR f.revoked_at IS NULL)",
    )?
    .query_row(rusqlite::params![hash.as_slice(), now], |r| {
        Ok(AccessGrant {
            client_id: r.get(0)?,
            account_id: r.get(1)?,
            kind: state(r, 2)?,
            identity: Identity {
                subject_name_id: r.get(3)?,
                given_name: r.get(4)?,
                family_name: r.get(5)?,
                profession: r.get(6)?,
            },
        })
    })
    .optional()?)
}
