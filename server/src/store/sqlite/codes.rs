// SPDX-License-Identifier: Apache-2.0
//! SQL of the `activation_codes` and `enrol_nonces` tables (and the device row an enrolment
//! writes).

use rusqlite::OptionalExtension as _;
use vistalid_core::protocol::Identity;

use super::{accounts, state, Tx};
use crate::domain::Stored as _;
use crate::secrets;
use crate::store::{CodeIssue, CodeRedeem, CodeRefusal, Enrolled, Enrolment, StoreError};

/// Compared with the given secret's hash when the lookup is unknown, so both paths do the
/// same work before answering.
const UNKNOWN_CODE_HASH: [u8; 32] = [0; 32];

pub(in crate::store) fn add_nonce(
    tx: &Tx<'_>,
    nonce: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT INTO enrol_nonces (nonce, expires_at) VALUES (?1, ?2)")?
        .execute(rusqlite::params![nonce, expires_at])?;
    Ok(())
}

pub(in crate::store) fn redeem(tx: &Tx<'_>, e: &Enrolment) -> Result<CodeRedeem, StoreError> {
    let now = e.now;
    // The nonce is spent whatever happens next.
    let nonce_exp: Option<i64> = tx
        .prepare_cached("DELETE FROM enrol_nonces WHERE nonce = ?1 RETURNING expires_at")?
        .query_row([&e.nonce], |r| r.get(0))
        .optional()?;
    if nonce_exp.is_none_or(|exp| now >= exp) {
        return Ok(CodeRedeem::Refused(CodeRefusal::InvalidNonce));
    }
    let lookup = &e.code.lookup;
    let row = tx
        .prepare_cached(
            "SELECT account_id, secret_hash, expires_at, tries_left, used_at
             FROM activation_codes WHERE lookup = ?1",
        )?
        .query_row([lookup], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })
        .optional()?;
    // A wrong secret answers exactly as an unknown lookup, whatever the code's state: only
    // the right secret learns that a code is used, expired or dead, so an attacker cannot
    // tell a live lookup from a free one.
    let Some((account_id, stored, expires_at, tries_left, used_at)) = row else {
        let _ = secrets::ct_eq(&UNKNOWN_CODE_HASH, &e.code.secret_hash);
        return Ok(CodeRedeem::Refused(CodeRefusal::WrongCode));
    };
    let live = used_at.is_none() && now < expires_at && tries_left > 0;
    if !secrets::ct_eq(&stored, &e.code.secret_hash) {
        if live {
            tx.prepare_cached(
                "UPDATE activation_codes SET tries_left = tries_left - 1 WHERE lookup = ?1",
            )?
            .execute([lookup])?;
        }
        return Ok(CodeRedeem::Refused(CodeRefusal::WrongCode));
    }
    if used_at.is_some() {
        return Ok(CodeRedeem::Refused(CodeRefusal::Used));
    }
    if now >= expires_at {
        return Ok(CodeRedeem::Refused(CodeRefusal::Expired));
    }
    if tries_left <= 0 {
        return Ok(CodeRedeem::Refused(CodeRefusal::Locked));
    }
    tx.prepare_cached("UPDATE activation_codes SET used_at = ?2 WHERE lookup = ?1")?
        .execute(rusqlite::params![lookup, now])?;
    let d = &e.device;
    tx.prepare_cached(
        "INSERT INTO devices (id, account_id, name, public_key, poll_token_hash,
             created_at, key_storage) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(rusqlite::params![
        d.id,
        account_id,
        d.name,
        d.public_key,
        d.poll_token_hash.as_slice(),
        now,
        d.key_storage.as_stored()
    ])?;
    if let Some(o) = &d.offline {
        super::offline::insert(tx, &d.id, o, now)?;
    }
    if let Some(g) = &d.pin_guard {
        super::pin_guards::insert(tx, &d.id, g, now)?;
    }
    if let Some(key) = &d.hardware_key {
        super::hardware::write(tx, &d.id, key)?;
    }
    let (kind, identity, login_id) = tx
        .prepare_cached(
            "SELECT kind, subject_name_id, given_name, family_name, profession, login_id
             FROM accounts WHERE id = ?1",
        )?
        .query_row([&account_id], |r| {
            Ok((
                state(r, 0)?,
                Identity {
                    subject_name_id: r.get(1)?,
                    given_name: r.get(2)?,
                    family_name: r.get(3)?,
                    profession: r.get(4)?,
                },
                r.get(5)?,
            ))
        })?;
    Ok(CodeRedeem::Enrolled(Enrolled {
        account_id,
        kind,
        identity,
        login_id,
    }))
}

pub(in crate::store) fn issue(
    tx: &Tx<'_>,
    account: &str,
    code: &CodeIssue,
) -> Result<Option<usize>, StoreError> {
    let Some(account_id) = accounts::resolve(tx, account)? else {
        return Ok(None);
    };
    store_code(tx, &account_id, code).map(Some)
}

/// Stores the first candidate of `code` whose lookup is free for `account_id` (killing its
/// earlier unused codes); returns its index.
pub(super) fn store_code(
    tx: &Tx<'_>,
    account_id: &str,
    code: &CodeIssue,
) -> Result<usize, StoreError> {
    tx.prepare_cached(
        "UPDATE activation_codes SET tries_left = 0 WHERE account_id = ?1 AND used_at IS NULL",
    )?
    .execute([account_id])?;
    for (i, key) in code.candidates.iter().enumerate() {
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
                key.lookup,
                account_id,
                key.secret_hash.as_slice(),
                code.expires_at,
                code.tries,
                code.now
            ])?;
        if inserted == 1 {
            return Ok(i);
        }
    }
    Err(StoreError::Exhausted("activation code lookup"))
}
