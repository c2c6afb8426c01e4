// SPDX-License-Identifier: Apache-2.0
//! The retention: every `retention_interval_secs`, each prunable table is worked off in
//! batches of at most `retention_batch_rows` rows (one short write job each), and at most
//! `retention_batches_per_run` batches per table per run; rows are kept `retention_secs`
//! after their expiry (see `store::Upkeep`).
//!
//! The retention is paced by the load: after each batch it pauses so that its batches take
//! at most `retention_busy_percent` of the time (default 5 %) while other writes are coming
//! in, and at most half of it when no other write came in since its previous batch; never
//! less than `retention_pause_ms`. On SQLite it also waits while login writes are queued for
//! the writer thread, so its batch does not join (and lengthen) their group commit.
//!
//! Guarantees: the writer thread is never held for more than one small batch at a time, so
//! a login's write waits for at most one batch; under load the retention's share of the
//! time stays bounded whatever the backlog; a backlog larger than one run's bound is worked
//! off over the next runs; a failed batch is logged and counted
//! (`vistalid_retention_failures_total`) and the run goes on with the next table.

use std::sync::Arc;
use std::time::Duration;

use crate::state::Shared;
use crate::store::{Prunable, PruneStep};

/// Longest the retention waits for the writer's queue to empty before its batch goes in
/// anyway (so a saturated writer still gets its expired rows pruned, at the paced rate).
const QUEUE_WAIT: Duration = Duration::from_millis(50);
/// Step of that wait.
const QUEUE_POLL: Duration = Duration::from_millis(1);

/// Prunes every table once (bounded as the module says); returns the rows removed.
pub(crate) async fn run_retention(s: &Shared) -> usize {
    let c = &s.config;
    let keep_secs = i64::try_from(c.retention_secs).unwrap_or(i64::MAX);
    let mut pace = Pace::new(
        Duration::from_millis(c.retention_pause_ms),
        c.retention_busy_percent,
    );
    let upkeep = s.store.upkeep();
    let mut total = 0;
    for table in Prunable::ALL {
        for _ in 0..c.retention_batches_per_run {
            wait_for_empty_queue(s).await;
            let step = PruneStep {
                table,
                now: s.clock.now(),
                keep_secs,
                limit: c.retention_batch_rows,
            };
            let before = upkeep.activity();
            let started = std::time::Instant::now();
            let pruned = upkeep.prune(step).await;
            let took = started.elapsed();
            // Other writes ran with this batch, or during the pause before it.
            let busy = pace.note_batch(before, upkeep.activity());
            match pruned {
                Ok(done) => {
                    total += done.rows;
                    if done.rows > 0 {
                        s.metrics
                            .pruned
                            .get_or_create(&[("table", table.name())])
                            .inc_by(u64::try_from(done.rows).unwrap_or(u64::MAX));
                    }
                    if !done.full {
                        break;
                    }
                }
                Err(e) => {
                    s.metrics.prune_failures.inc();
                    tracing::warn!(error = %e, table = table.name(), "retention batch failed");
                    break;
                }
            }
            let rest = pace.rest(took, busy);
            if !rest.is_zero() {
                tokio::time::sleep(rest).await;
            }
        }
    }
    if total > 0 {
        tracing::debug!(rows = total, "retention pruned expired rows");
    }
    total
}

/// Waits (at most [`QUEUE_WAIT`]) while write jobs are queued for the writer (SQLite; on
/// PostgreSQL the queue is always empty).
async fn wait_for_empty_queue(s: &Shared) {
    let upkeep = s.store.upkeep();
    let mut waited = Duration::ZERO;
    while upkeep.figures().writer_queue > 0 && waited < QUEUE_WAIT {
        tokio::time::sleep(QUEUE_POLL).await;
        waited += QUEUE_POLL;
    }
}

/// The retention's pacing: how long to rest after a batch, from its length and whether
/// other writes came in.
#[derive(Debug, Clone, Copy)]
struct Pace {
    /// The shortest rest.
    min: Duration,
    /// The share of the time the batches may take under load, in percent (1..=50).
    busy_percent: u32,
    /// The activity count when the previous batch ended.
    last_end: Option<u64>,
}

impl Pace {
    fn new(min: Duration, busy_percent: u8) -> Self {
        Self {
            min,
            busy_percent: u32::from(busy_percent.clamp(1, 50)),
            last_end: None,
        }
    }

    /// Notes a batch that ran between activity counts `before` and `after` (its own write
    /// counts one, or more with retries); returns whether other writes came in during it or
    /// during the rest before it.
    fn note_batch(&mut self, before: u64, after: u64) -> bool {
        let since_last = self.last_end.map_or(0, |end| before.saturating_sub(end));
        self.last_end = Some(after);
        since_last > 0 || after.saturating_sub(before) > 1
    }

    /// The rest after a batch that took `took`: `100 / busy_percent - 1` times it when
    /// `busy`, once it otherwise; at least the configured minimum.
    fn rest(&self, took: Duration, busy: bool) -> Duration {
        let factor = if busy { 100 / self.busy_percent - 1 } else { 1 };
        (took * factor).max(self.min)
    }
}

/// Runs the retention every `retention_interval_secs` until aborted (the first run at once).
pub(crate) async fn retention_loop(s: Arc<Shared>) {
    let every = Duration::from_secs(s.config.retention_interval_secs.max(1));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        run_retention(&s).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_load_the_batches_take_the_configured_share_idle_half() {
        let ms = Duration::from_millis;
        let mut pace = Pace::new(ms(5), 5);
        // First batch, nothing else ran with it: idle, a rest as long as the batch.
        assert!(!pace.note_batch(10, 11));
        assert_eq!(pace.rest(ms(20), false), ms(20));
        // Writes came in during the rest: busy, 19 times the batch (5 %).
        assert!(pace.note_batch(14, 15));
        assert_eq!(pace.rest(ms(20), true), ms(380));
        // Writes ran beside the batch itself (its own counts one).
        assert!(pace.note_batch(15, 18));
        // Quiet again.
        assert!(!pace.note_batch(18, 19));
        // Never below the minimum rest.
        assert_eq!(pace.rest(Duration::from_micros(10), true), ms(5));
        // 50 %: a rest as long as the batch, loaded or not.
        assert_eq!(Pace::new(ms(0), 50).rest(ms(20), true), ms(20));
    }
}
