// SPDX-License-Identifier: Apache-2.0
//! QR credentials issued to insured devices, and the single-use record of every redeemed
//! presentation.

use vistalid_core::protocol::Identity;

use super::{postgres, sqlite, Store, StoreError};

/// A credential to record.
#[derive(Debug, Clone)]
pub(crate) struct NewCredential {
    /// Credential id (random bytes).
    pub(crate) id: Vec<u8>,
    /// The insured's account.
    pub(crate) account_id: String,
    /// The device whose key it binds.
    pub(crate) device_id: String,
    /// Issue time.
    pub(crate) issued_at: i64,
    /// Expiry.
    pub(crate) expires_at: i64,
}

/// Who a credential was issued to, as a redemption needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Presenter {
    /// The key the credential binds, SEC1 uncompressed: the device-tier key of a device
    /// enrolled with a PIN guard (it signs the presentations), else the device key.
    pub(crate) public_key: Vec<u8>,
    /// Whether that device was revoked.
    pub(crate) revoked: bool,
    /// The credential's expiry.
    pub(crate) expires_at: i64,
    /// The insured's identity.
    pub(crate) identity: Identity,
}

/// A presentation to redeem once.
#[derive(Debug, Clone)]
pub(crate) struct NewRedemption {
    /// The presentation's nonce (its single-use key).
    pub(crate) nonce: Vec<u8>,
    /// The credential it refers to.
    pub(crate) credential_id: Vec<u8>,
    /// The redeeming client.
    pub(crate) client_id: String,
    /// Time of the redemption.
    pub(crate) now: i64,
    /// The presentation's expiry (the record is kept an hour beyond it).
    pub(crate) expires_at: i64,
}

/// What a redemption did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Redemption {
    /// First use: recorded.
    Fresh,
    /// Redeemed before.
    AlreadyRedeemed,
}

/// The repository of QR credentials and redemptions.
pub(crate) struct Credentials<'a> {
    pub(super) store: &'a Store,
}

impl Credentials<'_> {
    /// Records an issued credential.
    pub(crate) async fn record(&self, credential: NewCredential) -> Result<(), StoreError> {
        self.store
            .write(credential, sqlite::credentials::record, |tx, credential| {
                Box::pin(postgres::credentials::record(tx, credential))
            })
            .await
    }

    /// Who credential `id` was issued to, if it exists.
    pub(crate) async fn presenter(&self, id: &[u8]) -> Result<Option<Presenter>, StoreError> {
        let id = id.to_vec();
        self.store
            .read(
                id,
                |tx, id| sqlite::credentials::presenter(tx, id),
                |tx, id| Box::pin(postgres::credentials::presenter(tx, id)),
            )
            .await
    }

    /// Redeems a presentation once (and drops records expired over an hour ago).
    pub(crate) async fn redeem(&self, redemption: NewRedemption) -> Result<Redemption, StoreError> {
        self.store
            .write(redemption, sqlite::credentials::redeem, |tx, redemption| {
                Box::pin(postgres::credentials::redeem(tx, redemption))
            })
            .await
    }
}
