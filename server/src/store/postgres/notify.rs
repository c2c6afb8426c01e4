// SPDX-License-Identifier: Apache-2.0
//! Wake-ups across instances (issue 19): a write that queues a challenge or answers a
//! request sends a `NOTIFY` in its own transaction, and each instance's listener, on a
//! connection of its own (not from the pool), `LISTEN`s and hands every notification to the
//! instance's waiters.
//!
//! Guarantees:
//! - A notification is sent by the transaction of the write it announces ([`announce`],
//!   or `pg_notify!` folded into one of the write's own statements), so PostgreSQL
//!   delivers it only if that transaction commits, after the commit; a try aborted and run
//!   again (serialization failure) announces nothing.
//! - The payload is a kind letter and an id that the database already holds in clear (a
//!   device id, a request id): never a code, a token or a key.
//! - The channel is named after the schema of the connection (`vistalid_wake_<schema>`), so
//!   servers on different schemas of one database (the test suites) do not wake each other.
//! - The listener makes its own connection (application name
//!   [`LISTENER_APPLICATION_NAME`]), reconnects by itself after any failure with a back-off
//!   doubling from [`BACKOFF_MIN`] to [`BACKOFF_MAX`], and checks an idle connection every
//!   [`PING_EVERY`] (by listening again: `pg_stat_activity.query` keeps naming the
//!   channel). Notifications sent while it is not listening are lost, so every time
//!   it starts listening (the first time too) it reports [`Wakeup::Resync`]: every waiter
//!   must re-read its state.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use super::{PgConnector, Tx};
use crate::store::wake::Wakeup;
use crate::store::StoreError;

/// The application name of the listener's connection (`pg_stat_activity.application_name`).
pub const LISTENER_APPLICATION_NAME: &str = "vistalid-server-listener";

/// The channel's name without its schema.
const CHANNEL_PREFIX: &str = "vistalid_wake_";

/// First pause before a reconnection.
pub(crate) const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// Longest pause between two reconnections.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often an idle listener checks its connection (a silent network loss).
pub(crate) const PING_EVERY: Duration = Duration::from_secs(15);

/// The payload of `w`: its kind letter and its id (`None`: nothing to announce).
pub(super) fn payload(w: &Wakeup) -> Option<String> {
    match w {
        Wakeup::Device(id) => Some(format!("d:{id}")),
        Wakeup::Request(id) => Some(format!("r:{id}")),
        Wakeup::Resync => None,
    }
}

/// The wake-up a payload names (`None` for a payload this server does not know).
fn parse(payload: &str) -> Option<Wakeup> {
    match payload.split_once(':')? {
        ("d", id) if !id.is_empty() => Some(Wakeup::Device(id.to_owned())),
        ("r", id) if !id.is_empty() => Some(Wakeup::Request(id.to_owned())),
        _ => None,
    }
}

/// The `LISTEN` statement of the channel of `schema` (`LISTEN "vistalid_wake_<schema>"`).
pub(crate) fn listen_statement(schema: &str) -> String {
    let channel = format!("{CHANNEL_PREFIX}{schema}").replace('"', "\"\"");
    format!("LISTEN \"{channel}\"")
}

/// The SQL call that announces the payload in parameter `$n` on this schema's channel, for
/// a statement to fold in (`… RETURNING pg_notify(…)`: no statement of its own), as
/// [`announce`] does on its own.
macro_rules! pg_notify {
    ($n:literal) => {
        concat!("pg_notify('vistalid_wake_' || current_schema(), $", $n, ")")
    };
}
pub(super) use pg_notify;

/// Announces `w` to every instance's listener when `tx` commits.
pub(super) async fn announce(tx: &Tx<'_>, w: &Wakeup) -> Result<(), StoreError> {
    let Some(text) = payload(w) else {
        return Ok(());
    };
    super::exec(tx, concat!("SELECT ", pg_notify!(1)), &[&text]).await?;
    Ok(())
}

/// The listener of one instance: connects, listens and reconnects (see the module
/// guarantees).
pub(crate) struct Listener {
    config: tokio_postgres::Config,
    tls: PgConnector,
}

impl Listener {
    /// A listener on the database of `config` (the pool's settings, its own application
    /// name), connecting as the pool does (`tls`: the URL's `sslmode` and `sslrootcert`).
    pub(super) fn new(config: &tokio_postgres::Config, tls: &PgConnector) -> Self {
        let mut config = config.clone();
        config.application_name(LISTENER_APPLICATION_NAME);
        Self {
            config,
            tls: tls.clone(),
        }
    }

    /// Listens until the task is dropped or aborted, calling `on` with each wake-up (and
    /// with [`Wakeup::Resync`] each time it starts listening). Never returns.
    pub(crate) async fn run(self, mut on: impl FnMut(Wakeup) + Send) {
        let mut pause = BACKOFF_MIN;
        loop {
            match self.listen_once(&mut on).await {
                // It listened, then lost the connection: try again soon.
                Ok(()) => {
                    pause = BACKOFF_MIN;
                    tracing::warn!("wake-up listener lost its database connection; reconnecting");
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_ms = pause.as_millis() as u64, "wake-up listener cannot listen; retrying");
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(BACKOFF_MAX);
        }
    }

    /// One connection: connects, listens, reports [`Wakeup::Resync`] then every
    /// notification; `Ok` when a connection that listened ended, `Err` when it could not
    /// listen.
    async fn listen_once(&self, on: &mut (impl FnMut(Wakeup) + Send)) -> Result<(), StoreError> {
        let (client, mut connection) = self.config.connect(self.tls.clone()).await?;
        // The connection is driven by a task of its own, which passes the notifications on;
        // the channel closes when the connection ends.
        let (sender, mut notes) = mpsc::unbounded_channel();
        let _driver = AbortOnDrop(tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(n))) => {
                        if sender.send(n.payload().to_owned()).is_err() {
                            break;
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "wake-up listener connection ended");
                        break;
                    }
                    None => break,
                }
            }
        }));
        let listen = async {
            let schema: String = client
                .query_one("SELECT current_schema()", &[])
                .await?
                .try_get(0)?;
            let listen = listen_statement(&schema);
            client.batch_execute(&listen).await?;
            Ok::<_, StoreError>(listen)
        }
        .await?;
        // Anything sent before this point was missed: every waiter re-reads.
        on(Wakeup::Resync);
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                note = notes.recv() => match note {
                    Some(text) => match parse(&text) {
                        Some(w) => on(w),
                        None => tracing::debug!("wake-up listener ignored an unknown payload"),
                    },
                    None => break,
                },
                _ = ping.tick() => {
                    // Listening again is a no-op that proves the connection (and keeps
                    // `pg_stat_activity.query` naming the channel).
                    let alive = tokio::time::timeout(BACKOFF_MAX, client.batch_execute(&listen)).await;
                    if !matches!(alive, Ok(Ok(_))) {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A task aborted when this handle is dropped (the connection's driver ends with the
/// listener, also when the listener's own task is aborted at shutdown).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_unknown_ones_are_ignored() {
        for w in [
            Wakeup::Device("dev-1".into()),
            Wakeup::Request("req:with:colons".into()),
        ] {
            let text = payload(&w).expect("a payload");
            assert_eq!(parse(&text), Some(w));
        }
        assert_eq!(payload(&Wakeup::Resync), None);
        assert_eq!(parse("x:1"), None);
        assert_eq!(parse("d:"), None);
        assert_eq!(parse("nothing"), None);
        assert_eq!(listen_statement("t_1"), r#"LISTEN "vistalid_wake_t_1""#);
        assert_eq!(listen_statement("a\"b"), r#"LISTEN "vistalid_wake_a""b""#);
    }
}
