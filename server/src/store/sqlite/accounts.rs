// SPDX-License-Identifier: Apache-2.0
//! SQL of the `accounts`, `devices` and `fraud_reports` tables, and of the login guard state
//! kept in the account row.

use rusqlite::{Connection, OptionalExtension as _};
use vistalid_core::protocol::AccountKind;

use super::{codes, hardware, state, Tx};
use crate::domain::guard::{Hold, Policy};
use crate::domain::{secs, AnswerOutcome, ChallengeStatus, Stored as _};
use crate::store::{
    Added, Alerts, CodeIssue, DeviceKey, DeviceRecord, LoginDevice, LoginTarget, NewAccount,
    Revocation, StoreError,
};

pub(in crate::store) fn add(
    tx: &Tx<'_>,
    a: &NewAccount,
    code: &CodeIssue,
) -> Result<Added, StoreError> {
    let exists = tx
        .prepare_cached("SELECT 1 FROM accounts WHERE subject_name_id = ?1 OR login_id = ?2")?
        .query_row(
            rusqlite::params![a.identity.subject_name_id, a.login_id],
            |_| Ok(()),
        )
        .optional()?;
    if exists.is_some() {
        return Ok(Added::Duplicate);
    }
    let who = &a.identity;
    tx.prepare_cached(
        "INSERT INTO accounts (id, kind, subject_name_id, given_name, family_name,
             profession, login_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(rusqlite::params![
        a.id,
        a.kind.as_stored(),
        who.subject_name_id,
        who.given_name,
        who.family_name,
        who.profession,
        a.login_id,
        a.created_at
    ])?;
    let code = codes::store_code(tx, &a.id, code)?;
    Ok(Added::Created { code })
}

/// The id of the account named `account` (its id or `SubjectNameID`).
pub(super) fn resolve(c: &Connection, account: &str) -> Result<Option<String>, StoreError> {
    Ok(
        c.prepare_cached("SELECT id FROM accounts WHERE id = ?1 OR subject_name_id = ?1")?
            .query_row([account], |r| r.get(0))
            .optional()?,
    )
}

pub(in crate::store) fn clear_holds(tx: &Tx<'_>, account: &str) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE accounts SET not_me_until = NULL, wrong_pick_until = NULL, wrong_streak = 0
             WHERE id = ?1 OR subject_name_id = ?1",
        )?
        .execute([account])?;
    Ok(n > 0)
}

pub(in crate::store) fn alerts(
    c: &Connection,
    account: &str,
) -> Result<Option<Alerts>, StoreError> {
    Ok(c.prepare_cached(
        "SELECT fraud_reports, wrong_codes FROM accounts
             WHERE id = ?1 OR subject_name_id = ?1",
    )?
    .query_row([account], |r| {
        Ok(Alerts {
            fraud_reports: r.get(0)?,
            wrong_codes: r.get(1)?,
        })
    })
    .optional()?)
}

pub(in crate::store) fn devices(
    c: &Connection,
    account: &str,
) -> Result<Vec<DeviceRecord>, StoreError> {
    let sql = format!(
        "SELECT d.id, d.account_id, a.subject_name_id, d.name, d.public_key,
                d.created_at, d.revoked_at, d.key_storage,
                CASE WHEN g.device_id IS NULL THEN NULL
                     WHEN g.secret_key IS NULL THEN 0
                     ELSE max(g.guess_limit - g.guesses_used, 0) END,
                {}
         FROM devices d JOIN accounts a ON a.id = d.account_id
              LEFT JOIN pin_guards g ON g.device_id = d.id
         WHERE a.id = ?1 OR a.subject_name_id = ?1 ORDER BY d.created_at, d.rowid",
        hardware::COLUMNS
    );
    let rows = c
        .prepare_cached(&sql)?
        .query_map([account], |r| {
            Ok(DeviceRecord {
                device_id: r.get(0)?,
                account_id: r.get(1)?,
                subject_name_id: r.get(2)?,
                name: r.get(3)?,
                public_key: r.get(4)?,
                created_at: r.get(5)?,
                revoked_at: r.get(6)?,
                key_storage: state(r, 7)?,
                guesses_left: r.get(8)?,
                hardware_key: hardware::read(r, 9)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(in crate::store) fn revoke_device(
    tx: &Tx<'_>,
    device_id: &str,
    now: i64,
) -> Result<Revocation, StoreError> {
    let known: Option<Option<i64>> = tx
        .prepare_cached("SELECT revoked_at FROM devices WHERE id = ?1")?
        .query_row([device_id], |r| r.get(0))
        .optional()?;
    match known {
        None => Ok(Revocation::Unknown),
        Some(Some(_)) => Ok(Revocation::AlreadyRevoked),
        Some(None) => {
            tx.prepare_cached("UPDATE devices SET revoked_at = ?2 WHERE id = ?1")?
                .execute(rusqlite::params![device_id, now])?;
            tx.prepare_cached(
                "UPDATE challenges SET status = ?2 WHERE device_id = ?1 AND status = ?3",
            )?
            .execute(rusqlite::params![
                device_id,
                ChallengeStatus::Closed.as_stored(),
                ChallengeStatus::Pending.as_stored()
            ])?;
            // A revoked device is never woken again (issue 20).
            super::push_tokens::remove_in(tx, device_id)?;
            Ok(Revocation::Revoked)
        }
    }
}

/// Which column names the account of a login target.
#[derive(Debug, Clone, Copy)]
pub(in crate::store) enum TargetBy {
    /// The login identifier (what the user or the relying party typed).
    LoginId,
    /// The account id (a retry of a browser attempt that already found the account).
    AccountId,
}

/// The columns of a login target's account row, read by [`target_row`].
const TARGET_COLUMNS: &str = "id, kind, not_me_until, wrong_pick_until";

/// Whether one row of a login-target query is the account asked for, with its id and hold.
fn target_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(bool, String, Hold)> {
    // The login does not need the kind, but a kind the server does not know is a corrupt
    // account, never one that can log in.
    let _kind: AccountKind = state(r, 1)?;
    Ok((
        r.get(4)?,
        r.get(0)?,
        Hold {
            not_me_until: r.get(2)?,
            wrong_pick_until: r.get(3)?,
        },
    ))
}

/// The account `hint` names (`by`), with its active devices; `None` when none matches.
///
/// A miss walks the reads of a hit (issue 15: the login page must not tell an unknown
/// identifier from a known one by time): the one statement reads and decodes an account row
/// either way (on a miss, the first account, then dropped), and the devices query runs for
/// an account id no device has.
pub(in crate::store) fn login_target(
    c: &Connection,
    hint: &str,
    by: TargetBy,
) -> Result<Option<LoginTarget>, StoreError> {
    let column = match by {
        TargetBy::LoginId => "login_id",
        TargetBy::AccountId => "id",
    };
    let sql = format!(
        "SELECT {TARGET_COLUMNS}, 1 FROM accounts WHERE {column} = ?1
         UNION ALL
         SELECT * FROM (SELECT {TARGET_COLUMNS}, 0 FROM accounts ORDER BY rowid LIMIT 1)
         LIMIT 1"
    );
    let row = c
        .prepare_cached(&sql)?
        .query_row([hint], target_row)
        .optional()?;
    let (found, account_id, hold) = match row {
        Some((true, id, hold)) => (true, id, hold),
        Some((false, ..)) | None => (false, String::new(), Hold::default()),
    };
    let sql = format!(
        "SELECT d.id, {} FROM devices d WHERE d.account_id = ?1 AND d.revoked_at IS NULL
         ORDER BY d.created_at, d.rowid",
        hardware::COLUMNS
    );
    let devices = c
        .prepare_cached(&sql)?
        .query_map([&account_id], |r| {
            Ok(LoginDevice {
                id: r.get(0)?,
                hardware_key: hardware::read(r, 1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(found.then_some(LoginTarget {
        account_id,
        hold,
        devices,
    }))
}

pub(in crate::store) fn login_id(
    c: &Connection,
    account: &str,
) -> Result<Option<String>, StoreError> {
    Ok(c.prepare_cached(
        "SELECT login_id FROM accounts WHERE id = ?1 OR subject_name_id = ?1 OR login_id = ?1",
    )?
    .query_row([account], |r| r.get::<_, Option<String>>(0))
    .optional()?
    .flatten())
}

pub(in crate::store) fn device_key(
    c: &Connection,
    device_id: &str,
) -> Result<Option<DeviceKey>, StoreError> {
    let sql = format!(
        "SELECT d.public_key, d.revoked_at, d.account_id, {} FROM devices d WHERE d.id = ?1",
        hardware::COLUMNS
    );
    Ok(c.prepare_cached(&sql)?
        .query_row([device_id], |r| {
            Ok(DeviceKey {
                public_key: r.get(0)?,
                revoked: r.get::<_, Option<i64>>(1)?.is_some(),
                account_id: r.get(2)?,
                hardware_key: hardware::read(r, 3)?,
            })
        })
        .optional()?)
}

pub(in crate::store) fn device_by_poll_token(
    c: &Connection,
    hash: &[u8; 32],
) -> Result<Option<String>, StoreError> {
    Ok(c.prepare_cached(
        "SELECT id FROM devices WHERE poll_token_hash = ?1 AND revoked_at IS NULL",
    )?
    .query_row([hash.as_slice()], |r| r.get(0))
    .optional()?)
}

/// What an answer leaves on its account: the login guard's state, the alert counters, and a
/// fraud report for "not me". Runs inside the answer's transaction.
pub(super) struct AnswerMark<'a> {
    pub(super) account_id: &'a str,
    pub(super) device_id: &'a str,
    pub(super) request_id: &'a str,
    pub(super) client_id: &'a str,
    pub(super) outcome: AnswerOutcome,
    pub(super) policy: Policy,
    pub(super) now: i64,
}

pub(super) fn mark_answer(tx: &Tx<'_>, m: &AnswerMark<'_>) -> Result<(), StoreError> {
    let until = |v: u64| m.now.saturating_add(secs(v));
    match m.outcome {
        AnswerOutcome::Declined => {}
        AnswerOutcome::Approved => {
            tx.prepare_cached(
                "UPDATE accounts SET wrong_streak = 0, wrong_pick_until = NULL
                 WHERE id = ?1 AND (wrong_streak <> 0 OR wrong_pick_until IS NOT NULL)",
            )?
            .execute([m.account_id])?;
        }
        AnswerOutcome::Reported => {
            if m.policy.not_me_hold_secs > 0 {
                tx.prepare_cached("UPDATE accounts SET not_me_until = ?2 WHERE id = ?1")?
                    .execute(rusqlite::params![
                        m.account_id,
                        until(m.policy.not_me_hold_secs)
                    ])?;
            }
            tx.prepare_cached(
                "INSERT INTO fraud_reports (account_id, device_id, auth_req_id, client_id,
                     reported_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(rusqlite::params![
                m.account_id,
                m.device_id,
                m.request_id,
                m.client_id,
                m.now
            ])?;
            tx.prepare_cached(
                "UPDATE accounts SET fraud_reports = fraud_reports + 1 WHERE id = ?1",
            )?
            .execute([m.account_id])?;
        }
        AnswerOutcome::WrongCode => {
            let streak: i64 = tx
                .prepare_cached(
                    "UPDATE accounts SET wrong_streak = wrong_streak + 1,
                         wrong_codes = wrong_codes + 1
                     WHERE id = ?1 RETURNING wrong_streak",
                )?
                .query_row([m.account_id], |r| r.get(0))?;
            let wait = m
                .policy
                .backoff_secs(u32::try_from(streak).unwrap_or(u32::MAX));
            if wait > 0 {
                tx.prepare_cached("UPDATE accounts SET wrong_pick_until = ?2 WHERE id = ?1")?
                    .execute(rusqlite::params![m.account_id, until(wait)])?;
            }
        }
    }
    Ok(())
}
