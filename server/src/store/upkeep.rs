// SPDX-License-Identifier: Apache-2.0
//! The store's upkeep: retention (pruning expired rows in small batches), the readiness
//! probe, and the figures the metrics show.
//!
//! Guarantees:
//! - [`Upkeep::prune`] deletes at most `limit` rows of one table per call, in one short
//!   write job, oldest expiry first, so the writer is never held long and logins queued
//!   behind it wait for one small batch only. A request's challenges go with it.
//! - Nothing still live is deleted: a row goes only once its expiry (a session: also its
//!   end) is more than `keep_secs` in the past; spent enrolment nonces and PIN-guard request
//!   ids go at their expiry (they only guard replays within their validity). Fraud reports,
//!   accounts, devices, clients and QR credentials are never pruned.
//! - [`Upkeep::ping`] answers only after a read and a write round trip (so "ready" means
//!   the reader pool and the writer thread both work).

use super::{postgres, sqlite, Store, StoreError};

/// A table group the retention prunes, in the order it visits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prunable {
    /// Enrolment nonces, at their expiry.
    EnrolNonces,
    /// Used PIN-guard request ids, at their expiry.
    PinGuardRequests,
    /// Used push-token registration request ids (issue 20), at their expiry.
    PushTokenRequests,
    /// Login requests (CIBA and browser) and their challenges (device answers).
    Requests,
    /// Browser login attempts.
    Attempts,
    /// SSO sessions (expired or ended).
    Sessions,
    /// Authorization codes.
    AuthorizationCodes,
    /// Access tokens.
    AccessTokens,
    /// Refresh tokens.
    RefreshTokens,
    /// Refresh-token families.
    TokenFamilies,
    /// Activation codes.
    ActivationCodes,
    /// QR redemptions (single-use presentation nonces).
    Redemptions,
}

impl Prunable {
    /// Every table group, in visiting order.
    pub(crate) const ALL: [Self; 12] = [
        Self::EnrolNonces,
        Self::PinGuardRequests,
        Self::PushTokenRequests,
        Self::Requests,
        Self::Attempts,
        Self::Sessions,
        Self::AuthorizationCodes,
        Self::AccessTokens,
        Self::RefreshTokens,
        Self::TokenFamilies,
        Self::ActivationCodes,
        Self::Redemptions,
    ];

    /// The table's name (a metrics label).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::EnrolNonces => "enrol_nonces",
            Self::PinGuardRequests => "pin_guard_requests",
            Self::PushTokenRequests => "push_token_requests",
            Self::Requests => "auth_requests",
            Self::Attempts => "login_attempts",
            Self::Sessions => "sessions",
            Self::AuthorizationCodes => "authorization_codes",
            Self::AccessTokens => "access_tokens",
            Self::RefreshTokens => "refresh_tokens",
            Self::TokenFamilies => "token_families",
            Self::ActivationCodes => "activation_codes",
            Self::Redemptions => "redemptions",
        }
    }
}

/// One pruning step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PruneStep {
    /// The table group.
    pub(crate) table: Prunable,
    /// The current time (seconds since the epoch).
    pub(crate) now: i64,
    /// Seconds a row is kept after its expiry.
    pub(crate) keep_secs: i64,
    /// Most rows of the group's main table deleted (`Requests`: most requests, each with its
    /// challenges).
    pub(crate) limit: usize,
}

/// Login requests waiting, by flow (read for the metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PendingCounts {
    /// CIBA requests not answered and not expired.
    pub(crate) ciba_pending: u64,
    /// Browser requests not answered and not expired.
    pub(crate) browser_pending: u64,
    /// CIBA requests past their expiry, never answered (kept until pruned).
    pub(crate) ciba_expired: u64,
    /// Browser requests past their expiry, never answered (kept until pruned).
    pub(crate) browser_expired: u64,
    /// Challenges pending and not expired.
    pub(crate) challenges: u64,
}

/// Figures of the database connections (backend-neutral names; a backend without a
/// figure reports 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DbFigures {
    /// Reader connections in the pool.
    pub(crate) readers: u64,
    /// Reads that found every reader busy and waited on the blocking pool.
    pub(crate) reader_waits: u64,
    /// Write jobs queued for the writer and not yet started.
    pub(crate) writer_queue: u64,
    /// Write transactions committed (group commits).
    pub(crate) write_batches: u64,
    /// Write jobs run.
    pub(crate) write_jobs: u64,
    /// Microseconds spent in write transactions, in total.
    pub(crate) write_busy_micros: u64,
}

/// What one pruning step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pruned {
    /// Rows deleted (a request's challenges included).
    pub(crate) rows: usize,
    /// Whether the batch was full (more rows may be waiting).
    pub(crate) full: bool,
}

/// The upkeep repository.
pub(crate) struct Upkeep<'a> {
    pub(super) store: &'a Store,
}

impl Upkeep<'_> {
    /// Deletes up to `step.limit` expired rows of `step.table` (see the module guarantees).
    pub(crate) async fn prune(&self, step: PruneStep) -> Result<Pruned, StoreError> {
        self.store
            .write(step, sqlite::upkeep::prune, |tx, step| {
                Box::pin(postgres::upkeep::prune(tx, step))
            })
            .await
    }

    /// A read and a write round trip; `Ok` when both worked.
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        self.store
            .read(
                (),
                |c, ()| sqlite::upkeep::ping(c),
                |tx, ()| Box::pin(postgres::upkeep::ping(tx)),
            )
            .await?;
        self.store
            .write(
                (),
                |_, ()| Ok(()),
                |tx, ()| Box::pin(postgres::upkeep::ping(tx)),
            )
            .await
    }

    /// Login requests and challenges waiting at `now`.
    pub(crate) async fn pending(&self, now: i64) -> Result<PendingCounts, StoreError> {
        self.store
            .read(
                now,
                |tx, now| sqlite::upkeep::pending(tx, *now),
                |tx, now| Box::pin(postgres::upkeep::pending(tx, *now)),
            )
            .await
    }

    /// The connections' figures now (no query).
    pub(crate) fn figures(&self) -> DbFigures {
        self.store.figures()
    }

    /// How much the database has been written to since start, as a count that only grows
    /// (no query): write jobs run by SQLite's writer thread, or transactions run on
    /// PostgreSQL (each retry counted). The retention compares two readings to tell whether
    /// other writes came in meanwhile.
    pub(crate) fn activity(&self) -> u64 {
        let f = self.store.figures();
        match self.store.backend {
            super::Backend::Sqlite(_) => f.write_jobs,
            super::Backend::Postgres(_) => f.write_batches,
        }
    }
}
