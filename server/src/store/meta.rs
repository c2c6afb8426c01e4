// SPDX-License-Identifier: Apache-2.0
//! Named values the server keeps (its signing keys, as PKCS#8).

use zeroize::Zeroizing;

use super::{postgres, sqlite, Store, StoreError};

/// The repository of named values.
pub(crate) struct Meta<'a> {
    pub(super) store: &'a Store,
}

impl Meta<'_> {
    /// The value stored under `key`, if any (blocking).
    pub(crate) fn value(
        &self,
        key: &'static str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        self.store
            .read_blocking(
                key,
                |tx, key| sqlite::meta::get(tx, key),
                |tx, key| Box::pin(postgres::meta::get_value(tx, key)),
            )
            .map(|v| v.map(Zeroizing::new))
    }

    /// Deletes the value stored under `key` (blocking).
    pub(crate) fn remove(&self, key: &'static str) -> Result<(), StoreError> {
        self.store.write_blocking(
            key,
            |tx, key| sqlite::meta::remove(tx, key),
            |tx, key| Box::pin(postgres::meta::remove(tx, key)),
        )
    }
}
