// SPDX-License-Identifier: Apache-2.0
//! Waking devices when a challenge is queued.
//!
//! Guarantees: a push carries only the device id and the challenge id (no secrets, no
//! codes); the device always fetches the signed challenge itself. [`LongPollNotifier`] wakes
//! every long-poll waiting for that device at once; it holds no state that matters after a
//! restart (the challenges are in the database).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// A channel that tells a device a challenge is waiting (FCM and APNs are planned
/// implementations). Implementations must not block: queue the message and return.
pub trait PushSender: Send + Sync + 'static {
    /// Tells device `device_id` that challenge `challenge_id` is waiting.
    fn notify(&self, device_id: &str, challenge_id: &str);
}

impl std::fmt::Debug for dyn PushSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PushSender")
    }
}

/// The default push channel: wakes the device's open long-polls.
#[derive(Debug, Default)]
pub struct LongPollNotifier {
    waiters: Mutex<HashMap<String, Arc<Notify>>>,
}

impl LongPollNotifier {
    /// The wake-up handle of a device (created on first use).
    pub(crate) fn subscribe(&self, device_id: &str) -> Arc<Notify> {
        let mut map = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(device_id.to_owned()).or_default())
    }

    /// Drops the handle of a device when no poll holds it any more (bounds the map).
    pub(crate) fn release(&self, device_id: &str, handle: Arc<Notify>) {
        let mut map = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        // One count for `handle`, one for the map: nobody else is waiting.
        if Arc::strong_count(&handle) <= 2 {
            map.remove(device_id);
        }
    }
}

impl PushSender for LongPollNotifier {
    fn notify(&self, device_id: &str, _challenge_id: &str) {
        let map = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get(device_id) {
            n.notify_waiters();
        }
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
        assert!(n.waiters.lock().expect("lock").is_empty());
    }
}
