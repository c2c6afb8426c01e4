// SPDX-License-Identifier: Apache-2.0
//! The server's metrics registry (Prometheus / OpenMetrics text), shared by every module.
//!
//! Guarantees:
//! - Recording is lock-free on the hot path: a counter or histogram handle is an atomic (a
//!   labelled family adds one read-locked hash lookup of `&'static str` labels, no
//!   allocation after the first use of a label set).
//! - Label values are `&'static str` chosen by the code (route templates, outcome names,
//!   error codes), never a value from a request: the number of series is bounded and no
//!   secret or personal datum can reach a label.
//! - [`Metrics::encode`] renders every registered metric; registering takes a short lock
//!   and happens at start-up or on first use, never per request.
//!
//! How another module adds its own counters (e.g. push outcomes): keep the handle that
//! [`Metrics::counter_family`] returns (cheap to clone, every clone counts into the same
//! series) and call `.get_or_create(&[("outcome", "sent")]).inc()`. Names get the
//! `vistalid_` prefix by convention and counters the `_total` suffix automatically.

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// A label set of `N` fixed label names with values chosen by the code.
pub(crate) type Labels<const N: usize> = [(&'static str, &'static str); N];
/// A counter per label set.
pub(crate) type CounterFamily<const N: usize> = Family<Labels<N>, Counter>;
/// A latency histogram (seconds) per label set.
pub(crate) type HistogramFamily<const N: usize> = Family<Labels<N>, Histogram, fn() -> Histogram>;
/// A gauge per label set.
pub(crate) type GaugeFamily<const N: usize> = Family<Labels<N>, Gauge>;

/// Buckets of the latency histograms: 1 ms to about 33 s, doubling (16 buckets), which
/// covers a database lookup as well as a full long-poll.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The registry and the server's own metrics.
pub(crate) struct Metrics {
    registry: Mutex<Registry>,
    /// Logins answered on the phone, by `mode` (`ciba`, `browser`) and `outcome`
    /// (`approved`, `wrong_code`, `denied`, `reported`).
    pub(crate) logins: CounterFamily<2>,
    /// HTTP requests by `route` (the path template) and `status` (the status code).
    pub(crate) requests: CounterFamily<2>,
    /// HTTP latency by `route`, from the request head to the response head.
    pub(crate) latency: HistogramFamily<1>,
    /// Refused requests (4xx answers with an API error code), by `route` and `error`.
    pub(crate) refusals: CounterFamily<2>,
    /// Enrolment attempts by `outcome` (`enrolled`, or the refusal's error code).
    pub(crate) enrolments: CounterFamily<1>,
    /// Rows removed by the retention, by `table`.
    pub(crate) pruned: CounterFamily<1>,
    /// Retention runs that failed (database error), logged and retried.
    pub(crate) prune_failures: Counter,
    /// Figures read from the store at each scrape, by `figure` (see `ops::metrics`).
    pub(crate) store: GaugeFamily<1>,
    /// Login requests by `mode` and `state` (`pending`: waiting for an answer;
    /// `expired_unanswered`: past their expiry without an answer, kept until pruned), read
    /// from the store at each scrape.
    pub(crate) requests_pending: GaugeFamily<2>,
    /// Challenges queued for a device and not yet answered or expired (read at each scrape).
    pub(crate) challenges_pending: Gauge,
    /// Push wake-ups (FCM, APNs; issue 20) by `outcome` since start, read from the delivery
    /// queue's counts at each scrape (absent when no provider is configured).
    pub(crate) push: GaugeFamily<1>,
    /// What the PostgreSQL wake-up listener heard (issue 19), by `event`: `connected` (it
    /// started listening: once at start, then once per reconnection), `device` (a
    /// challenge queued on some instance), `request` (a request answered on some instance).
    pub(crate) wake_listener: CounterFamily<1>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry holding the server's metrics, all at zero.
    pub(crate) fn new() -> Self {
        let m = Self {
            registry: Mutex::new(Registry::default()),
            logins: Family::default(),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            refusals: Family::default(),
            enrolments: Family::default(),
            pruned: Family::default(),
            prune_failures: Counter::default(),
            store: Family::default(),
            requests_pending: Family::default(),
            challenges_pending: Gauge::default(),
            push: Family::default(),
            wake_listener: Family::default(),
        };
        m.register(
            "vistalid_logins",
            "Logins answered on the phone, by mode and outcome",
            m.logins.clone(),
        );
        m.register(
            "vistalid_http_requests",
            "HTTP requests by route template and status code",
            m.requests.clone(),
        );
        m.register(
            "vistalid_http_request_duration_seconds",
            "HTTP latency by route template (request head to response head)",
            m.latency.clone(),
        );
        m.register(
            "vistalid_refusals",
            "Requests refused with an API error code, by route and code",
            m.refusals.clone(),
        );
        m.register(
            "vistalid_enrolments",
            "Enrolment attempts by outcome",
            m.enrolments.clone(),
        );
        m.register(
            "vistalid_retention_pruned_rows",
            "Rows removed by the retention, by table",
            m.pruned.clone(),
        );
        m.register(
            "vistalid_retention_failures",
            "Retention runs that failed (retried at the next tick)",
            m.prune_failures.clone(),
        );
        m.register(
            "vistalid_store",
            "Database figures (reader pool, writer queue and batches), read at scrape",
            m.store.clone(),
        );
        m.register(
            "vistalid_login_requests",
            "Login requests waiting for an answer, or expired unanswered, by mode",
            m.requests_pending.clone(),
        );
        m.register(
            "vistalid_challenges_pending",
            "Challenges queued for a device, not yet answered nor expired",
            m.challenges_pending.clone(),
        );
        m.register(
            "vistalid_push_wakeups",
            "Push wake-ups since start by outcome (queued, dropped, skipped, delivered, retried, unregistered, rejected, gave_up)",
            m.push.clone(),
        );
        m.register(
            "vistalid_wake_listener_events",
            "What the PostgreSQL wake-up listener heard, by event (connected, device, request)",
            m.wake_listener.clone(),
        );
        m
    }

    /// Registers `metric` (any prometheus-client metric) under `name` with `help`. For
    /// start-up; a name registered twice is rendered twice (a mistake the tests catch).
    pub(crate) fn register(
        &self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .register(name, help, metric);
    }

    #[allow(dead_code)] // For modules that add their own (push outcomes, branch push20).
    /// A new counter family with labels of `N` names, registered as `name` (`_total` is
    /// appended): keep the handle and count with `.get_or_create(&[("k", "v")]).inc()`.
    pub(crate) fn counter_family<const N: usize>(
        &self,
        name: &str,
        help: &str,
    ) -> CounterFamily<N> {
        let family = CounterFamily::<N>::default();
        self.register(name, help, family.clone());
        family
    }

    #[allow(dead_code)] // For modules that add their own.
    /// A new latency histogram family (seconds, 1 ms to ~33 s), registered as `name`.
    pub(crate) fn histogram_family<const N: usize>(
        &self,
        name: &str,
        help: &str,
    ) -> HistogramFamily<N> {
        let family = HistogramFamily::<N>::new_with_constructor(latency_histogram);
        self.register(name, help, family.clone());
        family
    }

    /// The OpenMetrics text of every registered metric (ends with `# EOF`).
    pub(crate) fn encode(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_with_their_labels_and_families_can_be_added() {
        let m = Metrics::new();
        m.logins
            .get_or_create(&[("mode", "ciba"), ("outcome", "approved")])
            .inc();
        m.latency
            .get_or_create(&[("route", "/token")])
            .observe(0.003);
        let push = m.counter_family::<1>("vistalid_push", "Push outcomes");
        push.clone().get_or_create(&[("outcome", "sent")]).inc_by(2);
        let text = m.encode();
        assert!(
            text.contains(r#"vistalid_logins_total{mode="ciba",outcome="approved"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"vistalid_http_request_duration_seconds_bucket{le="0.004",route="/token"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"vistalid_push_total{outcome="sent"} 2"#),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
