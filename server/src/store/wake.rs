// SPDX-License-Identifier: Apache-2.0
//! Wake-ups that cross instances (issue 19): what a write announces to the long-polls of
//! every instance on the same database, and the listener that hears them.
//!
//! Guarantees: on PostgreSQL, a challenge queued ([`Wakeup::Device`]) or a request answered
//! ([`Wakeup::Request`]) on any instance reaches every instance's listener after the write
//! commits, never before and never for a write rolled back; the listener reports
//! [`Wakeup::Resync`] each time it (re)starts listening, since wake-ups sent in between are
//! lost. On SQLite (one instance) there is no listener: the in-process wake-ups suffice.

use super::{postgres, Backend, Store};

/// A wake-up heard from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wakeup {
    /// A challenge was queued for this device (its id).
    Device(String),
    /// This login request (its id) was answered.
    Request(String),
    /// The listener (re)started listening: wake-ups may have been lost, every waiter must
    /// re-read its state.
    Resync,
}

/// The listener of an instance, to run on a task of its own.
pub(crate) struct WakeListener(postgres::notify::Listener);

impl WakeListener {
    /// Listens until the task is dropped or aborted, calling `on` with each wake-up;
    /// reconnects by itself. Never returns.
    pub(crate) async fn run(self, on: impl FnMut(Wakeup) + Send) {
        self.0.run(on).await;
    }
}

impl Store {
    /// The listener of wake-ups from other instances: `None` on SQLite (one instance).
    pub(crate) fn wake_listener(&self) -> Option<WakeListener> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(pg) => Some(WakeListener(pg.listener())),
        }
    }
}
