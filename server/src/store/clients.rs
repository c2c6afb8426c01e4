// SPDX-License-Identifier: Apache-2.0
//! Registered relying parties: their names, secret hashes, *code dynamique* modes, QR
//! audiences, registered redirect URIs (login and logout) and userinfo format.

use vistalid_core::protocol::CodeMode;

use super::{postgres, sqlite, Store, StoreError};

/// A registered relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientRecord {
    /// Client id.
    pub(crate) client_id: String,
    /// Name shown to users in challenges.
    pub(crate) name: String,
    /// SHA-256 of the client secret.
    pub(crate) secret_hash: [u8; 32],
    /// How its users prove they see the login page.
    pub(crate) mode: CodeMode,
    /// The QR audience it redeems for; `None`: audience-less QR codes only.
    pub(crate) audience: Option<String>,
    /// Its registered `redirect_uri` values (exact match).
    pub(crate) redirect_uris: Vec<String>,
    /// Its registered `post_logout_redirect_uri` values (exact match).
    pub(crate) post_logout_redirect_uris: Vec<String>,
    /// Whether userinfo answers it with a signed JWT (`userinfo_signed_response_alg=ES256`).
    pub(crate) userinfo_signed: bool,
    /// Whether its browser logins use scan mode (issue 16): the login page shows a QR code
    /// the phone must scan, and answers need its MAC.
    pub(crate) scan_login: bool,
}

/// A relying party to register.
#[derive(Debug, Clone)]
pub(crate) struct NewClient {
    /// Its record.
    pub(crate) record: ClientRecord,
    /// Registration time.
    pub(crate) created_at: i64,
}

/// The repository of relying parties.
pub(crate) struct Clients<'a> {
    pub(super) store: &'a Store,
}

impl Clients<'_> {
    /// Registers a relying party (blocking).
    pub(crate) fn add(&self, client: NewClient) -> Result<(), StoreError> {
        self.store
            .write_blocking(client, sqlite::clients::add, |tx, client| {
                Box::pin(postgres::clients::add(tx, client))
            })
    }

    /// Replaces a client's secret hash; `false` when no client has that id (blocking).
    pub(crate) fn set_secret(&self, client_id: &str, hash: [u8; 32]) -> Result<bool, StoreError> {
        let id = client_id.to_owned();
        self.store.write_blocking(
            (id, hash),
            |tx, (id, hash)| sqlite::clients::set_secret(tx, id, hash),
            |tx, (id, hash)| Box::pin(postgres::clients::set_secret(tx, id, hash)),
        )
    }

    /// Removes a client; `false` when no client has that id (blocking).
    pub(crate) fn remove(&self, client_id: &str) -> Result<bool, StoreError> {
        let id = client_id.to_owned();
        self.store.write_blocking(
            id,
            |tx, id| sqlite::clients::remove(tx, id),
            |tx, id| Box::pin(postgres::clients::remove(tx, id)),
        )
    }

    /// The record of `client_id`, if registered.
    pub(crate) async fn find(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let id = client_id.to_owned();
        self.store
            .read(
                id,
                |tx, id| sqlite::clients::find(tx, id),
                |tx, id| Box::pin(postgres::clients::find(tx, id)),
            )
            .await
    }
}
