// SPDX-License-Identifier: Apache-2.0
//! SQL of the `activation_codes` and `enrol_nonces` tables (and the device row an enrolment
//! writes).

use vistalid_core::protocol::Identity;

use super::{accounts, exec, get, one, opt, state, Tx};
use crate::domain::Stored as _;
use crate::secrets;
use crate::store::{CodeIssue, CodeRedeem, CodeRefusal, Enrolled, Enrolment, StoreError};

/// Compared with the given secret's hash when the lookup is unknown, so both paths do the
/// same work before answering.
const UNKNOWN_CODE_HASH: [u8; 32] = [0; 32];

pub(in crate::store) async fn add_nonce(
    tx: &Tx<'_>,
    nonce: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    exec(
        tx,
        "INSERT INTO enrol_nonces (nonce, expires_at) VALUES ($1, $2)",
        &[&nonce, &expires_at],
    )
    .await?;
    Ok(())
}

pub(in crate::store) async fn redeem(tx: &Tx<'_>, e: &Enrolment) -> Result<CodeRedeem, StoreError> {
    let now = e.now;
    // The nonce is spent whatever happens next.
    let nonce_exp: Option<i64> = opt(
        tx,
        "DELETE FROM enrol_nonces WHERE nonce = $1 RETURNING expires_at",
        &[&e.nonce],
    )
    .await?
    .map(|r| get(&r, 0))
    .transpose()?;
    if nonce_exp.is_none_or(|exp| now >= exp) {
        return Ok(CodeRedeem::Refused(CodeRefusal::InvalidNonce));
    }
    let lookup = &e.code.lookup;
    let row = opt(
        tx,
        "SELECT account_id, secret_hash, expires_at, tries_left, used_at
         FROM activation_codes WHERE lookup = $1",
        &[lookup],
    )
    .await?;
    // A wrong secret answers exactly as an unknown lookup, whatever the code's state.
    let Some(row) = row else {
        let _ = secrets::ct_eq(&UNKNOWN_CODE_HASH, &e.code.secret_hash);
        return Ok(CodeRedeem::Refused(CodeRefusal::WrongCode));
    };
    let account_id: String = get(&row, 0)?;
    let stored: Vec<u8> = get(&row, 1)?;
    let expires_at: i64 = get(&row, 2)?;
    let tries_left: i64 = get(&row, 3)?;
    let used_at: Option<i64> = get(&row, 4)?;
    let live = used_at.is_none() && now < expires_at && tries_left > 0;
    if !secrets::ct_eq(&stored, &e.code.secret_hash) {
        if live {
            exec(
                tx,
                "UPDATE activation_codes SET tries_left = tries_left - 1 WHERE lookup = $1",
                &[lookup],
            )
            .await?;
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
    exec(
        tx,
        "UPDATE activation_codes SET used_at = $2 WHERE lookup = $1",
        &[lookup, &now],
    )
    .await?;
    let d = &e.device;
    exec(
        tx,
        "INSERT INTO devices (id, account_id, name, public_key, poll_token_hash,
             created_at, key_storage) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &d.id,
            &account_id,
            &d.name,
            &d.public_key,
            &d.poll_token_hash.as_slice(),
            &now,
            &d.key_storage.as_stored(),
        ],
    )
    .await?;
    if let Some(o) = &d.offline {
        super::offline::insert(tx, &d.id, o, now).await?;
    }
    if let Some(g) = &d.pin_guard {
        super::pin_guards::insert(tx, &d.id, g, now).await?;
    }
    if let Some(key) = &d.hardware_key {
        super::hardware::write(tx, &d.id, key).await?;
    }
    let r = one(
        tx,
        "SELECT kind, subject_name_id, given_name, family_name, profession, login_id
         FROM accounts WHERE id = $1",
        &[&account_id],
    )
    .await?;
    Ok(CodeRedeem::Enrolled(Enrolled {
        kind: state(&r, 0)?,
        identity: Identity {
            subject_name_id: get(&r, 1)?,
            given_name: get(&r, 2)?,
            family_name: get(&r, 3)?,
            profession: get(&r, 4)?,
        },
        login_id: get(&r, 5)?,
        account_id,
    }))
}

pub(in crate::store) async fn issue(
    tx: &Tx<'_>,
    account: &str,
    code: &CodeIssue,
) -> Result<Option<usize>, StoreError> {
    let Some(account_id) = accounts::resolve(tx, account).await? else {
        return Ok(None);
    };
    store_code(tx, &account_id, code).await.map(Some)
}

/// Stores the first candidate of `code` whose lookup is free for `account_id` (killing its
/// earlier unused codes); returns its index.
pub(super) async fn store_code(
    tx: &Tx<'_>,
    account_id: &str,
    code: &CodeIssue,
) -> Result<usize, StoreError> {
    exec(
        tx,
        "UPDATE activation_codes SET tries_left = 0 WHERE account_id = $1 AND used_at IS NULL",
        &[&account_id],
    )
    .await?;
    for (i, key) in code.candidates.iter().enumerate() {
        // A lookup may be reused once its previous code is dead (used, expired or locked).
        let inserted = exec(
            tx,
            "INSERT INTO activation_codes (lookup, account_id, secret_hash, expires_at,
                 tries_left, created_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (lookup) DO UPDATE SET account_id = excluded.account_id,
                 secret_hash = excluded.secret_hash, expires_at = excluded.expires_at,
                 tries_left = excluded.tries_left, used_at = NULL,
                 created_at = excluded.created_at
             WHERE activation_codes.used_at IS NOT NULL
                OR activation_codes.expires_at <= $6
                OR activation_codes.tries_left <= 0",
            &[
                &key.lookup,
                &account_id,
                &key.secret_hash.as_slice(),
                &code.expires_at,
                &i64::from(code.tries),
                &code.now,
            ],
        )
        .await?;
        if inserted == 1 {
            return Ok(i);
        }
    }
    Err(StoreError::Exhausted("activation code lookup"))
}

#[cfg(test)]
mod tests;
