// SPDX-License-Identifier: Apache-2.0
//! SQL of the `clients` table.

use rusqlite::{Connection, OptionalExtension as _};

use super::{state, Tx};
use crate::domain::{Stored as _, UriKind};
use crate::store::{ClientRecord, NewClient, StoreError};

pub(in crate::store) fn add(tx: &Tx<'_>, c: &NewClient) -> Result<(), StoreError> {
    let r = &c.record;
    tx.prepare_cached(
        "INSERT INTO clients (client_id, name, secret_hash, mode, audience, userinfo_signed,
             created_at, scan_login) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(rusqlite::params![
        r.client_id,
        r.name,
        r.secret_hash.as_slice(),
        r.mode.as_stored(),
        r.audience,
        r.userinfo_signed,
        c.created_at,
        r.scan_login
    ])?;
    let mut uri = tx.prepare_cached(
        "INSERT OR IGNORE INTO client_uris (client_id, kind, uri) VALUES (?1, ?2, ?3)",
    )?;
    for (kind, list) in [
        (UriKind::Redirect, &r.redirect_uris),
        (UriKind::PostLogout, &r.post_logout_redirect_uris),
    ] {
        for u in list {
            uri.execute(rusqlite::params![r.client_id, kind.as_stored(), u])?;
        }
    }
    Ok(())
}

pub(in crate::store) fn set_secret(
    tx: &Tx<'_>,
    client_id: &str,
    hash: &[u8; 32],
) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached("UPDATE clients SET secret_hash = ?2 WHERE client_id = ?1")?
        .execute(rusqlite::params![client_id, hash.as_slice()])?;
    Ok(n > 0)
}

pub(in crate::store) fn remove(tx: &Tx<'_>, client_id: &str) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached("DELETE FROM clients WHERE client_id = ?1")?
        .execute([client_id])?;
    Ok(n > 0)
}

pub(in crate::store) fn find(
    c: &Connection,
    client_id: &str,
) -> Result<Option<ClientRecord>, StoreError> {
    let row = c
        .prepare_cached(
            "SELECT client_id, name, secret_hash, mode, audience, userinfo_signed, scan_login
             FROM clients WHERE client_id = ?1",
        )?
        .query_row([client_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                state(r, 3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, bool>(5)?,
                r.get::<_, bool>(6)?,
            ))
        })
        .optional()?;
    let Some((client_id, name, hash, mode, audience, userinfo_signed, scan_login)) = row else {
        return Ok(None);
    };
    let mut redirect_uris = Vec::new();
    let mut post_logout_redirect_uris = Vec::new();
    let mut rows =
        c.prepare_cached("SELECT kind, uri FROM client_uris WHERE client_id = ?1 ORDER BY rowid")?;
    for row in rows.query_map([&client_id], |r| Ok((state(r, 0)?, r.get::<_, String>(1)?)))? {
        match row? {
            (UriKind::Redirect, u) => redirect_uris.push(u),
            (UriKind::PostLogout, u) => post_logout_redirect_uris.push(u),
        }
    }
    let secret_hash = hash
        .try_into()
        .map_err(|_| StoreError::Corrupt("clients.secret_hash"))?;
    Ok(Some(ClientRecord {
        client_id,
        name,
        secret_hash,
        mode,
        audience,
        redirect_uris,
        post_logout_redirect_uris,
        userinfo_signed,
        scan_login,
    }))
}
