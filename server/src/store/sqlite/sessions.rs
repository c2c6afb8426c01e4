// SPDX-License-Identifier: Apache-2.0
//! SQL of the `sessions` table: opening a session at a phone approval, answering an
//! authorization request from it, and ending it (with its token families).

use rusqlite::OptionalExtension as _;

use super::{tokens, Tx};
use crate::store::{EndSession, NewSession, SessionCode, SessionGrant, StoreError};

/// A session opened by an approval in a browser.
pub(super) struct Opening<'a> {
    pub(super) session: &'a NewSession,
    pub(super) replaces: Option<&'a [u8; 32]>,
    pub(super) account_id: &'a str,
    pub(super) device_id: &'a str,
    pub(super) auth_time: i64,
    pub(super) now: i64,
    /// Approved by the offline code (issue 16).
    pub(super) offline: bool,
}

/// Opens the session of an approval and returns its id. The browser's previous session is
/// renewed in place when it is the same account's (same `sid`, new cookie, new approval
/// time), else ended with its token families.
pub(super) fn open(tx: &Tx<'_>, o: &Opening<'_>) -> Result<String, StoreError> {
    let s = o.session;
    if let Some(old) = o.replaces {
        let renewed: Option<String> = tx
            .prepare_cached(
                "UPDATE sessions SET cookie_hash = ?2, device_id = ?4, auth_time = ?5,
                     expires_at = ?6, last_seen = ?7, offline_otp = ?8
                 WHERE cookie_hash = ?1 AND account_id = ?3 AND ended_at IS NULL
                   AND expires_at > ?7
                 RETURNING id",
            )?
            .query_row(
                rusqlite::params![
                    old.as_slice(),
                    s.cookie_hash.as_slice(),
                    o.account_id,
                    o.device_id,
                    o.auth_time,
                    s.expires_at,
                    o.now,
                    o.offline
                ],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = renewed {
            return Ok(id);
        }
        end_where(tx, "cookie_hash = ?1", &old.as_slice(), o.now)?;
    }
    tx.prepare_cached(
        "INSERT INTO sessions (id, cookie_hash, account_id, device_id, auth_time, created_at,
             expires_at, last_seen, offline_otp) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, ?8)",
    )?
    .execute(rusqlite::params![
        s.id,
        s.cookie_hash.as_slice(),
        o.account_id,
        o.device_id,
        o.auth_time,
        o.now,
        s.expires_at,
        o.offline
    ])?;
    Ok(s.id.clone())
}

pub(in crate::store) fn grant_code(
    tx: &Tx<'_>,
    ask: &SessionCode,
) -> Result<SessionGrant, StoreError> {
    let now = ask.now;
    let live: Option<(String, i64)> = tx
        .prepare_cached(
            "SELECT s.id, s.auth_time FROM sessions s JOIN devices d ON d.id = s.device_id
             WHERE s.cookie_hash = ?1 AND s.ended_at IS NULL AND s.expires_at > ?2
               AND ?2 - s.last_seen < ?3 AND d.revoked_at IS NULL
               AND (?4 OR s.offline_otp = 0)",
        )?
        .query_row(
            rusqlite::params![
                ask.cookie_hash.as_slice(),
                now,
                ask.idle_secs,
                ask.offline_ok
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((sid, auth_time)) = live else {
        return Ok(SessionGrant::NoSession);
    };
    if ask
        .max_age
        .is_some_and(|max| now.saturating_sub(auth_time) > max)
    {
        return Ok(SessionGrant::TooOld);
    }
    tx.prepare_cached("UPDATE sessions SET last_seen = ?2 WHERE id = ?1")?
        .execute(rusqlite::params![sid, now])?;
    tokens::add_code(tx, &ask.code, &sid, now)?;
    Ok(SessionGrant::Issued)
}

/// Ends the live sessions matching `condition` (on `?1`) and revokes their families.
fn end_where(
    tx: &Tx<'_>,
    condition: &str,
    value: &dyn rusqlite::ToSql,
    now: i64,
) -> Result<usize, StoreError> {
    let ids: Vec<String> = tx
        .prepare_cached(&format!(
            "UPDATE sessions SET ended_at = ?2 WHERE {condition} AND ended_at IS NULL
             RETURNING id"
        ))?
        .query_map(rusqlite::params![value, now], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        tx.prepare_cached(
            "UPDATE token_families SET revoked_at = ?2 WHERE session_id = ?1
               AND revoked_at IS NULL",
        )?
        .execute(rusqlite::params![id, now])?;
    }
    Ok(ids.len())
}

#[allow(dead_code)] // The logout endpoint's (branch tokens15).
pub(in crate::store) fn end(tx: &Tx<'_>, e: &EndSession) -> Result<usize, StoreError> {
    let mut n = 0;
    if let Some(hash) = &e.cookie_hash {
        n += end_where(tx, "cookie_hash = ?1", &hash.as_slice(), e.now)?;
    }
    if let Some(sid) = &e.sid {
        n += end_where(tx, "id = ?1", sid, e.now)?;
    }
    Ok(n)
}
