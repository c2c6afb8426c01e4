// SPDX-License-Identifier: Apache-2.0
//! How a repository's job runs (see the guarantees of the parent module): a read on a pooled
//! connection without a transaction block, a write in a `SERIALIZABLE` block whose `BEGIN`
//! goes out with the job's first statement, tried again after a serialization failure.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::time::Duration;

use deadpool_postgres::Pool;

use super::{Counters, Job, Tx, MAX_TRIES};
use crate::store::StoreError;

/// Whether a transaction writes.
#[derive(Clone, Copy)]
pub(super) enum Mode {
    Read,
    Write,
}

pub(super) async fn run<D: Sync, T>(
    pool: &Pool,
    counters: &Counters,
    d: &D,
    job: Job<D, T>,
    mode: Mode,
) -> Result<T, StoreError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let started = std::time::Instant::now();
        let client = pool.get().await?;
        let tx = Tx {
            client: &client,
            write: matches!(mode, Mode::Write),
            commit_sent: std::sync::atomic::AtomicBool::new(false),
        };
        let result = match mode {
            Mode::Read => job(&tx, d).await,
            Mode::Write => {
                // BEGIN is sent now and its reply read after the job's statements, which
                // the connection sends after it: no round trip of its own.
                let mut block = Block::begin(&client);
                let outcome = job(&tx, d).await;
                // The job's last statements went out with COMMIT (last::end_with), which
                // ended the block (as a rollback if one of them failed) and whose reply
                // the job read.
                if tx.commit_sent.load(Ordering::Relaxed) {
                    block.open = false;
                }
                // A BEGIN that failed leaves the job's statements outside any block, on a
                // read-only session: they wrote nothing, and its error is the answer.
                block.started().await?;
                match outcome {
                    Ok(value) if block.open => block.commit().await.map(|()| value),
                    Ok(value) => Ok(value),
                    Err(e) => Err(e), // `block` dropped: rolled back if still open
                }
            }
        };
        counters.transactions.fetch_add(1, Ordering::Relaxed);
        counters.busy_micros.fetch_add(
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        match result {
            Err(StoreError::Conflict) if tries < MAX_TRIES => {
                counters.retries.fetch_add(1, Ordering::Relaxed);
                drop(client);
                tokio::time::sleep(backoff(tries)).await;
            }
            other => return other,
        }
    }
}

/// A reply of the connection not read yet.
pub(super) type Pending<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, tokio_postgres::Error>> + Send + 'a>>;

/// `request`, sent now (see [`send_now`]); its reply read when awaited.
pub(super) fn sent<'a, T: Send + 'a>(
    request: impl Future<Output = Result<T, tokio_postgres::Error>> + Send + 'a,
) -> Pending<'a, T> {
    let mut request: Pending<'a, T> = Box::pin(request);
    match send_now(request.as_mut()) {
        std::task::Poll::Ready(reply) => Box::pin(std::future::ready(reply)),
        std::task::Poll::Pending => request,
    }
}

/// The transaction block of a write, `BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE`
/// queued on the connection when it is made. Dropped without [`Block::commit`] (the job
/// failed, or the caller's future was dropped mid-write), it queues `ROLLBACK` before the
/// connection can go back to the pool: a connection's requests run in order, so whoever
/// uses it next starts after the rollback.
struct Block<'a> {
    client: &'a deadpool_postgres::Client,
    begin: Option<Pending<'a, ()>>,
    open: bool,
}

impl<'a> Block<'a> {
    /// Sends `BEGIN` without waiting for its reply.
    fn begin(client: &'a deadpool_postgres::Client) -> Self {
        Self {
            client,
            begin: Some(sent(
                client.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE"),
            )),
            open: true,
        }
    }

    /// `BEGIN`'s reply.
    async fn started(&mut self) -> Result<(), StoreError> {
        if let Some(begin) = self.begin.take() {
            begin.await?;
        }
        Ok(())
    }

    async fn commit(mut self) -> Result<(), StoreError> {
        self.open = false;
        // A COMMIT that fails leaves no transaction open (PostgreSQL ends the block).
        Ok(self.client.batch_execute("COMMIT").await?)
    }
}

impl Drop for Block<'_> {
    fn drop(&mut self) {
        if self.open {
            // Its reply is not waited for (as tokio-postgres's own transaction does when
            // dropped).
            let _ = send_now(std::pin::pin!(self.client.batch_execute("ROLLBACK")));
        }
    }
}

/// Polls `request` once: tokio-postgres queues a request on the connection at its first
/// poll, so it is sent even if its reply is read later, or never.
fn send_now<F: Future + ?Sized>(request: Pin<&mut F>) -> std::task::Poll<F::Output> {
    request.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

/// The pause after the `tries`-th aborted try: uniform between 1 ms and 2^`tries` ms (at most
/// 64), from the system's random source ("full jitter"), so that transactions that
/// conflicted, in one process or on several instances, do not meet again at the next try.
fn backoff(tries: u32) -> Duration {
    use ring::rand::SecureRandom;
    let span_us = 1000 * (1_u64 << tries.clamp(1, 6));
    let mut bytes = [0_u8; 4];
    // The random source failing is no reason to fail the write: a fixed spread then.
    let r = ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_or(u64::from(tries) * 7919, |()| {
            u64::from(u32::from_le_bytes(bytes))
        });
    Duration::from_micros(1000 + r % span_us)
}

#[cfg(test)]
mod tests;
