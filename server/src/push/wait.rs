// SPDX-License-Identifier: Apache-2.0
//! How a long-poll waits (the device's challenges, the login page's status): it reads the
//! state, and while the state says "wait" it parks until woken, until the bounded re-check
//! timer fires, until its deadline, or until the server stops, and reads the state again.
//!
//! Guarantees: the state is re-read after every wake-up and at least every `recheck`, so a
//! wake-up that was lost (a notification sent while a listener reconnected, issue 19) delays
//! the answer by at most `recheck`, never past the deadline; a wake-up that carries no news
//! (another waiter's key, a listener's reconnection) only costs one read; the wake-up handle
//! is armed before each read, so a change committed between the read and the park still
//! wakes it; the last read happens at or after the deadline or the stop, so the caller
//! always answers with fresh state.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// What one read of the state says.
pub(crate) enum Read<T> {
    /// Answer with this now.
    Done(T),
    /// Nothing yet: answer with this if the wait ends.
    Wait(T),
}

/// Reads with `read` until it says [`Read::Done`], `until` has passed, or `stop` turns
/// true, parking on `handle` between reads for at most `recheck` each time. Returns the
/// last read's value.
pub(crate) async fn long_poll<T, E, F, Fut>(
    handle: &Notify,
    until: Duration,
    recheck: Duration,
    mut stop: watch::Receiver<bool>,
    mut read: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Read<T>, E>>,
{
    let deadline = Instant::now() + until;
    loop {
        // Armed before the read: a change committed in between still wakes it.
        let woken = handle.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let value = match read().await? {
            Read::Done(v) => return Ok(v),
            Read::Wait(v) => v,
        };
        let now = Instant::now();
        if now >= deadline || *stop.borrow() {
            return Ok(value);
        }
        let nap = recheck.min(deadline - now);
        tokio::select! {
            () = &mut woken => {}
            () = tokio::time::sleep(nap) => {}
            _ = stop.wait_for(|v| *v) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Arc;

    /// Longer than any of these tests may take: reaching it means the wait was not cut.
    const LONG: Duration = Duration::from_secs(60);
    /// What "at once" allows on a loaded machine.
    const PROMPT: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn a_wakeup_rereads_at_once() {
        let handle = Arc::new(Notify::new());
        let (_tx, stop) = watch::channel(false);
        let ready = Arc::new(AtomicBool::new(false));
        let (waker, flag) = (Arc::clone(&handle), Arc::clone(&ready));
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            flag.store(true, Ordering::SeqCst);
            waker.notify_waiters();
        });
        let started = Instant::now();
        let got: Result<bool, ()> = long_poll(&handle, LONG, LONG, stop, || {
            let done = ready.load(Ordering::SeqCst);
            async move {
                Ok(if done {
                    Read::Done(true)
                } else {
                    Read::Wait(false)
                })
            }
        })
        .await;
        assert_eq!(got, Ok(true));
        assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn the_timer_rereads_without_a_wakeup() {
        let handle = Notify::new();
        let (_tx, stop) = watch::channel(false);
        let reads = AtomicU32::new(0);
        let started = Instant::now();
        let got: Result<u32, ()> =
            long_poll(&handle, LONG, Duration::from_millis(20), stop, || {
                let n = reads.fetch_add(1, Ordering::SeqCst) + 1;
                async move { Ok(if n == 3 { Read::Done(n) } else { Read::Wait(n) }) }
            })
            .await;
        assert_eq!(got, Ok(3));
        assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn ends_at_the_deadline_with_a_last_read_and_at_once_on_stop() {
        let handle = Notify::new();
        let (tx, stop) = watch::channel(false);
        let reads = AtomicU32::new(0);
        let got: Result<u32, ()> = long_poll(
            &handle,
            Duration::from_millis(100),
            LONG,
            stop.clone(),
            || {
                let n = reads.fetch_add(1, Ordering::SeqCst) + 1;
                async move { Ok(Read::Wait(n)) }
            },
        )
        .await;
        // The first read, then one at the deadline.
        assert_eq!(got, Ok(2));

        tx.send(true).expect("stop");
        let started = Instant::now();
        let got: Result<u32, ()> =
            long_poll(&handle, LONG, LONG, stop, || async { Ok(Read::Wait(7)) }).await;
        assert_eq!(got, Ok(7));
        assert!(started.elapsed() < PROMPT);
    }
}
