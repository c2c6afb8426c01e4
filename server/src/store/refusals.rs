// SPDX-License-Identifier: Apache-2.0
//! Counts of attestation refusals (ADR 0001), by stage, wire code and reason, kept in the
//! database so the admin (another process) reads them and they survive restarts.
//!
//! Guarantee: the reason is a short name of the failed check (`AttestationRefusal::
//! reason_kind`), never text from the request, so the table stays small whatever is sent.

use vistalid_core::protocol::ErrorCode;

use super::{postgres, sqlite, Store, StoreError};
use crate::domain::RefusalStage;

/// One refusal to count.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefusalCount {
    /// Where it happened.
    pub(crate) stage: RefusalStage,
    /// `attestation_required` or `attestation_invalid`.
    pub(crate) code: ErrorCode,
    /// The failed check's short name.
    pub(crate) reason: &'static str,
    /// When.
    pub(crate) now: i64,
}

/// The count of one kind of refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RefusalTally {
    /// Where they happened.
    pub(crate) stage: RefusalStage,
    /// Their wire code.
    pub(crate) code: ErrorCode,
    /// The failed check's short name.
    pub(crate) reason: String,
    /// How many.
    pub(crate) count: i64,
    /// The last one's time.
    pub(crate) last_at: i64,
}

/// The repository of refusal counts.
pub(crate) struct Refusals<'a> {
    pub(super) store: &'a Store,
}

impl Refusals<'_> {
    /// Counts one refusal.
    pub(crate) async fn count(&self, refusal: RefusalCount) -> Result<(), StoreError> {
        self.store
            .write(refusal, sqlite::hardware::count_refusal, |tx, refusal| {
                Box::pin(postgres::hardware::count_refusal(tx, refusal))
            })
            .await
    }

    /// Every count, by stage, code and reason (blocking).
    pub(crate) fn tallies(&self) -> Result<Vec<RefusalTally>, StoreError> {
        self.store.read_blocking(
            (),
            |c, ()| sqlite::hardware::refusals(c),
            |tx, ()| Box::pin(postgres::hardware::refusals(tx)),
        )
    }
}
