// SPDX-License-Identifier: Apache-2.0
//! SQL of the `accounts`, `devices` and `fraud_reports` tables, and of the login guard state
//! kept in the account row.

use super::last::{params, Last};
use super::{all, codes, exec, get, hardware, one, opt, state, Tx};
use crate::domain::guard::{Hold, Policy};
use crate::domain::{secs, AnswerOutcome, ChallengeStatus, Stored as _};
use crate::store::{
    Added, Alerts, CodeIssue, DeviceKey, DeviceRecord, LoginDevice, LoginTarget, NewAccount,
    Revocation, StoreError,
};

pub(in crate::store) async fn add(
    tx: &Tx<'_>,
    a: &NewAccount,
    code: &CodeIssue,
) -> Result<Added, StoreError> {
    let exists = opt(
        tx,
        "SELECT 1 FROM accounts WHERE subject_name_id = $1 OR login_id = $2",
        &[&a.identity.subject_name_id, &a.login_id],
    )
    .await?;
    if exists.is_some() {
        return Ok(Added::Duplicate);
    }
    let who = &a.identity;
    exec(
        tx,
        "INSERT INTO accounts (id, kind, subject_name_id, given_name, family_name,
             profession, login_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &a.id,
            &a.kind.as_stored(),
            &who.subject_name_id,
            &who.given_name,
            &who.family_name,
            &who.profession,
            &a.login_id,
            &a.created_at,
        ],
    )
    .await?;
    let code = codes::store_code(tx, &a.id, code).await?;
    Ok(Added::Created { code })
}

/// The id of the account named `account` (its id or `SubjectNameID`).
pub(super) async fn resolve(tx: &Tx<'_>, account: &str) -> Result<Option<String>, StoreError> {
    opt(
        tx,
        "SELECT id FROM accounts WHERE id = $1 OR subject_name_id = $1",
        &[&account],
    )
    .await?
    .map(|r| get(&r, 0))
    .transpose()
}

pub(in crate::store) async fn clear_holds(tx: &Tx<'_>, account: &str) -> Result<bool, StoreError> {
    let n = exec(
        tx,
        "UPDATE accounts SET not_me_until = NULL, wrong_pick_until = NULL, wrong_streak = 0
         WHERE id = $1 OR subject_name_id = $1",
        &[&account],
    )
    .await?;
    Ok(n > 0)
}

pub(in crate::store) async fn alerts(
    tx: &Tx<'_>,
    account: &str,
) -> Result<Option<Alerts>, StoreError> {
    opt(
        tx,
        "SELECT fraud_reports, wrong_codes FROM accounts WHERE id = $1 OR subject_name_id = $1",
        &[&account],
    )
    .await?
    .map(|r| {
        let count = |i: usize, column| {
            u32::try_from(get::<i64>(&r, i)?).map_err(|_| StoreError::Corrupt(column))
        };
        Ok(Alerts {
            fraud_reports: count(0, "accounts.fraud_reports")?,
            wrong_codes: count(1, "accounts.wrong_codes")?,
        })
    })
    .transpose()
}

pub(in crate::store) async fn devices(
    tx: &Tx<'_>,
    account: &str,
) -> Result<Vec<DeviceRecord>, StoreError> {
    let sql = format!(
        "SELECT d.id, d.account_id, a.subject_name_id, d.name, d.public_key,
                d.created_at, d.revoked_at, d.key_storage,
                CASE WHEN g.device_id IS NULL THEN NULL
                     WHEN g.secret_key IS NULL THEN 0
                     ELSE greatest(g.guess_limit - g.guesses_used, 0) END,
                {}
         FROM devices d JOIN accounts a ON a.id = d.account_id
              LEFT JOIN pin_guards g ON g.device_id = d.id
         WHERE a.id = $1 OR a.subject_name_id = $1 ORDER BY d.created_at, d.seq",
        hardware::COLUMNS
    );
    all(tx, &sql, &[&account])
        .await?
        .iter()
        .map(|r| {
            let left: Option<i64> = get(r, 8)?;
            Ok(DeviceRecord {
                device_id: get(r, 0)?,
                account_id: get(r, 1)?,
                subject_name_id: get(r, 2)?,
                name: get(r, 3)?,
                public_key: get(r, 4)?,
                created_at: get(r, 5)?,
                revoked_at: get(r, 6)?,
                key_storage: state(r, 7)?,
                guesses_left: left
                    .map(u32::try_from)
                    .transpose()
                    .map_err(|_| StoreError::Corrupt("pin_guards.guess_limit"))?,
                hardware_key: hardware::read(r, 9)?,
            })
        })
        .collect()
}

pub(in crate::store) async fn revoke_device(
    tx: &Tx<'_>,
    device_id: &str,
    now: i64,
) -> Result<Revocation, StoreError> {
    let known = opt(
        tx,
        "SELECT revoked_at FROM devices WHERE id = $1",
        &[&device_id],
    )
    .await?;
    let Some(row) = known else {
        return Ok(Revocation::Unknown);
    };
    if get::<Option<i64>>(&row, 0)?.is_some() {
        return Ok(Revocation::AlreadyRevoked);
    }
    exec(
        tx,
        "UPDATE devices SET revoked_at = $2 WHERE id = $1",
        &[&device_id, &now],
    )
    .await?;
    exec(
        tx,
        "UPDATE challenges SET status = $2 WHERE device_id = $1 AND status = $3",
        &[
            &device_id,
            &ChallengeStatus::Closed.as_stored(),
            &ChallengeStatus::Pending.as_stored(),
        ],
    )
    .await?;
    // A revoked device is never woken again (issue 20).
    super::push_tokens::remove_in(tx, device_id).await?;
    Ok(Revocation::Revoked)
}

/// The account `hint` names (`by`), with its active devices; `None` when none matches.
///
/// A miss walks the reads of a hit (issue 15: the login page must not tell an unknown
/// identifier from a known one by time), as on SQLite: the one statement reads and decodes an
/// account row either way (on a miss, the first account by id, then dropped), and the devices query
/// runs for an account id no device has.
pub(in crate::store) async fn login_target(
    tx: &Tx<'_>,
    hint: &str,
    by: crate::store::sqlite::accounts::TargetBy,
) -> Result<Option<LoginTarget>, StoreError> {
    use crate::store::sqlite::accounts::TargetBy;
    // One statement: the account (or, for an unknown one, the first account, so that both
    // read a row), then its devices, looked up for an unknown account too (by an id no
    // account has), so that a known and an unknown identifier cost the same.
    let account = match by {
        TargetBy::LoginId => "login_id",
        TargetBy::AccountId => "id",
    };
    let sql = format!(
        "WITH t AS ((SELECT id, kind, not_me_until, wrong_pick_until, TRUE AS hit
                     FROM accounts WHERE {account} = $1)
                    UNION ALL
                    (SELECT id, kind, not_me_until, wrong_pick_until, FALSE
                     FROM accounts ORDER BY id LIMIT 1)
                    LIMIT 1)
         SELECT t.id, t.kind, t.not_me_until, t.wrong_pick_until, t.hit, d.id, {}
         FROM t LEFT JOIN devices d
             ON d.account_id = CASE WHEN t.hit THEN t.id ELSE '' END AND d.revoked_at IS NULL
         ORDER BY d.created_at, d.seq",
        hardware::COLUMNS
    );
    let rows = all(tx, &sql, &[&hint]).await?;
    let Some(first) = rows.first() else {
        return Ok(None); // no account at all
    };
    // The login does not need the kind, but a kind the server does not know is a corrupt
    // account, never one that can log in.
    let _kind: vistalid_core::protocol::AccountKind = state(first, 1)?;
    if !get::<bool>(first, 4)? {
        return Ok(None);
    }
    let mut devices = Vec::with_capacity(rows.len());
    for r in &rows {
        if let Some(id) = get::<Option<String>>(r, 5)? {
            devices.push(LoginDevice {
                id,
                hardware_key: hardware::read(r, 6)?,
            });
        }
    }
    Ok(Some(LoginTarget {
        account_id: get(first, 0)?,
        hold: Hold {
            not_me_until: get(first, 2)?,
            wrong_pick_until: get(first, 3)?,
        },
        devices,
    }))
}

pub(in crate::store) async fn login_id(
    tx: &Tx<'_>,
    account: &str,
) -> Result<Option<String>, StoreError> {
    Ok(opt(
        tx,
        "SELECT login_id FROM accounts WHERE id = $1 OR subject_name_id = $1 OR login_id = $1",
        &[&account],
    )
    .await?
    .map(|r| get::<Option<String>>(&r, 0))
    .transpose()?
    .flatten())
}

pub(in crate::store) async fn device_key(
    tx: &Tx<'_>,
    device_id: &str,
) -> Result<Option<DeviceKey>, StoreError> {
    let sql = format!(
        "SELECT d.public_key, d.revoked_at, d.account_id, {} FROM devices d WHERE d.id = $1",
        hardware::COLUMNS
    );
    opt(tx, &sql, &[&device_id])
        .await?
        .map(|r| {
            Ok(DeviceKey {
                public_key: get(&r, 0)?,
                revoked: get::<Option<i64>>(&r, 1)?.is_some(),
                account_id: get(&r, 2)?,
                hardware_key: hardware::read(&r, 3)?,
            })
        })
        .transpose()
}

pub(in crate::store) async fn device_by_poll_token(
    tx: &Tx<'_>,
    hash: &[u8; 32],
) -> Result<Option<String>, StoreError> {
    opt(
        tx,
        "SELECT id FROM devices WHERE poll_token_hash = $1 AND revoked_at IS NULL",
        &[&hash.as_slice()],
    )
    .await?
    .map(|r| get(&r, 0))
    .transpose()
}

/// What an answer leaves on its account (see `sqlite::accounts::AnswerMark`).
pub(super) struct AnswerMark<'a> {
    pub(super) account_id: &'a str,
    pub(super) device_id: &'a str,
    pub(super) request_id: &'a str,
    pub(super) client_id: &'a str,
    pub(super) outcome: AnswerOutcome,
    pub(super) policy: Policy,
    pub(super) now: i64,
    /// Whether the account has a wrong-pick streak or hold, as this transaction read it
    /// (`false`: an approval has nothing to clear and writes nothing).
    pub(super) streak: bool,
}

/// Writes what answer `m` changes of its account: the wrong-pick count now (its new value
/// decides the hold), the rest added to `last`.
pub(super) async fn mark_answer<'p>(
    tx: &Tx<'_>,
    m: &AnswerMark<'p>,
    last: &mut Last<'p>,
) -> Result<(), StoreError> {
    let until = |v: u64| m.now.saturating_add(secs(v));
    match m.outcome {
        AnswerOutcome::Declined => {}
        AnswerOutcome::Approved if !m.streak => {}
        AnswerOutcome::Approved => {
            last.add(
                "UPDATE accounts SET wrong_streak = 0, wrong_pick_until = NULL
                 WHERE id = $1 AND (wrong_streak <> 0 OR wrong_pick_until IS NOT NULL)",
                params![m.account_id],
            );
        }
        AnswerOutcome::Reported => {
            if m.policy.not_me_hold_secs > 0 {
                last.add(
                    "UPDATE accounts SET not_me_until = $2 WHERE id = $1",
                    params![m.account_id, until(m.policy.not_me_hold_secs)],
                );
            }
            last.add(
                "INSERT INTO fraud_reports (account_id, device_id, auth_req_id, client_id,
                     reported_at) VALUES ($1, $2, $3, $4, $5)",
                params![m.account_id, m.device_id, m.request_id, m.client_id, m.now],
            );
            last.add(
                "UPDATE accounts SET fraud_reports = fraud_reports + 1 WHERE id = $1",
                params![m.account_id],
            );
        }
        AnswerOutcome::WrongCode => {
            let streak: i64 = get(
                &one(
                    tx,
                    "UPDATE accounts SET wrong_streak = wrong_streak + 1,
                         wrong_codes = wrong_codes + 1
                     WHERE id = $1 RETURNING wrong_streak",
                    &[&m.account_id],
                )
                .await?,
                0,
            )?;
            let wait = m
                .policy
                .backoff_secs(u32::try_from(streak).unwrap_or(u32::MAX));
            if wait > 0 {
                last.add(
                    "UPDATE accounts SET wrong_pick_until = $2 WHERE id = $1",
                    params![m.account_id, until(wait)],
                );
            }
        }
    }
    Ok(())
}
