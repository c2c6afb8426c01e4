// SPDX-License-Identifier: Apache-2.0
//! SQL of the `sessions` table: opening a session at a phone approval, answering an
//! authorization request from it, and ending it (with its token families).

use super::last::{end_with, params, Last};
use super::{all, exec, get, opt, tokens, Tx};
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

/// Which sessions [`end_where`] ends.
enum Which<'a> {
    Cookie(&'a [u8]),
    Id(&'a str),
}

/// Opens the session of an approval and returns its id (see `sqlite::sessions::open`): a
/// renewal is written now, a new session's insert is added to `last`.
pub(super) async fn open<'p>(
    tx: &Tx<'_>,
    o: &Opening<'p>,
    last: &mut Last<'p>,
) -> Result<String, StoreError> {
    let s = o.session;
    if let Some(old) = o.replaces {
        let renewed = opt(
            tx,
            "UPDATE sessions SET cookie_hash = $2, device_id = $4, auth_time = $5,
                 expires_at = $6, last_seen = $7, offline_otp = $8
             WHERE cookie_hash = $1 AND account_id = $3 AND ended_at IS NULL
               AND expires_at > $7
             RETURNING id",
            &[
                &old.as_slice(),
                &s.cookie_hash.as_slice(),
                &o.account_id,
                &o.device_id,
                &o.auth_time,
                &s.expires_at,
                &o.now,
                &o.offline,
            ],
        )
        .await?;
        if let Some(r) = renewed {
            return get(&r, 0);
        }
        end_where(tx, Which::Cookie(old.as_slice()), o.now).await?;
    }
    last.add(
        "INSERT INTO sessions (id, cookie_hash, account_id, device_id, auth_time, created_at,
             expires_at, last_seen, offline_otp) VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8)",
        params![
            &s.id,
            s.cookie_hash.as_slice(),
            o.account_id,
            o.device_id,
            o.auth_time,
            o.now,
            s.expires_at,
            o.offline,
        ],
    );
    Ok(s.id.clone())
}

pub(in crate::store) async fn grant_code(
    tx: &Tx<'_>,
    ask: &SessionCode,
) -> Result<SessionGrant, StoreError> {
    let now = ask.now;
    let live = opt(
        tx,
        "SELECT s.id, s.auth_time FROM sessions s JOIN devices d ON d.id = s.device_id
         WHERE s.cookie_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2
           AND $2 - s.last_seen < $3 AND d.revoked_at IS NULL
           AND ($4 OR NOT s.offline_otp)",
        &[
            &ask.cookie_hash.as_slice(),
            &now,
            &ask.idle_secs,
            &ask.offline_ok,
        ],
    )
    .await?;
    let Some(r) = live else {
        return Ok(SessionGrant::NoSession);
    };
    let sid: String = get(&r, 0)?;
    let auth_time: i64 = get(&r, 1)?;
    if ask
        .max_age
        .is_some_and(|max| now.saturating_sub(auth_time) > max)
    {
        return Ok(SessionGrant::TooOld);
    }
    let mut last = Last::default();
    last.add(
        "UPDATE sessions SET last_seen = $2 WHERE id = $1",
        params![sid.clone(), now],
    );
    tokens::add_code(&mut last, &ask.code, sid, now);
    end_with(tx, last).await?;
    Ok(SessionGrant::Issued)
}

/// Ends the live sessions `which` names and revokes their families.
async fn end_where(tx: &Tx<'_>, which: Which<'_>, now: i64) -> Result<usize, StoreError> {
    let rows = match which {
        Which::Cookie(hash) => {
            all(
                tx,
                "UPDATE sessions SET ended_at = $2 WHERE cookie_hash = $1 AND ended_at IS NULL
                 RETURNING id",
                &[&hash, &now],
            )
            .await?
        }
        Which::Id(id) => {
            all(
                tx,
                "UPDATE sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL
                 RETURNING id",
                &[&id, &now],
            )
            .await?
        }
    };
    for r in &rows {
        let id: String = get(r, 0)?;
        exec(
            tx,
            "UPDATE token_families SET revoked_at = $2 WHERE session_id = $1
               AND revoked_at IS NULL",
            &[&id, &now],
        )
        .await?;
    }
    Ok(rows.len())
}

#[allow(dead_code)] // The logout endpoint's (branch tokens15).
pub(in crate::store) async fn end(tx: &Tx<'_>, e: &EndSession) -> Result<usize, StoreError> {
    let mut n = 0;
    if let Some(hash) = &e.cookie_hash {
        n += end_where(tx, Which::Cookie(hash.as_slice()), e.now).await?;
    }
    if let Some(sid) = &e.sid {
        n += end_where(tx, Which::Id(sid), e.now).await?;
    }
    Ok(n)
}
