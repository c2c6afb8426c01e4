// SPDX-License-Identifier: Apache-2.0
//! SQL of the `auth_requests` and `challenges` tables.

use tokio_postgres::Row;
use vistalid_core::protocol::{Identity, KeyStorage};

use super::accounts::{mark_answer, AnswerMark};
use super::last::{end_with, params, Last};
use super::{all, attempts, get, notify, one, opt, opt_state, state, tokens, Tx};
use crate::domain::attempt::Flow;
use crate::domain::{AnswerOutcome, ChallengeStatus, RequestStatus, Stored as _};
use crate::secrets;
use crate::store::{
    AnswerRefusal, AnswerTry, Answered, Grant, NewRequest, NotGranted, Poll, Queued, StoreError,
    TokenPoll, Wakeup,
};

pub(in crate::store) async fn queue(
    tx: &Tx<'_>,
    r: &NewRequest,
    max_pending: u32,
) -> Result<Queued, StoreError> {
    if let Some(attempt) = &r.attempt {
        if !attempts::may_start(tx, attempt, r.created_at).await? {
            return Ok(Queued::AttemptClosed);
        }
    }
    let pending: i64 = get(
        &one(
            tx,
            "SELECT COUNT(*) FROM auth_requests
             WHERE account_id = $1 AND status = $2 AND expires_at > $3",
            &[
                &r.account_id,
                &RequestStatus::Pending.as_stored(),
                &r.created_at,
            ],
        )
        .await?,
        0,
    )?;
    if pending >= i64::from(max_pending) {
        return Ok(Queued::TooManyPending);
    }
    let mut last = Last::default();
    last.add(
        "INSERT INTO auth_requests (id, client_id, account_id, code, scope, acr_values,
             created_at, expires_at, interval_secs, status, flow)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        params![
            &r.id,
            &r.client_id,
            &r.account_id,
            &r.code,
            &r.scope,
            &r.acr_values,
            &r.created_at,
            &r.expires_at,
            &r.interval_secs,
            RequestStatus::Pending.as_stored(),
            r.flow().as_stored(),
        ],
    );
    if let Some(attempt) = &r.attempt {
        attempts::link_request(&mut last, attempt, &r.id, &r.account_id);
    }
    for c in &r.challenges {
        // Announced to the device's waiters by the insert itself (one statement).
        last.add(
            concat!(
                "INSERT INTO challenges (id, auth_req_id, device_id, jws, exp, status)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
                notify::pg_notify!(7)
            ),
            params![
                &c.id,
                &r.id,
                &c.device_id,
                &c.jws,
                &c.exp,
                ChallengeStatus::Pending.as_stored(),
                notify::payload(&Wakeup::Device(c.device_id.clone())),
            ],
        );
    }
    if let Some(attempt) = &r.scan_attempt {
        super::scan::mark_challenges(&mut last, &r.id, attempt);
    }
    end_with(tx, last).await?;
    Ok(Queued::Queued)
}

pub(in crate::store) async fn pending_for_device(
    tx: &Tx<'_>,
    device_id: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    all(
        tx,
        "SELECT c.jws FROM challenges c JOIN auth_requests r ON r.id = c.auth_req_id
         WHERE c.device_id = $1 AND c.status = $3 AND c.exp > $2 AND r.status = $4
         ORDER BY c.seq",
        &[
            &device_id,
            &now,
            &ChallengeStatus::Pending.as_stored(),
            &RequestStatus::Pending.as_stored(),
        ],
    )
    .await?
    .iter()
    .map(|r| get(r, 0))
    .collect()
}

/// A challenge with its request, as an answer needs them.
struct Answerable {
    owner: String,
    status: ChallengeStatus,
    exp: i64,
    request_id: String,
    request_status: RequestStatus,
    code: String,
    client_id: String,
    request_exp: i64,
    flow: Flow,
    /// Whether the answering account has a wrong-pick streak or hold that an approval clears.
    streak: bool,
}

async fn answerable(
    tx: &Tx<'_>,
    challenge_id: &str,
    account_id: &str,
) -> Result<Option<Answerable>, StoreError> {
    opt(
        tx,
        "SELECT c.device_id, c.status, c.exp, c.auth_req_id, r.status, r.code,
                r.client_id, r.expires_at, r.flow,
                COALESCE(ac.wrong_streak <> 0 OR ac.wrong_pick_until IS NOT NULL, FALSE)
         FROM challenges c JOIN auth_requests r ON r.id = c.auth_req_id
         LEFT JOIN accounts ac ON ac.id = $2
         WHERE c.id = $1",
        &[&challenge_id, &account_id],
    )
    .await?
    .map(|r| {
        Ok(Answerable {
            owner: get(&r, 0)?,
            status: state(&r, 1)?,
            exp: get(&r, 2)?,
            request_id: get(&r, 3)?,
            request_status: state(&r, 4)?,
            code: get(&r, 5)?,
            client_id: get(&r, 6)?,
            request_exp: get(&r, 7)?,
            flow: state(&r, 8)?,
            streak: get(&r, 9)?,
        })
    })
    .transpose()
}

pub(in crate::store) async fn answer(tx: &Tx<'_>, a: &AnswerTry) -> Result<Answered, StoreError> {
    let now = a.now;
    let Some(row) = answerable(tx, &a.challenge_id, &a.account_id).await? else {
        return Ok(Answered::Refused(AnswerRefusal::UnknownChallenge));
    };
    if row.owner != a.device_id {
        return Ok(Answered::Refused(AnswerRefusal::WrongDevice));
    }
    if row.status != ChallengeStatus::Pending || row.request_status != RequestStatus::Pending {
        return Ok(Answered::Refused(AnswerRefusal::AlreadyAnswered));
    }
    if now >= row.exp || now >= row.request_exp {
        return Ok(Answered::Refused(AnswerRefusal::Expired));
    }
    let given = a.code.as_deref().unwrap_or_default();
    let outcome = AnswerOutcome::judge(
        a.decision,
        secrets::ct_eq(given.as_bytes(), row.code.as_bytes()),
    );
    // The App Attest counter moves only if no other answer moved it since it was read.
    if let Some(step) = a.counter {
        if !super::hardware::advance_counter(tx, &a.device_id, step.last, step.next).await? {
            return Ok(Answered::Refused(AnswerRefusal::CounterReplayed));
        }
    }
    let mut last = Last::default();
    mark_answer(
        tx,
        &AnswerMark {
            account_id: &a.account_id,
            device_id: &a.device_id,
            request_id: &row.request_id,
            client_id: &row.client_id,
            outcome,
            policy: a.policy,
            now,
            streak: row.streak,
        },
        &mut last,
    )
    .await?;
    // Close every challenge of the request (the other devices' too).
    last.add(
        "UPDATE challenges SET status = CASE WHEN id = $2 THEN $4 ELSE $5 END,
             answered_at = $3 WHERE auth_req_id = $1 AND status = $6",
        params![
            &row.request_id,
            &a.challenge_id,
            now,
            ChallengeStatus::Answered.as_stored(),
            ChallengeStatus::Closed.as_stored(),
            ChallengeStatus::Pending.as_stored(),
        ],
    );
    // Announced to the request's waiters by the update itself (one statement).
    last.add(
        concat!(
            "UPDATE auth_requests SET status = $2, reason = $3, auth_time = $4,
                 answered_by = $5
             WHERE id = $1 RETURNING ",
            notify::pg_notify!(6)
        ),
        params![
            &row.request_id,
            outcome.request_status().as_stored(),
            outcome.denial().map(|d| d.as_stored()),
            now,
            &a.device_id,
            notify::payload(&Wakeup::Request(row.request_id.clone())),
        ],
    );
    end_with(tx, last).await?;
    Ok(Answered::Recorded {
        outcome,
        request_id: row.request_id,
        flow: row.flow,
    })
}

/// A request with its account, as a token poll needs them.
struct Polled {
    client_id: String,
    status: RequestStatus,
    reason: Option<crate::domain::DenialReason>,
    expires_at: i64,
    interval: i64,
    last_poll: Option<i64>,
    auth_time: Option<i64>,
    grant: Grant,
}

fn polled_row(r: &Row) -> Result<Polled, StoreError> {
    Ok(Polled {
        client_id: get(r, 0)?,
        status: state(r, 1)?,
        reason: opt_state(r, 2)?,
        expires_at: get(r, 3)?,
        interval: get(r, 4)?,
        last_poll: get(r, 5)?,
        auth_time: get(r, 6)?,
        grant: Grant {
            account_id: get(r, 7)?,
            identity: Identity {
                subject_name_id: get(r, 8)?,
                given_name: get(r, 9)?,
                family_name: get(r, 10)?,
                profession: get(r, 11)?,
            },
            kind: state(r, 12)?,
            auth_time: 0,
            // No answering device (nothing is granted then) reads as the weaker claim.
            key_storage: opt_state(r, 13)?.unwrap_or(KeyStorage::Software),
            attested: get::<Option<bool>>(r, 14)?.unwrap_or(false),
        },
    })
}

async fn polled(tx: &Tx<'_>, auth_req_id: &str) -> Result<Option<Polled>, StoreError> {
    opt(
        tx,
        "SELECT r.client_id, r.status, r.reason, r.expires_at, r.interval_secs,
                r.last_poll, r.auth_time, a.id, a.subject_name_id, a.given_name,
                a.family_name, a.profession, a.kind, d.key_storage,
                d.attest_platform IS NOT NULL
         FROM auth_requests r JOIN accounts a ON a.id = r.account_id
         LEFT JOIN devices d ON d.id = r.answered_by
         WHERE r.id = $1 AND r.flow = $2",
        &[&auth_req_id, &Flow::Ciba.as_stored()],
    )
    .await?
    .map(|r| polled_row(&r))
    .transpose()
}

pub(in crate::store) async fn poll(tx: &Tx<'_>, p: &TokenPoll) -> Result<Poll, StoreError> {
    let now = p.now;
    let Some(row) = polled(tx, &p.auth_req_id)
        .await?
        .filter(|r| r.client_id == p.client_id)
    else {
        return Ok(Poll::NotGranted(NotGranted::Unknown));
    };
    match row.status {
        RequestStatus::Issued => Ok(Poll::NotGranted(NotGranted::AlreadyIssued)),
        RequestStatus::Denied => row
            .reason
            .map(|r| Poll::NotGranted(NotGranted::Denied(r)))
            .ok_or(StoreError::Corrupt("auth_requests.reason")),
        RequestStatus::Approved if now <= row.expires_at.saturating_add(p.grace_secs) => {
            let mut last = Last::default();
            last.add(
                "UPDATE auth_requests SET status = $2, access_token_hash = $3, last_poll = $4
                 WHERE id = $1",
                params![
                    &p.auth_req_id,
                    RequestStatus::Issued.as_stored(),
                    p.access_token_hash.as_slice(),
                    now,
                ],
            );
            tokens::add_access(
                &mut last,
                tokens::AccessRow {
                    hash: &p.access_token_hash,
                    client_id: &p.client_id,
                    account_id: &row.grant.account_id,
                    family_id: None,
                    scope: "openid",
                    now,
                    expires_at: p.access_token_exp,
                },
            );
            end_with(tx, last).await?;
            Ok(Poll::Granted(Grant {
                auth_time: row.auth_time.unwrap_or(now),
                ..row.grant
            }))
        }
        RequestStatus::Approved => Ok(Poll::NotGranted(NotGranted::Expired)),
        RequestStatus::Pending if now >= row.expires_at => {
            Ok(Poll::NotGranted(NotGranted::Expired))
        }
        RequestStatus::Pending => {
            let mut last = Last::default();
            last.add(
                "UPDATE auth_requests SET last_poll = $2 WHERE id = $1",
                params![&p.auth_req_id, now],
            );
            end_with(tx, last).await?;
            let too_fast = row
                .last_poll
                .is_some_and(|last| now.saturating_sub(last) < row.interval);
            Ok(Poll::NotGranted(if too_fast {
                NotGranted::SlowDown
            } else {
                NotGranted::Pending
            }))
        }
    }
}
