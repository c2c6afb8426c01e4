// SPDX-License-Identifier: Apache-2.0
//! The push delivery: a bounded queue the request paths put wake-ups in without waiting,
//! and a worker that looks up each device's token, sends through its platform's provider,
//! retries and counts the outcomes.
//!
//! Guarantees:
//! - [`Dispatcher::notify_until`] never waits: a full queue drops the wake-up (counted in
//!   [`PushCounts::dropped`], logged); the long-poll still wakes the device, and the
//!   challenge stays in the database for its next fetch.
//! - A device without a token, or of a platform with no provider configured, is skipped
//!   (counted): it is reached by long-poll, as before push existed.
//! - A 429 or 5xx is retried at most `max_attempts` tries in all, after
//!   `backoff_base_ms * 2^(try - 1)` or the `Retry-After` given, whichever is longer, capped
//!   at `backoff_max_ms`; never after the challenge's expiry.
//! - A token answered unregistered is removed from the device (if it is still the one sent).
//! - Every outcome is counted ([`Dispatcher::counts`]) and logged without token or key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use vistalid_core::clock::Clock;
use vistalid_core::push::{PushPayload, PushPlatform};

use super::apns::ApnsSender;
use super::config::PushDelivery;
use super::fcm::FcmSender;
use super::payload::Wake;
use super::PushSender;
use crate::store::Store;

/// What one try of a delivery came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Accepted by the provider.
    Delivered,
    /// The token is no longer valid (the app was removed, the token rotated).
    Unregistered,
    /// Refused for good (names why; no retry helps).
    Rejected(&'static str),
    /// Worth retrying, after `after` if the provider said.
    Retry {
        /// The provider's `Retry-After`.
        after: Option<Duration>,
        /// Why (for the log).
        why: &'static str,
    },
}

impl Outcome {
    pub(crate) fn retry(after: Option<Duration>, why: &'static str) -> Self {
        Self::Retry { after, why }
    }
}

/// A `Retry-After` in seconds (an HTTP date is not used: the back-off applies).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Counts of the delivery's outcomes since start (for `/metrics` and the logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushCounts {
    /// Wake-ups put in the queue.
    pub queued: u64,
    /// Wake-ups dropped because the queue was full.
    pub dropped: u64,
    /// Wake-ups for a device without a token, or of a platform not configured.
    pub skipped: u64,
    /// Wake-ups accepted by the provider.
    pub delivered: u64,
    /// Retries made (after a 429, a 5xx or no answer).
    pub retried: u64,
    /// Tokens answered unregistered (and removed).
    pub unregistered: u64,
    /// Wake-ups refused for good by the provider.
    pub rejected: u64,
    /// Wake-ups given up after the last try or at the challenge's expiry.
    pub gave_up: u64,
}

#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    dropped: AtomicU64,
    skipped: AtomicU64,
    delivered: AtomicU64,
    retried: AtomicU64,
    unregistered: AtomicU64,
    rejected: AtomicU64,
    gave_up: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The providers configured.
pub(crate) struct Providers {
    pub(crate) fcm: Option<FcmSender>,
    pub(crate) apns: Option<ApnsSender>,
}

/// The request paths' side of the delivery: puts wake-ups in the queue.
pub(crate) struct Dispatcher {
    tx: mpsc::Sender<Wake>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}

/// The worker's side: run it once on the runtime ([`Worker::run`]).
pub(crate) struct Worker {
    rx: mpsc::Receiver<Wake>,
    counters: Arc<Counters>,
    providers: Arc<Providers>,
    settings: PushDelivery,
    store: Store,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

/// Why the delivery could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A setting is out of bounds.
    #[error("{0}")]
    Settings(String),
    /// The FCM sender.
    #[error(transparent)]
    Fcm(#[from] super::fcm::FcmError),
    /// The APNs sender.
    #[error(transparent)]
    Apns(#[from] super::apns::ApnsError),
}

impl Dispatcher {
    /// Builds the providers of `settings` (reading their key files) and the queue; the
    /// worker must then be run on a tokio runtime.
    pub(crate) fn new(
        settings: &PushDelivery,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Result<(Self, Worker), DeliveryError> {
        settings.validate().map_err(DeliveryError::Settings)?;
        let timeout = Duration::from_millis(settings.request_timeout_ms);
        let providers = Providers {
            fcm: settings
                .fcm
                .as_ref()
                .map(|f| FcmSender::new(f, Arc::clone(&clock), timeout))
                .transpose()?,
            apns: settings
                .apns
                .as_ref()
                .map(|a| ApnsSender::new(a, Arc::clone(&clock), timeout))
                .transpose()?,
        };
        let (tx, rx) = mpsc::channel(settings.queue_capacity);
        let counters = Arc::new(Counters::default());
        Ok((
            Self {
                tx,
                counters: Arc::clone(&counters),
            },
            Worker {
                rx,
                counters,
                providers: Arc::new(providers),
                settings: settings.clone(),
                store,
                clock,
            },
        ))
    }

    /// The outcome counts since start.
    pub(crate) fn counts(&self) -> PushCounts {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        PushCounts {
            queued: get(&c.queued),
            dropped: get(&c.dropped),
            skipped: get(&c.skipped),
            delivered: get(&c.delivered),
            retried: get(&c.retried),
            unregistered: get(&c.unregistered),
            rejected: get(&c.rejected),
            gave_up: get(&c.gave_up),
        }
    }
}

impl PushSender for Dispatcher {
    fn notify(&self, device_id: &str, challenge_id: &str) {
        // Without an expiry: kept for the shortest challenge lifetime the server allows.
        self.notify_until(device_id, challenge_id, i64::MAX);
    }

    fn notify_until(&self, device_id: &str, challenge_id: &str, expires_at: i64) {
        let wake = Wake {
            payload: PushPayload {
                device_id: device_id.to_owned(),
                challenge_id: challenge_id.to_owned(),
            },
            expires_at,
        };
        match self.tx.try_send(wake) {
            Ok(()) => bump(&self.counters.queued),
            Err(_) => {
                bump(&self.counters.dropped);
                tracing::warn!(%device_id, "push queue full: wake-up dropped (long-poll only)");
            }
        }
    }
}

impl Worker {
    /// Delivers the queued wake-ups until the dispatcher is dropped, at most
    /// `max_in_flight` at once.
    pub(crate) async fn run(mut self) {
        let slots = Arc::new(Semaphore::new(self.settings.max_in_flight));
        let job = Arc::new(JobContext {
            counters: Arc::clone(&self.counters),
            providers: Arc::clone(&self.providers),
            settings: self.settings.clone(),
            store: self.store.clone(),
            clock: Arc::clone(&self.clock),
        });
        while let Some(wake) = self.rx.recv().await {
            let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            let job = Arc::clone(&job);
            tokio::spawn(async move {
                job.deliver(wake).await;
                drop(permit);
            });
        }
    }
}

struct JobContext {
    counters: Arc<Counters>,
    providers: Arc<Providers>,
    settings: PushDelivery,
    store: Store,
    clock: Arc<dyn Clock>,
}

impl JobContext {
    async fn deliver(&self, wake: Wake) {
        let device_id = wake.payload.device_id.as_str();
        let token = match self.store.push_tokens().of_device(device_id).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                bump(&self.counters.skipped);
                return;
            }
            Err(e) => {
                bump(&self.counters.gave_up);
                tracing::warn!(error = %e, "push: token lookup failed");
                return;
            }
        };
        let platform = token.platform.as_str();
        let mut tries = 0u32;
        loop {
            tries += 1;
            let outcome = match token.platform {
                PushPlatform::Fcm => match &self.providers.fcm {
                    Some(s) => s.send(&token.token, &wake).await,
                    None => {
                        bump(&self.counters.skipped);
                        return;
                    }
                },
                PushPlatform::Apns => match &self.providers.apns {
                    Some(s) => s.send(&token.token, &wake).await,
                    None => {
                        bump(&self.counters.skipped);
                        return;
                    }
                },
            };
            match outcome {
                Outcome::Delivered => {
                    bump(&self.counters.delivered);
                    tracing::info!(%device_id, platform, tries, "push delivered");
                    return;
                }
                Outcome::Unregistered => {
                    bump(&self.counters.unregistered);
                    let removed = self
                        .store
                        .push_tokens()
                        .remove_if(device_id, &token.token)
                        .await;
                    tracing::info!(%device_id, platform, removed = ?removed.ok(), "push token unregistered: removed");
                    return;
                }
                Outcome::Rejected(why) => {
                    bump(&self.counters.rejected);
                    tracing::warn!(%device_id, platform, why, "push refused");
                    return;
                }
                Outcome::Retry { after, why } => {
                    let wait = self.backoff(tries, after);
                    let left = wake.expires_at.saturating_sub(self.clock.now());
                    let fits = u64::try_from(left).is_ok_and(|l| wait.as_secs() < l);
                    if tries >= self.settings.max_attempts || !fits {
                        bump(&self.counters.gave_up);
                        tracing::warn!(%device_id, platform, tries, why, "push given up");
                        return;
                    }
                    bump(&self.counters.retried);
                    tracing::info!(%device_id, platform, tries, why, wait_ms = wait.as_millis() as u64, "push retried");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// The wait before try `tries + 1`.
    fn backoff(&self, tries: u32, after: Option<Duration>) -> Duration {
        backoff(&self.settings, tries, after)
    }
}

/// `base * 2^(tries - 1)`, or `after` if longer, capped at the maximum.
pub(crate) fn backoff(s: &PushDelivery, tries: u32, after: Option<Duration>) -> Duration {
    let exp = s
        .backoff_base_ms
        .saturating_mul(1u64 << tries.saturating_sub(1).min(20));
    let ms = exp.max(after.map_or(0, |a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX)));
    Duration::from_millis(ms.min(s.backoff_max_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_honours_retry_after_and_is_capped() {
        let s = PushDelivery {
            backoff_base_ms: 100,
            backoff_max_ms: 1000,
            ..PushDelivery::default()
        };
        assert_eq!(backoff(&s, 1, None), Duration::from_millis(100));
        assert_eq!(backoff(&s, 3, None), Duration::from_millis(400));
        assert_eq!(backoff(&s, 9, None), Duration::from_millis(1000));
        assert_eq!(
            backoff(&s, 1, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            backoff(&s, 1, Some(Duration::from_secs(60))),
            Duration::from_millis(1000)
        );
    }
}
