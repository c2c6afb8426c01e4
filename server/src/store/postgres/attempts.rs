// SPDX-License-Identifier: Apache-2.0
//! SQL of the `login_attempts` table, and of the continue step that turns an approved attempt
//! into a code and a session.

use std::sync::Arc;

use vistalid_core::scan::ScanSecret;

use super::last::{end_with, params, Last};
use super::{exec, get, opt, opt_state, sessions, state, tokens, Tx};
use crate::domain::attempt::{AttemptFacts, AttemptStop, RequestFacts, MAX_RETRIES};
use crate::domain::{RequestStatus, Stored as _};
use crate::store::{
    Attempt, AttemptRequest, CodeFromAttempt, Continued, NewAttempt, StopTry, Stopped, StoreError,
};

pub(in crate::store) async fn create(tx: &Tx<'_>, a: &NewAttempt) -> Result<(), StoreError> {
    // EXPOSE: stored for the attempt's lifetime, to check its answers' MAC.
    let scan = a.scan_secret.as_ref().map(|s| s.expose().to_vec());
    exec(
        tx,
        "INSERT INTO login_attempts (id, cookie_hash, csrf, client_id, redirect_uri, state,
             nonce, code_challenge, scope, acr_values, login_hint, locale, created_at,
             expires_at, scan_secret)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        &[
            &a.id,
            &a.cookie_hash.as_slice(),
            &a.csrf,
            &a.client_id,
            &a.redirect_uri,
            &a.state,
            &a.nonce,
            &a.code_challenge,
            &a.scope,
            &a.acr_values,
            &a.login_hint,
            &a.lang.as_stored(),
            &a.created_at,
            &a.expires_at,
            &scan,
        ],
    )
    .await?;
    Ok(())
}

pub(in crate::store) async fn find(tx: &Tx<'_>, id: &str) -> Result<Option<Attempt>, StoreError> {
    let Some(r) = opt(
        tx,
        "SELECT a.id, a.cookie_hash, a.csrf, a.client_id, c.name, c.mode, a.redirect_uri,
                a.state, a.locale, a.login_hint, a.account_id, a.expires_at,
                a.done_at IS NOT NULL, a.starts, a.stop, a.held_reason, a.held_until,
                r.id, r.code, r.status, r.reason, r.expires_at,
                a.nonce, a.code_challenge, a.scope, a.acr_values, a.scan_secret,
                ARRAY(SELECT d.name FROM devices d
                      WHERE d.account_id = a.account_id AND d.revoked_at IS NULL
                      ORDER BY d.created_at, d.seq)
         FROM login_attempts a JOIN clients c ON c.client_id = a.client_id
         LEFT JOIN auth_requests r ON r.id = a.request_id
         WHERE a.id = $1",
        &[&id],
    )
    .await?
    else {
        return Ok(None);
    };
    let request = match get::<Option<String>>(&r, 17)? {
        Some(id) => Some((
            AttemptRequest {
                id,
                code: get(&r, 18)?,
            },
            RequestFacts {
                status: state(&r, 19)?,
                reason: opt_state(&r, 20)?,
                expires_at: get(&r, 21)?,
            },
        )),
        None => None,
    };
    let held = match (opt_state(&r, 15)?, get::<Option<i64>>(&r, 16)?) {
        (Some(reason), Some(until)) => Some((reason, until)),
        _ => None,
    };
    let hash: Vec<u8> = get(&r, 1)?;
    let starts: i64 = get(&r, 13)?;
    let attempt = Attempt {
        id: get(&r, 0)?,
        cookie_hash: hash
            .try_into()
            .map_err(|_| StoreError::Corrupt("login_attempts.cookie_hash"))?,
        csrf: get(&r, 2)?,
        client_id: get(&r, 3)?,
        client_name: get(&r, 4)?,
        mode: state(&r, 5)?,
        redirect_uri: get(&r, 6)?,
        state: get(&r, 7)?,
        nonce: get(&r, 22)?,
        code_challenge: get(&r, 23)?,
        scope: get(&r, 24)?,
        acr_values: get(&r, 25)?,
        lang: state(&r, 8)?,
        login_hint: get(&r, 9)?,
        account_id: get(&r, 10)?,
        facts: AttemptFacts {
            expires_at: get(&r, 11)?,
            done: get(&r, 12)?,
            starts: u32::try_from(starts)
                .map_err(|_| StoreError::Corrupt("login_attempts.starts"))?,
            stop: opt_state(&r, 14)?,
            held,
            request: request.as_ref().map(|(_, f)| *f),
        },
        request: request.map(|(q, _)| q),
        // The account's devices, in the same statement (none without an account).
        devices: get(&r, 27)?,
        scan_secret: match get::<Option<Vec<u8>>>(&r, 26)? {
            None => None,
            Some(bytes) => Some(Arc::new(
                ScanSecret::from_slice(&zeroize::Zeroizing::new(bytes))
                    .ok_or(StoreError::Corrupt("login_attempts.scan_secret"))?,
            )),
        },
    };
    Ok(Some(attempt))
}

/// Whether attempt `id` may take a new phone request or a stop at `now`: not done, not
/// expired, no pending unexpired request; `starts` says whether a start is still allowed.
async fn open(tx: &Tx<'_>, id: &str, now: i64) -> Result<Option<i64>, StoreError> {
    let Some(r) = opt(
        tx,
        "SELECT a.done_at IS NOT NULL, a.expires_at, a.starts, r.status, r.expires_at
         FROM login_attempts a LEFT JOIN auth_requests r ON r.id = a.request_id
         WHERE a.id = $1",
        &[&id],
    )
    .await?
    else {
        return Ok(None);
    };
    let done: bool = get(&r, 0)?;
    let expires_at: i64 = get(&r, 1)?;
    let starts: i64 = get(&r, 2)?;
    let status = opt_state::<RequestStatus>(&r, 3)?;
    let request_exp: Option<i64> = get(&r, 4)?;
    let pending = status == Some(RequestStatus::Pending) && request_exp.is_some_and(|e| now < e);
    Ok((!done && now < expires_at && !pending).then_some(starts))
}

/// Whether attempt `id` may start a phone challenge now (see [`open`], and the retry limit).
pub(super) async fn may_start(tx: &Tx<'_>, id: &str, now: i64) -> Result<bool, StoreError> {
    Ok(open(tx, id, now)
        .await?
        .is_some_and(|starts| starts < i64::from(MAX_RETRIES) + 1))
}

/// Links the request just queued to its attempt (a start: counted, stops cleared).
/// Adds to `last` the update that links attempt `id` to the request it started.
pub(super) fn link_request<'p>(
    last: &mut Last<'p>,
    id: &'p str,
    request_id: &'p str,
    account_id: &'p str,
) {
    last.add(
        "UPDATE login_attempts SET request_id = $2, account_id = $3, starts = starts + 1,
             stop = NULL, held_reason = NULL, held_until = NULL
         WHERE id = $1",
        params![id, request_id, account_id],
    );
}

pub(in crate::store) async fn stop(
    tx: &Tx<'_>,
    id: &str,
    stop: &StopTry,
    now: i64,
) -> Result<Stopped, StoreError> {
    if open(tx, id, now).await?.is_none() {
        return Ok(Stopped::Closed);
    }
    match stop {
        StopTry::NoDevice => {
            exec(
                tx,
                "UPDATE login_attempts SET stop = $2, account_id = NULL, held_reason = NULL,
                     held_until = NULL WHERE id = $1",
                &[&id, &AttemptStop::NoDevice.as_stored()],
            )
            .await?
        }
        StopTry::Held {
            account_id,
            reason,
            until,
        } => {
            exec(
                tx,
                "UPDATE login_attempts SET stop = $2, account_id = $3, held_reason = $4,
                     held_until = $5 WHERE id = $1",
                &[
                    &id,
                    &AttemptStop::Held.as_stored(),
                    account_id,
                    &reason.as_stored(),
                    until,
                ],
            )
            .await?
        }
    };
    Ok(Stopped::Stopped)
}

pub(in crate::store) async fn issue_code(
    tx: &Tx<'_>,
    step: &CodeFromAttempt,
) -> Result<Continued, StoreError> {
    let now = step.now;
    let Some(r) = opt(
        tx,
        "SELECT a.done_at IS NOT NULL, a.expires_at, r.status, r.auth_time, r.account_id,
                r.answered_by, r.offline_otp
         FROM login_attempts a LEFT JOIN auth_requests r ON r.id = a.request_id
         WHERE a.id = $1",
        &[&step.attempt_id],
    )
    .await?
    else {
        return Ok(Continued::NotApproved);
    };
    if get::<bool>(&r, 0)? {
        return Ok(Continued::Closed);
    }
    let expires_at: i64 = get(&r, 1)?;
    let offline = get::<Option<bool>>(&r, 6)?.unwrap_or(false);
    let (Some(RequestStatus::Approved), Some(auth_time), Some(account_id), Some(device_id)) = (
        opt_state(&r, 2)?,
        get::<Option<i64>>(&r, 3)?,
        get::<Option<String>>(&r, 4)?,
        get::<Option<String>>(&r, 5)?,
    ) else {
        return Ok(Continued::NotApproved);
    };
    if now >= expires_at {
        return Ok(Continued::NotApproved);
    }
    let mut last = Last::default();
    let sid = sessions::open(
        tx,
        &sessions::Opening {
            session: &step.session,
            replaces: step.replaces.as_ref(),
            account_id: &account_id,
            device_id: &device_id,
            auth_time,
            now,
            offline,
        },
        &mut last,
    )
    .await?;
    tokens::add_code(&mut last, &step.code, sid, now);
    last.add(
        "UPDATE login_attempts SET done_at = $2 WHERE id = $1",
        params![&step.attempt_id, now],
    );
    end_with(tx, last).await?;
    Ok(Continued::Issued)
}

pub(in crate::store) async fn finish(tx: &Tx<'_>, id: &str, now: i64) -> Result<bool, StoreError> {
    let n = exec(
        tx,
        "UPDATE login_attempts SET done_at = $2 WHERE id = $1 AND done_at IS NULL",
        &[&id, &now],
    )
    .await?;
    Ok(n > 0)
}
