// SPDX-License-Identifier: Apache-2.0
//! The error of starting, running and administering the server (the API's JSON errors are
//! `api`'s).
//!
//! Guarantees: no variant carries a secret; an invalid argument or setting is named.

use std::net::SocketAddr;

use vistalid_core::keys::KeyError;

use crate::secrets::SecretsError;
use crate::store::StoreError;

/// Errors of starting, running and administering the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The database could not be opened, migrated, read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The stored server key is not a valid ES256 key.
    #[error("server key: {0}")]
    Key(#[from] KeyError),
    /// The OS random generator failed.
    #[error(transparent)]
    Random(#[from] SecretsError),
    /// The configuration is invalid (the message names the setting).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An admin argument is invalid (the message names which and why).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// An account with that identifier already exists.
    #[error("an account with that identifier already exists")]
    DuplicateAccount,
    /// No such account, device or client.
    #[error("not found: {0}")]
    NotFound(&'static str),
}
