// SPDX-License-Identifier: Apache-2.0
//! Login requests (CIBA and the browser login) and the signed challenge queued for each device
//! of the account: queueing (for a browser login, linked to its attempt in the same
//! transaction), the device's pending list, the device's answer, and the relying party's CIBA
//! token poll (which never grants a browser login's request).

use vistalid_core::protocol::{AccountKind, Decision, Identity, KeyStorage};

use super::{postgres, sqlite, Store, StoreError};
use crate::domain::attempt::Flow;
use crate::domain::guard::Policy;
use crate::domain::{AnswerOutcome, DenialReason};

/// A login request to queue, with one signed challenge per device.
#[derive(Debug, Clone)]
pub(crate) struct NewRequest {
    /// Request id (CIBA `auth_req_id`).
    pub(crate) id: String,
    /// The relying party that asked.
    pub(crate) client_id: String,
    /// The account asked.
    pub(crate) account_id: String,
    /// The *code dynamique* the login page shows.
    pub(crate) code: String,
    /// Requested scope.
    pub(crate) scope: String,
    /// Requested `acr_values`, kept with the request.
    pub(crate) acr_values: Option<String>,
    /// Creation time.
    pub(crate) created_at: i64,
    /// Expiry.
    pub(crate) expires_at: i64,
    /// Least seconds between token polls.
    pub(crate) interval_secs: i64,
    /// The signed challenges, one per device.
    pub(crate) challenges: Vec<NewChallenge>,
    /// The browser login attempt that asks (`None`: CIBA).
    pub(crate) attempt: Option<String>,
    /// Scan mode (issue 16): the attempt whose QR code's MAC its answers need.
    pub(crate) scan_attempt: Option<String>,
}

impl NewRequest {
    /// Which flow makes it.
    pub(crate) fn flow(&self) -> Flow {
        if self.attempt.is_some() {
            Flow::Browser
        } else {
            Flow::Ciba
        }
    }
}

/// One device's challenge.
#[derive(Debug, Clone)]
pub(crate) struct NewChallenge {
    /// Challenge id.
    pub(crate) id: String,
    /// The device it is for.
    pub(crate) device_id: String,
    /// The signed challenge (compact JWS).
    pub(crate) jws: String,
    /// Expiry.
    pub(crate) exp: i64,
}

/// What queueing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // `Queued::Queued` reads as what happened.
pub(crate) enum Queued {
    /// Queued.
    Queued,
    /// The account already has the most pending requests allowed; nothing was written.
    TooManyPending,
    /// The attempt cannot start a phone challenge now (answered, expired, out of retries, or
    /// one is still pending); nothing was written.
    AttemptClosed,
}

/// A device's signed (and checked) answer to record.
#[derive(Debug, Clone)]
pub(crate) struct AnswerTry {
    /// The challenge answered.
    pub(crate) challenge_id: String,
    /// The answering device (its signature was checked).
    pub(crate) device_id: String,
    /// The device's account.
    pub(crate) account_id: String,
    /// The user's decision.
    pub(crate) decision: Decision,
    /// The code given with an approval.
    pub(crate) code: Option<String>,
    /// Time of the answer.
    pub(crate) now: i64,
    /// The login guard's settings.
    pub(crate) policy: Policy,
    /// The App Attest counter the answer's assertion moves the device to, checked and set in
    /// the same transaction (`None`: no counter, Android or an unattested device).
    pub(crate) counter: Option<CounterStep>,
}

/// An App Attest counter to move with an answer: from `last` (as read with the device's
/// key) to `next`; refused when another answer moved it first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CounterStep {
    /// The counter the check was made against.
    pub(crate) last: u32,
    /// The assertion's counter (above `last`).
    pub(crate) next: u32,
}

/// What an answer did (a recorded answer is committed whatever its outcome).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answered {
    /// Recorded: the request is closed with this outcome, every device's challenge closed,
    /// the account's guard and counters updated.
    Recorded {
        /// What the answer did.
        outcome: AnswerOutcome,
        /// The request it answered (whose waiting pages to wake).
        request_id: String,
        /// The flow that made the request (for the metrics).
        flow: crate::domain::attempt::Flow,
    },
    /// Nothing was recorded, and why.
    Refused(AnswerRefusal),
}

/// Why an answer was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnswerRefusal {
    /// No such challenge.
    UnknownChallenge,
    /// The challenge was queued for another device.
    WrongDevice,
    /// The challenge or its request was answered before.
    AlreadyAnswered,
    /// The challenge or its request has expired.
    Expired,
    /// Another answer moved the device's App Attest counter since it was read (a replayed
    /// or concurrent assertion).
    CounterReplayed,
}

/// A relying party's token poll.
#[derive(Debug, Clone)]
pub(crate) struct TokenPoll {
    /// The request polled.
    pub(crate) auth_req_id: String,
    /// The authenticated client polling.
    pub(crate) client_id: String,
    /// Time of the poll.
    pub(crate) now: i64,
    /// Key of the access token to issue with a grant (`ordered::token_key`).
    pub(crate) access_token_hash: [u8; 32],
    /// Expiry of that access token.
    pub(crate) access_token_exp: i64,
    /// Seconds after the request's expiry during which an approval can still be redeemed.
    pub(crate) grace_secs: i64,
}

/// What an approved request grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// The account (the token's `sub`).
    pub(crate) account_id: String,
    /// Practitioner or insured.
    pub(crate) kind: AccountKind,
    /// Its identity claims.
    pub(crate) identity: Identity,
    /// When the user approved.
    pub(crate) auth_time: i64,
    /// Where the approving device's keystore keeps its key, as the wallet reported it.
    pub(crate) key_storage: KeyStorage,
    /// Whether the approving device has an attested hardware key (which co-signed the
    /// approval): the one case where the ID token says `hwk`.
    pub(crate) attested: bool,
}

/// What a token poll found (every outcome is committed: the poll's time is recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Poll {
    /// Approved: the token may be issued now, and the request is marked issued.
    Granted(Grant),
    /// Nothing to issue, and why.
    NotGranted(NotGranted),
}

/// Why a token poll grants nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotGranted {
    /// No such request for this client.
    Unknown,
    /// The token was issued before.
    AlreadyIssued,
    /// The user refused.
    Denied(DenialReason),
    /// The request expired before an approval (or the approval's grace passed).
    Expired,
    /// No answer yet.
    Pending,
    /// No answer yet, and polled faster than the interval.
    SlowDown,
}

/// The repository of login requests and challenges.
pub(crate) struct Requests<'a> {
    pub(super) store: &'a Store,
}

/// What the answer to a challenge must carry (scan mode, issue 16).
#[derive(Debug)]
pub(crate) enum ScanKey {
    /// No challenge has this id.
    NoChallenge,
    /// Not a scan-mode challenge: no MAC.
    Plain,
    /// A scan-mode challenge: a MAC keyed with this secret.
    Scan(vistalid_core::scan::ScanSecret),
    /// A scan-mode challenge whose attempt is gone (pruned): no MAC can verify.
    Gone,
}

impl Requests<'_> {
    /// Scan mode (issue 16): what the answer to challenge `id` must carry.
    pub(crate) async fn scan_key(&self, id: &str) -> Result<ScanKey, StoreError> {
        let id = id.to_owned();
        self.store
            .read(
                id,
                |tx, id| sqlite::scan::key_of(tx, id),
                |tx, id| Box::pin(postgres::scan::key_of(tx, id)),
            )
            .await
    }

    /// Queues a request and its challenges, unless the account already has `max_pending`
    /// pending unexpired requests.
    pub(crate) async fn queue(
        &self,
        request: NewRequest,
        max_pending: u32,
    ) -> Result<Queued, StoreError> {
        self.store
            .write(
                (request, max_pending),
                |tx, (request, max_pending)| sqlite::requests::queue(tx, request, *max_pending),
                |tx, (request, max_pending)| {
                    Box::pin(postgres::requests::queue(tx, request, *max_pending))
                },
            )
            .await
    }

    /// The signed challenges pending for `device_id` at `now`, oldest first.
    pub(crate) async fn pending_for_device(
        &self,
        device_id: &str,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let id = device_id.to_owned();
        self.store
            .read(
                (id, now),
                |tx, (id, now)| sqlite::requests::pending_for_device(tx, id, *now),
                |tx, (id, now)| Box::pin(postgres::requests::pending_for_device(tx, id, *now)),
            )
            .await
    }

    /// Records a device's answer to its challenge (the code compared in constant time).
    pub(crate) async fn answer(&self, answer: AnswerTry) -> Result<Answered, StoreError> {
        self.store
            .write(answer, sqlite::requests::answer, |tx, answer| {
                Box::pin(postgres::requests::answer(tx, answer))
            })
            .await
    }

    /// One token poll by the client that made the request.
    pub(crate) async fn poll(&self, poll: TokenPoll) -> Result<Poll, StoreError> {
        self.store
            .write(poll, sqlite::requests::poll, |tx, poll| {
                Box::pin(postgres::requests::poll(tx, poll))
            })
            .await
    }
}
