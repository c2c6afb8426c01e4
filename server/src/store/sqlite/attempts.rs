// SPDX-License-Identifier: Apache-2.0
//! SQL of the `login_attempts` table, and of the continue step that turns an approved attempt
//! into a code and a session.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension as _};
use vistalid_core::scan::ScanSecret;

use super::{opt_state, sessions, state, tokens, Tx};
use crate::domain::attempt::{AttemptFacts, AttemptStop, RequestFacts, MAX_RETRIES};
use crate::domain::{RequestStatus, Stored as _};
use crate::store::{
    Attempt, AttemptRequest, CodeFromAttempt, Continued, NewAttempt, StopTry, Stopped, StoreError,
};

pub(in crate::store) fn create(tx: &Tx<'_>, a: &NewAttempt) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO login_attempts (id, cookie_hash, csrf, client_id, redirect_uri, state,
             nonce, code_challenge, scope, acr_values, login_hint, locale, created_at,
             expires_at, scan_secret)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(rusqlite::params![
        a.id,
        a.cookie_hash.as_slice(),
        a.csrf,
        a.client_id,
        a.redirect_uri,
        a.state,
        a.nonce,
        a.code_challenge,
        a.scope,
        a.acr_values,
        a.login_hint,
        a.lang.as_stored(),
        a.created_at,
        a.expires_at,
        // EXPOSE: stored for the attempt's lifetime, to check its answers' MAC.
        a.scan_secret.as_ref().map(|s| s.expose().to_vec())
    ])?;
    Ok(())
}

pub(in crate::store) fn find(c: &Connection, id: &str) -> Result<Option<Attempt>, StoreError> {
    let row = c
        .prepare_cached(
            "SELECT a.id, a.cookie_hash, a.csrf, a.client_id, c.name, c.mode, a.redirect_uri,
                    a.state, a.locale, a.login_hint, a.account_id, a.expires_at,
                    a.done_at IS NOT NULL, a.starts, a.stop, a.held_reason, a.held_until,
                    r.id, r.code, r.status, r.reason, r.expires_at,
                    a.nonce, a.code_challenge, a.scope, a.acr_values, a.scan_secret
             FROM login_attempts a JOIN clients c ON c.client_id = a.client_id
             LEFT JOIN auth_requests r ON r.id = a.request_id
             WHERE a.id = ?1",
        )?
        .query_row([id], |r| {
            let request = match r.get::<_, Option<String>>(17)? {
                Some(id) => Some((
                    AttemptRequest {
                        id,
                        code: r.get(18)?,
                    },
                    RequestFacts {
                        status: state(r, 19)?,
                        reason: opt_state(r, 20)?,
                        expires_at: r.get(21)?,
                    },
                )),
                None => None,
            };
            let held = match (opt_state(r, 15)?, r.get::<_, Option<i64>>(16)?) {
                (Some(reason), Some(until)) => Some((reason, until)),
                _ => None,
            };
            Ok((
                Attempt {
                    id: r.get(0)?,
                    cookie_hash: [0; 32],
                    csrf: r.get(2)?,
                    client_id: r.get(3)?,
                    client_name: r.get(4)?,
                    mode: state(r, 5)?,
                    redirect_uri: r.get(6)?,
                    state: r.get(7)?,
                    nonce: r.get(22)?,
                    code_challenge: r.get(23)?,
                    scope: r.get(24)?,
                    acr_values: r.get(25)?,
                    lang: state(r, 8)?,
                    login_hint: r.get(9)?,
                    account_id: r.get(10)?,
                    facts: AttemptFacts {
                        expires_at: r.get(11)?,
                        done: r.get(12)?,
                        starts: r.get(13)?,
                        stop: opt_state(r, 14)?,
                        held,
                        request: request.as_ref().map(|(_, f)| *f),
                    },
                    request: request.map(|(q, _)| q),
                    devices: Vec::new(),
                    scan_secret: match r.get::<_, Option<Vec<u8>>>(26)? {
                        None => None,
                        Some(bytes) => Some(Arc::new(
                            ScanSecret::from_slice(&zeroize::Zeroizing::new(bytes))
                                .ok_or_else(|| super::corrupt(26, "login_attempts.scan_secret"))?,
                        )),
                    },
                },
                r.get::<_, Vec<u8>>(1)?,
            ))
        })
        .optional()?;
    let Some((mut attempt, hash)) = row else {
        return Ok(None);
    };
    attempt.cookie_hash = hash
        .try_into()
        .map_err(|_| StoreError::Corrupt("login_attempts.cookie_hash"))?;
    if let Some(account) = &attempt.account_id {
        attempt.devices = c
            .prepare_cached(
                "SELECT name FROM devices WHERE account_id = ?1 AND revoked_at IS NULL
                 ORDER BY created_at, rowid",
            )?
            .query_map([account], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
    }
    Ok(Some(attempt))
}

/// Whether attempt `id` may take a new phone request or a stop at `now`: not done, not
/// expired, no pending unexpired request; `starts` says whether a start is still allowed.
fn open(tx: &Tx<'_>, id: &str, now: i64) -> Result<Option<u32>, StoreError> {
    let row = tx
        .prepare_cached(
            "SELECT a.done_at IS NOT NULL, a.expires_at, a.starts, r.status, r.expires_at
             FROM login_attempts a LEFT JOIN auth_requests r ON r.id = a.request_id
             WHERE a.id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, bool>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, u32>(2)?,
                opt_state::<RequestStatus>(r, 3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })
        .optional()?;
    let Some((done, expires_at, starts, status, request_exp)) = row else {
        return Ok(None);
    };
    let pending = status == Some(RequestStatus::Pending) && request_exp.is_some_and(|e| now < e);
    Ok((!done && now < expires_at && !pending).then_some(starts))
}

/// Whether attempt `id` may start a phone challenge now (see [`open`], and the retry limit).
pub(super) fn may_start(tx: &Tx<'_>, id: &str, now: i64) -> Result<bool, StoreError> {
    Ok(open(tx, id, now)?.is_some_and(|starts| starts < MAX_RETRIES + 1))
}

/// Links the request just queued to its attempt (a start: counted, stops cleared).
pub(super) fn link_request(
    tx: &Tx<'_>,
    id: &str,
    request_id: &str,
    account_id: &str,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE login_attempts SET request_id = ?2, account_id = ?3, starts = starts + 1,
             stop = NULL, held_reason = NULL, held_until = NULL
         WHERE id = ?1",
    )?
    .execute(rusqlite::params![id, request_id, account_id])?;
    Ok(())
}

pub(in crate::store) fn stop(
    tx: &Tx<'_>,
    id: &str,
    stop: &StopTry,
    now: i64,
) -> Result<Stopped, StoreError> {
    if open(tx, id, now)?.is_none() {
        return Ok(Stopped::Closed);
    }
    match stop {
        StopTry::NoDevice => tx
            .prepare_cached(
                "UPDATE login_attempts SET stop = ?2, account_id = NULL, held_reason = NULL,
                     held_until = NULL WHERE id = ?1",
            )?
            .execute(rusqlite::params![id, AttemptStop::NoDevice.as_stored()])?,
        StopTry::Held {
            account_id,
            reason,
            until,
        } => tx
            .prepare_cached(
                "UPDATE login_attempts SET stop = ?2, account_id = ?3, held_reason = ?4,
                     held_until = ?5 WHERE id = ?1",
            )?
            .execute(rusqlite::params![
                id,
                AttemptStop::Held.as_stored(),
                account_id,
                reason.as_stored(),
                until
            ])?,
    };
    Ok(Stopped::Stopped)
}

/// An approved attempt as the continue step needs it.
struct Approved {
    done: bool,
    expires_at: i64,
    status: Option<RequestStatus>,
    auth_time: Option<i64>,
    account_id: Option<String>,
    device_id: Option<String>,
    offline: bool,
}

pub(in crate::store) fn issue_code(
    tx: &Tx<'_>,
    step: &CodeFromAttempt,
) -> Result<Continued, StoreError> {
    let now = step.now;
    let row = tx
        .prepare_cached(
            "SELECT a.done_at IS NOT NULL, a.expires_at, r.status, r.auth_time, r.account_id,
                    r.answered_by, r.offline_otp
             FROM login_attempts a LEFT JOIN auth_requests r ON r.id = a.request_id
             WHERE a.id = ?1",
        )?
        .query_row([&step.attempt_id], |r| {
            Ok(Approved {
                done: r.get(0)?,
                expires_at: r.get(1)?,
                status: opt_state(r, 2)?,
                auth_time: r.get(3)?,
                account_id: r.get(4)?,
                device_id: r.get(5)?,
                offline: r.get::<_, Option<bool>>(6)?.unwrap_or(false),
            })
        })
        .optional()?;
    let Some(a) = row else {
        return Ok(Continued::NotApproved);
    };
    if a.done {
        return Ok(Continued::Closed);
    }
    let (Some(RequestStatus::Approved), Some(auth_time), Some(account_id), Some(device_id)) =
        (a.status, a.auth_time, a.account_id, a.device_id)
    else {
        return Ok(Continued::NotApproved);
    };
    if now >= a.expires_at {
        return Ok(Continued::NotApproved);
    }
    let sid = sessions::open(
        tx,
        &sessions::Opening {
            session: &step.session,
            replaces: step.replaces.as_ref(),
            account_id: &account_id,
            device_id: &device_id,
            auth_time,
            now,
            offline: a.offline,
        },
    )?;
    tokens::add_code(tx, &step.code, &sid, now)?;
    tx.prepare_cached("UPDATE login_attempts SET done_at = ?2 WHERE id = ?1")?
        .execute(rusqlite::params![step.attempt_id, now])?;
    Ok(Continued::Issued)
}

pub(in crate::store) fn finish(tx: &Tx<'_>, id: &str, now: i64) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached("UPDATE login_attempts SET done_at = ?2 WHERE id = ?1 AND done_at IS NULL")?
        .execute(rusqlite::params![id, now])?;
    Ok(n > 0)
}
