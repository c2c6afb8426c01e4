// SPDX-License-Identifier: Apache-2.0
//! What operators need (issue 19, docs/operations.md): liveness and readiness probes, the
//! Prometheus `/metrics` endpoint, a request id and metrics on every request, JSON or
//! human logs, and the retention that prunes expired rows in small batches.
//!
//! Guarantees: see each submodule. Nothing here changes what a flow answers; it observes
//! (the request id header aside).

mod health;
mod logging;
mod observe;
mod retention;
mod scrape;

pub(crate) use health::{health, ready};
pub use logging::{init_logging, LogFormat};
pub(crate) use observe::observe;
pub(crate) use retention::{retention_loop, run_retention};
pub(crate) use scrape::{scrape_admin, scrape_public};

/// Path of the liveness probe.
pub(crate) const PATH_HEALTH: &str = "/health";
/// Path of the readiness probe.
pub(crate) const PATH_READY: &str = "/ready";
/// Path of the Prometheus metrics.
pub(crate) const PATH_METRICS: &str = "/metrics";
