// SPDX-License-Identifier: Apache-2.0
//! SSO sessions of browsers (ADR 0002): opened by a phone approval, they answer later
//! authorization requests of any client without a new approval, within their absolute and
//! idle lifetimes, while the approving device is not revoked; logout ends them with the
//! token families they issued.

use super::tokens::NewCode;
use super::{postgres, sqlite, Store, StoreError};

/// A session to open.
#[derive(Debug, Clone)]
pub(crate) struct NewSession {
    /// Public session id (the ID token's `sid`).
    pub(crate) id: String,
    /// Key of the session cookie's secret (its time prefix and SHA-256: `ordered::token_key`).
    pub(crate) cookie_hash: [u8; 32],
    /// Absolute end.
    pub(crate) expires_at: i64,
}

/// An authorization request answered from the browser's session.
#[derive(Debug, Clone)]
pub(crate) struct SessionCode {
    /// Key of the session cookie's secret (its time prefix and SHA-256: `ordered::token_key`).
    pub(crate) cookie_hash: [u8; 32],
    /// Time of the request.
    pub(crate) now: i64,
    /// Seconds without use after which the session is over.
    pub(crate) idle_secs: i64,
    /// The request's `max_age`: the approval must be at most this old.
    pub(crate) max_age: Option<i64>,
    /// Whether a session opened by the offline code may answer (issue 16): not for a
    /// client that refuses the fallback or a request whose `acr_values` exclude it.
    pub(crate) offline_ok: bool,
    /// The code to store when the session answers.
    pub(crate) code: NewCode,
}

/// What asking the session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionGrant {
    /// The code is stored; the session's last use is now.
    Issued,
    /// No live session for this cookie: nothing written.
    NoSession,
    /// A live session whose approval is older than `max_age`: nothing written.
    TooOld,
}

/// A logout.
#[allow(dead_code)] // The logout endpoint's (branch tokens15).
#[derive(Debug, Clone)]
pub(crate) struct EndSession {
    /// Key of the browser's session cookie (`ordered::token_key`), if it sent one.
    pub(crate) cookie_hash: Option<[u8; 32]>,
    /// The `sid` of a verified `id_token_hint`.
    pub(crate) sid: Option<String>,
    /// Time of the logout.
    pub(crate) now: i64,
}

/// The repository of SSO sessions.
pub(crate) struct Sessions<'a> {
    pub(super) store: &'a Store,
}

impl Sessions<'_> {
    /// Answers an authorization request from the browser's session, if it can.
    pub(crate) async fn grant_code(&self, ask: SessionCode) -> Result<SessionGrant, StoreError> {
        self.store
            .write(ask, sqlite::sessions::grant_code, |tx, ask| {
                Box::pin(postgres::sessions::grant_code(tx, ask))
            })
            .await
    }

    /// Ends the sessions named (cookie, `sid`) and revokes their token families; the number
    /// of sessions ended.
    #[allow(dead_code)] // The logout endpoint's (branch tokens15).
    pub(crate) async fn end(&self, end: EndSession) -> Result<usize, StoreError> {
        self.store
            .write(end, sqlite::sessions::end, |tx, end| {
                Box::pin(postgres::sessions::end(tx, end))
            })
            .await
    }
}
