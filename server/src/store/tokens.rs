// SPDX-License-Identifier: Apache-2.0
//! Authorization codes, access tokens and refresh-token families (ADR 0002). Every token is
//! stored under a key of its value: its creation time and its SHA-256 (`ordered::token_key`;
//! tokens made before time-ordered tokens, under their SHA-256).
//!
//! Guarantees:
//! - A code works once, for its client, its redirect URI and its PKCE verifier, before its
//!   expiry; a second use revokes the family (and its access tokens) the first use opened.
//! - A refresh token works once; the one it is exchanged for is in the same family. A used one
//!   presented again revokes the whole family. A family ends with its session (logout, its
//!   absolute end, its idle end, a revoked device); a refresh is a use of the session.
//! - An access token answers userinfo until its expiry while its family stands.

use vistalid_core::protocol::{AccountKind, Identity, KeyStorage};

use super::{postgres, sqlite, Store, StoreError};

/// An authorization code to store.
#[derive(Debug, Clone)]
pub(crate) struct NewCode {
    /// Key of the code (its time prefix and SHA-256: `ordered::token_key`).
    pub(crate) hash: [u8; 32],
    /// The client it is for.
    pub(crate) client_id: String,
    /// The redirect URI it was sent to.
    pub(crate) redirect_uri: String,
    /// The PKCE S256 challenge.
    pub(crate) code_challenge: String,
    /// The client's `nonce`.
    pub(crate) nonce: Option<String>,
    /// The granted scope.
    pub(crate) scope: String,
    /// Expiry.
    pub(crate) expires_at: i64,
}

/// A token to store (access or refresh).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewToken {
    /// Key of the token (its time prefix and SHA-256: `ordered::token_key`).
    pub(crate) hash: [u8; 32],
    /// Expiry (a refresh token's is cut at its family's end).
    pub(crate) expires_at: i64,
}

/// A code exchange at the token endpoint.
#[derive(Debug, Clone)]
pub(crate) struct CodeExchange {
    /// Key of the code presented (`ordered::token_key`).
    pub(crate) code_hash: [u8; 32],
    /// The authenticated client.
    pub(crate) client_id: String,
    /// The `redirect_uri` presented.
    pub(crate) redirect_uri: String,
    /// The S256 challenge of the `code_verifier` presented.
    pub(crate) verifier_challenge: String,
    /// Time of the exchange.
    pub(crate) now: i64,
    /// Id of the refresh-token family to open.
    pub(crate) family_id: String,
    /// The access token to issue.
    pub(crate) access: NewToken,
    /// The refresh token to issue.
    pub(crate) refresh: NewToken,
}

/// What a code or refresh grants: who logged in and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenGrant {
    /// The account (`sub`).
    pub(crate) account_id: String,
    /// Practitioner or insured.
    pub(crate) kind: AccountKind,
    /// Its identity claims.
    pub(crate) identity: Identity,
    /// The phone approval's time.
    pub(crate) auth_time: i64,
    /// Where the approving device's key is, as proven: `Hardware` only for a key its
    /// attestation verified at enrolment.
    pub(crate) key_storage: KeyStorage,
    /// Whether the session was opened by the offline code (issue 16): `amr` `otp` and `pin`,
    /// and the offline `acr`.
    pub(crate) offline: bool,
    /// The client's `nonce` (codes only).
    pub(crate) nonce: Option<String>,
    /// The session (`sid`).
    pub(crate) sid: String,
    /// The granted scope.
    pub(crate) scope: String,
    /// The refresh token's expiry.
    pub(crate) refresh_expires_at: i64,
}

/// Why a code exchange granted nothing (every outcome is committed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExchangeRefusal {
    /// No such code for this client.
    Unknown,
    /// The code expired.
    Expired,
    /// The code was used before: what that use issued is revoked now.
    Replayed,
    /// Another `redirect_uri` than the code's.
    WrongRedirect,
    /// The `code_verifier` does not match the code's challenge.
    WrongVerifier,
    /// The session behind the code ended, or its device was revoked.
    SessionEnded,
}

/// What a code exchange did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exchanged {
    /// Granted: the code is used, the family opened, both tokens stored.
    Granted(Box<TokenGrant>),
    /// Nothing issued, and why.
    Refused(ExchangeRefusal),
}

/// A refresh at the token endpoint.
#[derive(Debug, Clone)]
pub(crate) struct RefreshTry {
    /// Key of the refresh token presented (`ordered::token_key`).
    pub(crate) hash: [u8; 32],
    /// The authenticated client.
    pub(crate) client_id: String,
    /// Time of the refresh.
    pub(crate) now: i64,
    /// Seconds without use after which the session (and so the family) is over.
    pub(crate) idle_secs: i64,
    /// The access token to issue.
    pub(crate) access: NewToken,
    /// The refresh token to issue in its place.
    pub(crate) refresh: NewToken,
}

/// Why a refresh granted nothing (every outcome is committed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshRefusal {
    /// No such refresh token for this client.
    Unknown,
    /// It expired, or its family ended.
    Expired,
    /// Its family was revoked (logout, replay, a replayed code, a revoked device).
    Revoked,
    /// It was used before: the whole family is revoked now.
    Replayed,
}

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refreshed {
    /// Granted: the old token is used, the new ones stored.
    Granted(Box<TokenGrant>),
    /// Nothing issued, and why.
    Refused(RefreshRefusal),
}

/// What a live access token lets userinfo say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccessGrant {
    /// The client it was issued to.
    pub(crate) client_id: String,
    /// The account (`sub`).
    pub(crate) account_id: String,
    /// Practitioner or insured.
    pub(crate) kind: AccountKind,
    /// Its identity claims.
    pub(crate) identity: Identity,
}

/// The repository of codes and tokens.
pub(crate) struct Tokens<'a> {
    pub(super) store: &'a Store,
}

impl Tokens<'_> {
    /// Exchanges a code (see the module guarantees).
    pub(crate) async fn exchange_code(&self, x: CodeExchange) -> Result<Exchanged, StoreError> {
        self.store
            .write(x, sqlite::tokens::exchange_code, |tx, x| {
                Box::pin(postgres::tokens::exchange_code(tx, x))
            })
            .await
    }

    /// Exchanges a refresh token (see the module guarantees).
    pub(crate) async fn refresh(&self, r: RefreshTry) -> Result<Refreshed, StoreError> {
        self.store
            .write(r, sqlite::tokens::refresh, |tx, r| {
                Box::pin(postgres::tokens::refresh(tx, r))
            })
            .await
    }

    /// What the access token hashing to `hash` grants at `now`, if it is live.
    pub(crate) async fn access(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> Result<Option<AccessGrant>, StoreError> {
        self.store
            .read(
                (hash, now),
                |tx, (hash, now)| sqlite::tokens::access(tx, hash, *now),
                |tx, (hash, now)| Box::pin(postgres::tokens::access(tx, hash, *now)),
            )
            .await
    }
}
