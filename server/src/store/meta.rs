// SPDX-License-Identifier: Apache-2.0
//! Named values the server keeps (its signing keys, as PKCS#8).

use zeroize::Zeroizing;

use super::{sqlite, Store, StoreError};

/// The repository of named values.
pub(crate) struct Meta<'a> {
    pub(super) store: &'a Store,
}

impl Meta<'_> {
    /// The value stored under `key`, storing `fresh` first when there is none (blocking).
    pub(crate) fn value_or_insert(
        &self,
        key: &'static str,
        fresh: Zeroizing<Vec<u8>>,
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        self.store
            .db
            .write_blocking(move |tx| sqlite::meta::get_or_insert(tx, key, &fresh))
            .map(Zeroizing::new)
    }
}
