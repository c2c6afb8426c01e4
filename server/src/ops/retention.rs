// SPDX-License-Identifier: Apache-2.0
//! The retention: every `retention_interval_secs`, each prunable table is worked off in
//! batches of at most `retention_batch_rows` rows (one short write job each), with a pause
//! between batches of `retention_pause_ms` or four times the batch's own time, whichever is
//! longer (so working a backlog off takes at most about a fifth of the writer), and at most `retention_batches_per_run` batches
//! per table per run; rows are kept `retention_secs` after their expiry (see
//! `store::Upkeep`).
//!
//! Guarantees: the writer thread is never held for more than one small batch at a time, so
//! a login's write waits for at most one batch; a backlog larger than one run's bound is
//! worked off over the next runs; a failed batch is logged and counted
//! (`vistalid_retention_failures_total`) and the run goes on with the next table.

use std::sync::Arc;
use std::time::Duration;

use crate::state::Shared;
use crate::store::{Prunable, PruneStep};

/// Prunes every table once (bounded as the module says); returns the rows removed.
pub(crate) async fn run_retention(s: &Shared) -> usize {
    let c = &s.config;
    let keep_secs = i64::try_from(c.retention_secs).unwrap_or(i64::MAX);
    let pause = Duration::from_millis(c.retention_pause_ms);
    let mut total = 0;
    for table in Prunable::ALL {
        for _ in 0..c.retention_batches_per_run {
            let step = PruneStep {
                table,
                now: s.clock.now(),
                keep_secs,
                limit: c.retention_batch_rows,
            };
            let started = std::time::Instant::now();
            let pruned = s.store.upkeep().prune(step).await;
            let took = started.elapsed();
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
            let rest = pause.max(took * 4);
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
