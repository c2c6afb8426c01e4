// SPDX-License-Identifier: Apache-2.0
//! SQL of the `clients` table.

use super::{all, exec, get, opt, state, Tx};
use crate::domain::{Stored as _, UriKind};
use crate::store::{ClientRecord, NewClient, StoreError};

pub(in crate::store) async fn add(tx: &Tx<'_>, c: &NewClient) -> Result<(), StoreError> {
    let r = &c.record;
    exec(
        tx,
        "INSERT INTO clients (client_id, name, secret_hash, mode, audience, userinfo_signed,
             created_at, scan_login) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &r.client_id,
            &r.name,
            &r.secret_hash.as_slice(),
            &r.mode.as_stored(),
            &r.audience,
            &r.userinfo_signed,
            &c.created_at,
            &r.scan_login,
        ],
    )
    .await?;
    for (kind, list) in [
        (UriKind::Redirect, &r.redirect_uris),
        (UriKind::PostLogout, &r.post_logout_redirect_uris),
    ] {
        for u in list {
            exec(
                tx,
                "INSERT INTO client_uris (client_id, kind, uri) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&r.client_id, &kind.as_stored(), u],
            )
            .await?;
        }
    }
    Ok(())
}

pub(in crate::store) async fn set_secret(
    tx: &Tx<'_>,
    client_id: &str,
    hash: &[u8; 32],
) -> Result<bool, StoreError> {
    let n = exec(
        tx,
        "UPDATE clients SET secret_hash = $2 WHERE client_id = $1",
        &[&client_id, &hash.as_slice()],
    )
    .await?;
    Ok(n > 0)
}

pub(in crate::store) async fn remove(tx: &Tx<'_>, client_id: &str) -> Result<bool, StoreError> {
    let n = exec(
        tx,
        "DELETE FROM clients WHERE client_id = $1",
        &[&client_id],
    )
    .await?;
    Ok(n > 0)
}

pub(in crate::store) async fn find(
    tx: &Tx<'_>,
    client_id: &str,
) -> Result<Option<ClientRecord>, StoreError> {
    let Some(r) = opt(
        tx,
        "SELECT client_id, name, secret_hash, mode, audience, userinfo_signed, scan_login
         FROM clients WHERE client_id = $1",
        &[&client_id],
    )
    .await?
    else {
        return Ok(None);
    };
    let client_id: String = get(&r, 0)?;
    let mut redirect_uris = Vec::new();
    let mut post_logout_redirect_uris = Vec::new();
    for row in all(
        tx,
        "SELECT kind, uri FROM client_uris WHERE client_id = $1 ORDER BY seq",
        &[&client_id],
    )
    .await?
    {
        match (state(&row, 0)?, get::<String>(&row, 1)?) {
            (UriKind::Redirect, u) => redirect_uris.push(u),
            (UriKind::PostLogout, u) => post_logout_redirect_uris.push(u),
        }
    }
    let hash: Vec<u8> = get(&r, 2)?;
    let secret_hash = hash
        .try_into()
        .map_err(|_| StoreError::Corrupt("clients.secret_hash"))?;
    Ok(Some(ClientRecord {
        client_id,
        name: get(&r, 1)?,
        secret_hash,
        mode: state(&r, 3)?,
        audience: get(&r, 4)?,
        redirect_uris,
        post_logout_redirect_uris,
        userinfo_signed: get(&r, 5)?,
        scan_login: get(&r, 6)?,
    }))
}
