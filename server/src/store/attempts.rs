// SPDX-License-Identifier: Apache-2.0
//! Browser login attempts (ADR 0002): what the authorization endpoint asked, the browser the
//! attempt is bound to (its cookie's hash), the identifier step's outcome, its current phone
//! request, and how it ended (a code, or a refusal sent back to the client).

use std::sync::Arc;

use vistalid_core::protocol::CodeMode;
use vistalid_core::scan::ScanSecret;

use super::sessions::NewSession;
use super::tokens::NewCode;
use super::{postgres, sqlite, Store, StoreError};
use crate::domain::attempt::{AttemptFacts, HoldReason};
use crate::domain::lang::Lang;

/// A login attempt to create (the authorization request, checked).
#[derive(Debug, Clone)]
pub(crate) struct NewAttempt {
    /// Attempt id (random, in the page's URL).
    pub(crate) id: String,
    /// SHA-256 of the attempt cookie's secret.
    pub(crate) cookie_hash: [u8; 32],
    /// The CSRF token of its forms.
    pub(crate) csrf: String,
    /// The client that asked.
    pub(crate) client_id: String,
    /// Its registered redirect URI that the answer goes to.
    pub(crate) redirect_uri: String,
    /// The client's `state`.
    pub(crate) state: Option<String>,
    /// The client's `nonce`.
    pub(crate) nonce: Option<String>,
    /// The PKCE S256 `code_challenge`.
    pub(crate) code_challenge: String,
    /// The granted scope.
    pub(crate) scope: String,
    /// The `acr_values` asked.
    pub(crate) acr_values: Option<String>,
    /// The `login_hint` that pre-fills the identifier.
    pub(crate) login_hint: Option<String>,
    /// The page's language.
    pub(crate) lang: Lang,
    /// Creation time.
    pub(crate) created_at: i64,
    /// Expiry.
    pub(crate) expires_at: i64,
    /// Scan mode (issue 16): the secret of the attempt's QR code.
    pub(crate) scan_secret: Option<Arc<ScanSecret>>,
}

/// The current phone request of an attempt, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttemptRequest {
    /// Request id (the wake-up key of its answer).
    pub(crate) id: String,
    /// The *code dynamique*.
    pub(crate) code: String,
}

/// An attempt as its pages and the continue step need it.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    /// Attempt id.
    pub(crate) id: String,
    /// SHA-256 of its cookie's secret.
    pub(crate) cookie_hash: [u8; 32],
    /// The CSRF token of its forms.
    pub(crate) csrf: String,
    /// The client.
    pub(crate) client_id: String,
    /// The client's registered name (shown as the service).
    pub(crate) client_name: String,
    /// The client's *code dynamique* mode.
    pub(crate) mode: CodeMode,
    /// Where the answer goes.
    pub(crate) redirect_uri: String,
    /// The client's `state`.
    pub(crate) state: Option<String>,
    /// The client's `nonce`.
    pub(crate) nonce: Option<String>,
    /// The PKCE S256 `code_challenge`.
    pub(crate) code_challenge: String,
    /// The granted scope.
    pub(crate) scope: String,
    /// The `acr_values` asked.
    pub(crate) acr_values: Option<String>,
    /// The page's language.
    pub(crate) lang: Lang,
    /// The `login_hint` that pre-fills the identifier.
    pub(crate) login_hint: Option<String>,
    /// The account the identifier named, once one matched.
    pub(crate) account_id: Option<String>,
    /// What its state is derived from.
    pub(crate) facts: AttemptFacts,
    /// The current phone request.
    pub(crate) request: Option<AttemptRequest>,
    /// Names of the account's active devices, oldest first.
    pub(crate) devices: Vec<String>,
    /// Scan mode (issue 16): the secret of the attempt's QR code (set once, kept for the
    /// attempt's lifetime).
    pub(crate) scan_secret: Option<Arc<ScanSecret>>,
}

/// Why the identifier step (or a retry) started no phone challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StopTry {
    /// Unknown identifier, or no active device.
    NoDevice,
    /// The login guard holds the account.
    Held {
        /// The account.
        account_id: String,
        /// Why.
        reason: HoldReason,
        /// Until when.
        until: i64,
    },
}

/// What recording a stop did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// Recorded.
    Stopped,
    /// The attempt is answered, expired, or has a pending phone challenge; nothing written.
    Closed,
}

/// The continue step after an approval: the code, and the session it opens.
#[derive(Debug, Clone)]
pub(crate) struct CodeFromAttempt {
    /// The attempt.
    pub(crate) attempt_id: String,
    /// Time of the step.
    pub(crate) now: i64,
    /// The authorization code (the rest is the attempt's).
    pub(crate) code: NewCode,
    /// The SSO session the approval opens.
    pub(crate) session: NewSession,
    /// SHA-256 of the browser's previous session cookie, ended now.
    pub(crate) replaces: Option<[u8; 32]>,
}

/// What the continue step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Continued {
    /// The code is stored, the session opened, the attempt done.
    Issued,
    /// The attempt's request is not approved (or the attempt expired): nothing written.
    NotApproved,
    /// The attempt was done before: nothing written.
    Closed,
}

/// The repository of login attempts.
pub(crate) struct Attempts<'a> {
    pub(super) store: &'a Store,
}

impl Attempts<'_> {
    /// Stores a new attempt.
    pub(crate) async fn create(&self, attempt: NewAttempt) -> Result<(), StoreError> {
        self.store
            .write(attempt, sqlite::attempts::create, |tx, attempt| {
                Box::pin(postgres::attempts::create(tx, attempt))
            })
            .await
    }

    /// The attempt `id`, with its client, request and the account's device names.
    pub(crate) async fn find(&self, id: &str) -> Result<Option<Attempt>, StoreError> {
        let id = id.to_owned();
        self.store
            .read(
                id,
                |tx, id| sqlite::attempts::find(tx, id),
                |tx, id| Box::pin(postgres::attempts::find(tx, id)),
            )
            .await
    }

    /// Records why the identifier step (or a retry) started no phone challenge.
    pub(crate) async fn stop(
        &self,
        id: &str,
        stop: StopTry,
        now: i64,
    ) -> Result<Stopped, StoreError> {
        let id = id.to_owned();
        self.store
            .write(
                (id, stop, now),
                |tx, (id, stop, now)| sqlite::attempts::stop(tx, id, stop, *now),
                |tx, (id, stop, now)| Box::pin(postgres::attempts::stop(tx, id, stop, *now)),
            )
            .await
    }

    /// After an approval: stores the code, opens the session, marks the attempt done.
    pub(crate) async fn issue_code(&self, step: CodeFromAttempt) -> Result<Continued, StoreError> {
        self.store
            .write(step, sqlite::attempts::issue_code, |tx, step| {
                Box::pin(postgres::attempts::issue_code(tx, step))
            })
            .await
    }

    /// Scan mode (issue 16): gives attempt `id` the secret of its QR code, unless it has one
    /// or is done; `false` when nothing was written.
    pub(crate) async fn enable_scan(
        &self,
        id: &str,
        secret: Arc<ScanSecret>,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.store
            .write(
                (id, secret),
                |tx, (id, secret)| sqlite::scan::enable(tx, id, secret),
                |tx, (id, secret)| Box::pin(postgres::scan::enable(tx, id, secret)),
            )
            .await
    }

    /// Marks the attempt done without a code (a refusal sent back); `false` when it was done
    /// before.
    pub(crate) async fn finish(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.store
            .write(
                (id, now),
                |tx, (id, now)| sqlite::attempts::finish(tx, id, *now),
                |tx, (id, now)| Box::pin(postgres::attempts::finish(tx, id, *now)),
            )
            .await
    }
}
