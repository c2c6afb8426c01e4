// SPDX-License-Identifier: Apache-2.0
//! SQL of the `authorization_codes`, `token_families`, `refresh_tokens` and `access_tokens`
//! tables.

use tokio_postgres::Row;
use vistalid_core::protocol::{Identity, KeyStorage};

use super::last::{end_with, params, Last};
use super::{exec, get, opt, state, Tx};
use crate::secrets;
use crate::store::{
    AccessGrant, CodeExchange, ExchangeRefusal, Exchanged, NewCode, RefreshRefusal, RefreshTry,
    Refreshed, StoreError, TokenGrant,
};

/// Adds the insert of authorization code `c`, of session `session_id`, to `last`.
pub(super) fn add_code<'p>(last: &mut Last<'p>, c: &'p NewCode, session_id: String, now: i64) {
    last.add(
        "INSERT INTO authorization_codes (hash, client_id, redirect_uri, code_challenge, nonce,
             scope, session_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![
            c.hash.as_slice(),
            &c.client_id,
            &c.redirect_uri,
            &c.code_challenge,
            &c.nonce,
            &c.scope,
            session_id,
            now,
            c.expires_at,
        ],
    );
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

/// Adds the insert of access token `a` to `last`.
pub(super) fn add_access<'p>(last: &mut Last<'p>, a: AccessRow<'p>) {
    last.add(
        "INSERT INTO access_tokens (hash, client_id, account_id, family_id, scope, created_at,
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![
            a.hash.as_slice(),
            a.client_id,
            a.account_id,
            a.family_id,
            a.scope,
            a.now,
            a.expires_at,
        ],
    );
}

/// Adds the insert of a refresh token to `last`.
fn add_refresh<'p>(
    last: &mut Last<'p>,
    hash: &'p [u8; 32],
    family_id: &'p str,
    now: i64,
    expires_at: i64,
) {
    last.add(
        "INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4)",
        params![hash.as_slice(), family_id, now, expires_at],
    );
}

async fn revoke_family(tx: &Tx<'_>, family_id: &str, now: i64) -> Result<(), StoreError> {
    exec(
        tx,
        "UPDATE token_families SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[&family_id, &now],
    )
    .await?;
    Ok(())
}

/// Who a session is, as tokens need it (see `sqlite::tokens`).
struct SessionGrant {
    grant: TokenGrant,
    expires_at: i64,
    last_seen: i64,
    live: bool,
}

fn session_row(r: &Row, sid: &str) -> Result<SessionGrant, StoreError> {
    Ok(SessionGrant {
        grant: TokenGrant {
            account_id: get(r, 0)?,
            kind: state(r, 1)?,
            identity: Identity {
                subject_name_id: get(r, 2)?,
                given_name: get(r, 3)?,
                family_name: get(r, 4)?,
                profession: get(r, 5)?,
            },
            auth_time: get(r, 6)?,
            // Only an attested hardware key counts as one (`amr` `hwk`, ADR 0001).
            key_storage: if get(r, 7)? {
                KeyStorage::Hardware
            } else {
                KeyStorage::Software
            },
            offline: get(r, 11)?,
            nonce: None,
            sid: sid.to_owned(),
            scope: String::new(),
            refresh_expires_at: 0,
        },
        expires_at: get(r, 8)?,
        live: get(r, 9)?,
        last_seen: get(r, 10)?,
    })
}

async fn session_grant(tx: &Tx<'_>, sid: &str) -> Result<Option<SessionGrant>, StoreError> {
    opt(
        tx,
        "SELECT s.account_id, a.kind, a.subject_name_id, a.given_name, a.family_name,
                a.profession, s.auth_time, d.attest_platform IS NOT NULL, s.expires_at,
                s.ended_at IS NULL AND d.revoked_at IS NULL, s.last_seen, s.offline_otp
         FROM sessions s JOIN accounts a ON a.id = s.account_id
         JOIN devices d ON d.id = s.device_id
         WHERE s.id = $1",
        &[&sid],
    )
    .await?
    .map(|r| session_row(&r, sid))
    .transpose()
}

pub(in crate::store) async fn exchange_code(
    tx: &Tx<'_>,
    x: &CodeExchange,
) -> Result<Exchanged, StoreError> {
    let now = x.now;
    let refused = |why| Ok(Exchanged::Refused(why));
    let row = opt(
        tx,
        "SELECT client_id, redirect_uri, code_challenge, nonce, scope, session_id,
                expires_at, used_at IS NOT NULL, family_id
         FROM authorization_codes WHERE hash = $1",
        &[&x.code_hash.as_slice()],
    )
    .await?;
    let Some(r) = row else {
        return refused(ExchangeRefusal::Unknown);
    };
    if get::<String>(&r, 0)? != x.client_id {
        return refused(ExchangeRefusal::Unknown);
    }
    let redirect_uri: String = get(&r, 1)?;
    let code_challenge: String = get(&r, 2)?;
    let nonce: Option<String> = get(&r, 3)?;
    let scope: String = get(&r, 4)?;
    let session_id: String = get(&r, 5)?;
    let expires_at: i64 = get(&r, 6)?;
    let used: bool = get(&r, 7)?;
    let family_id: Option<String> = get(&r, 8)?;
    if used {
        // RFC 6749 §4.1.2: a second use revokes what the first issued.
        if let Some(family) = &family_id {
            revoke_family(tx, family, now).await?;
        }
        return refused(ExchangeRefusal::Replayed);
    }
    if now >= expires_at {
        return refused(ExchangeRefusal::Expired);
    }
    if redirect_uri != x.redirect_uri {
        return refused(ExchangeRefusal::WrongRedirect);
    }
    if !secrets::ct_eq(code_challenge.as_bytes(), x.verifier_challenge.as_bytes()) {
        return refused(ExchangeRefusal::WrongVerifier);
    }
    let Some(session) = session_grant(tx, &session_id).await?.filter(|s| s.live) else {
        return refused(ExchangeRefusal::SessionEnded);
    };
    let refresh_exp = x.refresh.expires_at.min(session.expires_at);
    let mut last = Last::default();
    last.add(
        "UPDATE authorization_codes SET used_at = $2, family_id = $3 WHERE hash = $1",
        params![x.code_hash.as_slice(), now, &x.family_id],
    );
    last.add(
        "INSERT INTO token_families (id, client_id, session_id, scope, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![
            &x.family_id,
            &x.client_id,
            &session_id,
            &scope,
            now,
            session.expires_at,
        ],
    );
    add_refresh(&mut last, &x.refresh.hash, &x.family_id, now, refresh_exp);
    add_access(
        &mut last,
        AccessRow {
            hash: &x.access.hash,
            client_id: &x.client_id,
            account_id: &session.grant.account_id,
            family_id: Some(&x.family_id),
            scope: &scope,
            now,
            expires_at: x.access.expires_at,
        },
    );
    end_with(tx, last).await?;
    Ok(Exchanged::Granted(Box::new(TokenGrant {
        nonce,
        scope,
        refresh_expires_at: refresh_exp,
        ..session.grant
    })))
}

pub(in crate::store) async fn refresh(
    tx: &Tx<'_>,
    t: &RefreshTry,
) -> Result<Refreshed, StoreError> {
    let now = t.now;
    let refused = |why| Ok(Refreshed::Refused(why));
    let row = opt(
        tx,
        "SELECT t.family_id, t.expires_at, t.used_at IS NOT NULL, f.client_id, f.session_id,
                f.scope, f.expires_at, f.revoked_at IS NOT NULL
         FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id
         WHERE t.hash = $1",
        &[&t.hash.as_slice()],
    )
    .await?;
    let Some(r) = row else {
        return refused(RefreshRefusal::Unknown);
    };
    if get::<String>(&r, 3)? != t.client_id {
        return refused(RefreshRefusal::Unknown);
    }
    let family_id: String = get(&r, 0)?;
    let expires_at: i64 = get(&r, 1)?;
    let used: bool = get(&r, 2)?;
    let session_id: String = get(&r, 4)?;
    let scope: String = get(&r, 5)?;
    let family_expires_at: i64 = get(&r, 6)?;
    let revoked: bool = get(&r, 7)?;
    if revoked {
        return refused(RefreshRefusal::Revoked);
    }
    if used {
        // A rotated token came back: someone holds a copy. The whole family goes.
        revoke_family(tx, &family_id, now).await?;
        return refused(RefreshRefusal::Replayed);
    }
    if now >= expires_at || now >= family_expires_at {
        return refused(RefreshRefusal::Expired);
    }
    let Some(session) = session_grant(tx, &session_id).await?.filter(|s| s.live) else {
        revoke_family(tx, &family_id, now).await?;
        return refused(RefreshRefusal::Revoked);
    };
    if now.saturating_sub(session.last_seen) >= t.idle_secs {
        revoke_family(tx, &family_id, now).await?;
        return refused(RefreshRefusal::Expired);
    }
    let refresh_exp = t.refresh.expires_at.min(family_expires_at);
    let mut last = Last::default();
    last.add(
        "UPDATE sessions SET last_seen = $2 WHERE id = $1",
        params![&session_id, now],
    );
    last.add(
        "UPDATE refresh_tokens SET used_at = $2 WHERE hash = $1",
        params![t.hash.as_slice(), now],
    );
    add_refresh(&mut last, &t.refresh.hash, &family_id, now, refresh_exp);
    add_access(
        &mut last,
        AccessRow {
            hash: &t.access.hash,
            client_id: &t.client_id,
            account_id: &session.grant.account_id,
            family_id: Some(&family_id),
            scope: &scope,
            now,
            expires_at: t.access.expires_at,
        },
    );
    end_with(tx, last).await?;
    Ok(Refreshed::Granted(Box::new(TokenGrant {
        scope,
        refresh_expires_at: refresh_exp,
        ..session.grant
    })))
}

pub(in crate::store) async fn access(
    tx: &Tx<'_>,
    hash: &[u8; 32],
    now: i64,
) -> Result<Option<AccessGrant>, StoreError> {
    opt(
        tx,
        "SELECT t.client_id, t.account_id, a.kind, a.subject_name_id, a.given_name,
                a.family_name, a.profession
         FROM access_tokens t JOIN accounts a ON a.id = t.account_id
         LEFT JOIN token_families f ON f.id = t.family_id
         WHERE t.hash = $1 AND t.expires_at > $2
           AND (t.family_id IS NULL OR f.revoked_at IS NULL)",
        &[&hash.as_slice(), &now],
    )
    .await?
    .map(|r| {
        Ok(AccessGrant {
            client_id: get(&r, 0)?,
            account_id: get(&r, 1)?,
            kind: state(&r, 2)?,
            identity: Identity {
                subject_name_id: get(&r, 3)?,
                given_name: get(&r, 4)?,
                family_name: get(&r, 5)?,
                profession: get(&r, 6)?,
            },
        })
    })
    .transpose()
}
