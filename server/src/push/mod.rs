// SPDX-License-Identifier: Apache-2.0
//! Waking devices when a challenge is queued, and login pages when their request is
//! answered; the push delivery through FCM and APNs (issue 20, docs/push.md).
//!
//! Guarantees: a push carries only the device id, the challenge id and a generic text (no
//! service name, no code, no name); the device always fetches the signed challenge itself.
//! [`LongPollNotifier`] wakes every long-poll waiting for that device at once; [`Waiters`]
//! does the same for any key (the login page's status long-poll waits on its request id).
//! Neither holds state that matters after a restart (the challenges and answers are in the
//! database). The delivery ([`queue::Dispatcher`]) never blocks its caller: a bounded queue,
//! a worker that retries with back-off, and the senders of each platform.
//!
//! Where things are: `queue.rs` (the bounded queue, retries, outcome counts), `fcm.rs` (FCM
//! HTTP v1 and its OAuth token), `apns.rs` (the APNs provider API and its provider token),
//! `payload.rs` (what a push carries), `jwt.rs` (the RS256 and ES256 assertions),
//! `config.rs` (the providers' settings and key files), `wait.rs` (how a long-poll waits:
//! re-reads after each wake-up and on a bounded timer).

pub(crate) mod apns;
pub(crate) mod config;
pub(crate) mod fcm;
mod jwt;
mod payload;
pub(crate) mod queue;
pub(crate) mod wait;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// A channel that tells a device a challenge is waiting (the long-poll, the FCM and APNs
/// delivery of the `queue` module's dispatcher, or an embedder's own). Implementations must not block:
/// queue the message and return.
pub trait PushSender: Send + Sync + 'static {
    /// Tells device `device_id` that challenge `challenge_id` is waiting.
    fn notify(&self, device_id: &str, challenge_id: &str);

    /// Like [`PushSender::notify`], knowing when the challenge expires (seconds since the
    /// epoch), so a push is not kept past it. The default forgets the expiry.
    fn notify_until(&self, device_id: &str, challenge_id: &str, expires_at: i64) {
        let _ = expires_at;
        self.notify(device_id, challenge_id);
    }
}

impl std::fmt::Debug for dyn PushSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PushSender")
    }
}

/// Wake-up handles by key (a device id, a login request id): every waiter on a key is woken
/// at once; a key's handle is dropped when its last waiter leaves, so the map holds only
/// keys being waited on.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    map: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Waiters {
    /// The wake-up handle of `key` (created on first use).
    pub(crate) fn subscribe(&self, key: &str) -> Arc<Notify> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(key.to_owned()).or_default())
    }

    /// Drops the handle of `key` when no waiter holds it any more (bounds the map).
    pub(crate) fn release(&self, key: &str, handle: Arc<Notify>) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        // One count for `handle`, one for the map: nobody else is waiting.
        if Arc::strong_count(&handle) <= 2 {
            map.remove(key);
        }
    }

    /// Wakes every waiter of `key`.
    pub(crate) fn wake(&self, key: &str) {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get(key) {
            n.notify_waiters();
        }
    }

    /// Wakes every waiter of every key (after wake-ups may have been lost: each re-reads
    /// its state).
    pub(crate) fn wake_all(&self) {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        for n in map.values() {
            n.notify_waiters();
        }
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.map.lock().expect("lock").is_empty()
    }
}

/// The default push channel: wakes the device's open long-polls.
#[derive(Debug, Default)]
pub struct LongPollNotifier {
    waiters: Waiters,
}

impl LongPollNotifier {
    /// The wake-up handle of a device (created on first use).
    pub(crate) fn subscribe(&self, device_id: &str) -> Arc<Notify> {
        self.waiters.subscribe(device_id)
    }

    /// Drops the handle of a device when no poll holds it any more (bounds the map).
    pub(crate) fn release(&self, device_id: &str, handle: Arc<Notify>) {
        self.waiters.release(device_id, handle);
    }

    /// Wakes the open long-polls of `device_id` (a challenge was queued on another
    /// instance: no push is sent from here).
    pub(crate) fn wake_device(&self, device_id: &str) {
        self.waiters.wake(device_id);
    }

    /// Wakes every device's open long-polls (each re-reads its challenges).
    pub(crate) fn wake_all(&self) {
        self.waiters.wake_all();
    }
}

impl PushSender for LongPollNotifier {
    fn notify(&self, device_id: &str, _challenge_id: &str) {
        self.waiters.wake(device_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn wakes_an_enabled_waiter_and_releases() {
        let n = Arc::new(LongPollNotifier::default());
        let h = n.subscribe("d1");
        {
            let notified = h.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            n.notify("d1", "c1");
            tokio::time::timeout(Duration::from_secs(1), notified)
                .await
                .expect("woken");
        }
        n.release("d1", h);
        assert!(n.waiters.is_empty());
    }

    #[tokio::test]
    async fn wake_all_wakes_every_key() {
        let w = Waiters::default();
        let (h1, h2) = (w.subscribe("r1"), w.subscribe("r2"));
        let (n1, n2) = (h1.notified(), h2.notified());
        tokio::pin!(n1, n2);
        n1.as_mut().enable();
        n2.as_mut().enable();
        w.wake("elsewhere");
        w.wake_all();
        tokio::time::timeout(Duration::from_secs(1), async {
            n1.await;
            n2.await;
        })
        .await
        .expect("both woken");
    }
}
