// SPDX-License-Identifier: Apache-2.0
//! What the load bench measures around a phase and prints: CPU by thread group and of the
//! database server's processes (Linux /proc), the store's and retention's counters scraped
//! from every instance's `/metrics`, and the run's summary (per leg and flow: the median
//! over rounds, the pooled percentiles, the ratios to the first leg, paired by round).

use std::collections::BTreeMap;
use std::time::Duration;

/// CPU seconds used, by who uses them.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Cpu {
    /// The server's runtime threads (HTTP, handlers, crypto; PostgreSQL's client side).
    pub(super) server: f64,
    /// SQLite's writer thread.
    pub(super) writer: f64,
    /// The load generator's threads (relying parties, browsers, wallets).
    pub(super) client: f64,
    /// The database server's processes (PostgreSQL).
    pub(super) db: f64,
    /// The load balancer's process (HAProxy, cluster legs).
    pub(super) proxy: f64,
}

impl Cpu {
    /// Now, for this process's threads, the database processes `pids` and the load
    /// balancer's `proxy`.
    pub(super) fn now(pids: &[u32], proxy: &[u32]) -> Self {
        let mut cpu = Self::default();
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for t in tasks.flatten() {
                let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
                let secs = ticks(&t.path().join("stat"));
                match comm.trim() {
                    c if c.starts_with("vl-server") => cpu.server += secs,
                    c if c.starts_with("vistalid-db") => cpu.writer += secs,
                    c if c.starts_with("vl-client") => cpu.client += secs,
                    _ => {}
                }
            }
        }
        let sum = |pids: &[u32]| {
            pids.iter()
                .map(|p| ticks(std::path::Path::new(&format!("/proc/{p}/stat"))))
                .sum()
        };
        cpu.db = sum(pids);
        cpu.proxy = sum(proxy);
        cpu
    }

    /// What was used between `self` and `later`.
    pub(super) fn until(&self, later: &Self) -> Self {
        Self {
            server: later.server - self.server,
            writer: later.writer - self.writer,
            client: later.client - self.client,
            db: later.db - self.db,
            proxy: later.proxy - self.proxy,
        }
    }

    /// The total, in seconds.
    pub(super) fn total(&self) -> f64 {
        self.server + self.writer + self.client + self.db + self.proxy
    }
}

/// User + system seconds of the task or process whose `stat` file is `path` (0 if gone).
fn ticks(path: &std::path::Path) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the ")" that closes comm: state is field 3; utime 14, stime 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

/// The counters the bench reads from `/metrics`, summed over a leg's instances.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counters {
    /// `vistalid_store{figure="write_batches"}`: SQLite's group commits, PostgreSQL's
    /// transactions.
    pub(super) batches: f64,
    /// `vistalid_store{figure="write_jobs"}`: SQLite's write jobs, PostgreSQL's
    /// serialization retries.
    pub(super) jobs: f64,
    /// `vistalid_store{figure="write_busy_micros"}`.
    pub(super) busy_micros: f64,
    /// `vistalid_retention_pruned_rows_total{table="auth_requests"}`: old logins removed.
    pub(super) pruned_requests: f64,
    /// HTTP answers 5xx (a write that still conflicted after its retries is one).
    pub(super) http_5xx: f64,
}

impl Counters {
    /// Scrapes every URL of `metrics`.
    pub(super) async fn scrape(http: &reqwest::Client, metrics: &[String]) -> Self {
        let mut c = Self::default();
        for url in metrics {
            let Ok(text) = async { http.get(url).send().await?.text().await }.await else {
                continue;
            };
            for line in text.lines() {
                let Some((name, value)) = line.rsplit_once(' ') else {
                    continue;
                };
                let v: f64 = value.parse().unwrap_or(0.0);
                match name {
                    r#"vistalid_store{figure="write_batches"}"# => c.batches += v,
                    r#"vistalid_store{figure="write_jobs"}"# => c.jobs += v,
                    r#"vistalid_store{figure="write_busy_micros"}"# => c.busy_micros += v,
                    r#"vistalid_retention_pruned_rows_total{table="auth_requests"}"# => {
                        c.pruned_requests += v;
                    }
                    n if n.starts_with("vistalid_http_requests_total{")
                        && n.contains(r#"status="5xx""#) =>
                    {
                        c.http_5xx += v;
                    }
                    _ => {}
                }
            }
        }
        c
    }

    /// What grew between `self` and `later`.
    pub(super) fn until(&self, later: &Self) -> Self {
        Self {
            batches: later.batches - self.batches,
            jobs: later.jobs - self.jobs,
            busy_micros: later.busy_micros - self.busy_micros,
            pruned_requests: later.pruned_requests - self.pruned_requests,
            http_5xx: later.http_5xx - self.http_5xx,
        }
    }
}

/// One measured phase: a leg, a flow, a round.
pub(super) struct Phase {
    /// The leg's name.
    pub(super) leg: String,
    /// Whether the leg is on PostgreSQL (its `write_jobs` are retries).
    pub(super) postgres: bool,
    /// The flow's name.
    pub(super) flow: &'static str,
    /// The round (from 1).
    pub(super) round: u64,
    /// Completed flows' latencies.
    pub(super) latencies: Vec<Duration>,
    /// Failed flows.
    pub(super) errors: u64,
    /// Measured seconds.
    pub(super) secs: f64,
    /// CPU used.
    pub(super) cpu: Cpu,
    /// Counters' growth.
    pub(super) counters: Counters,
    /// The bench process's resident set (MiB) at the start and the end.
    pub(super) rss_mib: (f64, f64),
}

impl Phase {
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.secs.max(1e-9)
    }

    /// Prints the phase's line.
    pub(super) fn print(&self) {
        let n = self.latencies.len().max(1) as f64;
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let us = |s: f64| s * 1e6 / n;
        let c = &self.cpu;
        let store = if self.postgres {
            format!(
                "{} transactions, {} serialization retries ({:.2} per flow)",
                self.counters.batches,
                self.counters.jobs,
                self.counters.jobs / n
            )
        } else {
            format!(
                "{} write jobs in {} commits, writer busy {:.0} us per flow",
                self.counters.jobs,
                self.counters.batches,
                self.counters.busy_micros / n
            )
        };
        println!(
            "[round {}] {} {}: {:.0} flows/s ({} in {:.2} s, {} errors, {} HTTP 5xx); p50 {:.1} ms, \
             p99 {:.1} ms; cpu per flow: server {:.0} us, SQLite writer {:.0} us, database \
             processes {:.0} us, HAProxy {:.0} us, load generator {:.0} us, total {:.0} us; store: {store}; \
             retention: {:.0} old logins pruned/s; RSS {:.1} -> {:.1} MiB",
            self.round,
            self.leg,
            self.flow,
            self.rate(),
            self.latencies.len(),
            self.secs,
            self.errors,
            self.counters.http_5xx,
            pct(&sorted, 0.5),
            pct(&sorted, 0.99),
            us(c.server),
            us(c.writer),
            us(c.db),
            us(c.proxy),
            us(c.client),
            us(c.total()),
            self.counters.pruned_requests / self.secs.max(1e-9),
            self.rss_mib.0,
            self.rss_mib.1
        );
    }
}

/// The `p` quantile of sorted `all`, in milliseconds.
fn pct(all: &[Duration], p: f64) -> f64 {
    if all.is_empty() {
        return 0.0;
    }
    let i = ((all.len() as f64 - 1.0) * p).round() as usize;
    all[i].as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Prints the run's summary: per flow and leg, the median flows/s over the rounds, p50 and
/// p99 of every round's flows pooled, CPU per flow, retries per flow, and the ratio to the
/// first leg (the median of the rounds' ratios, each round's legs measured one after the
/// other).
pub(super) fn summary(phases: &[Phase], legs: &[String], load: &str) {
    println!("summary ({load}):");
    let mut flows: Vec<&str> = Vec::new();
    for p in phases {
        if !flows.contains(&p.flow) {
            flows.push(p.flow);
        }
    }
    for flow in flows {
        let by_round = |leg: &str| -> BTreeMap<u64, f64> {
            phases
                .iter()
                .filter(|p| p.flow == flow && p.leg == leg)
                .map(|p| (p.round, p.rate()))
                .collect()
        };
        let first = legs.first().map(|l| by_round(l)).unwrap_or_default();
        for leg in legs {
            let mine: Vec<&Phase> = phases
                .iter()
                .filter(|p| p.flow == flow && &p.leg == leg)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let rates = by_round(leg);
            let mut all: Vec<Duration> = mine.iter().flat_map(|p| p.latencies.clone()).collect();
            all.sort();
            let n = all.len().max(1) as f64;
            let cpu = mine.iter().map(|p| p.cpu.total()).sum::<f64>() * 1e6 / n;
            let db = mine.iter().map(|p| p.cpu.db).sum::<f64>() * 1e6 / n;
            let retries = mine.iter().map(|p| p.counters.jobs).sum::<f64>() / n;
            let errors: u64 = mine.iter().map(|p| p.errors).sum();
            let ratios: Vec<f64> = rates
                .iter()
                .filter_map(|(r, v)| first.get(r).map(|f| v / f.max(1e-9)))
                .collect();
            let round_rates: Vec<String> = rates.values().map(|v| format!("{v:.0}")).collect();
            println!(
                "  {flow:7} {leg:18} {:6.0} flows/s (rounds: {}), p50 {:.1} ms, p99 {:.1} ms, \
                 cpu {cpu:.0} us per flow (database processes {db:.0}){}, errors {errors}; \
                 ratio to {}: {:.2}",
                median(rates.values().copied().collect()),
                round_rates.join(" "),
                pct(&all, 0.5),
                pct(&all, 0.99),
                if mine[0].postgres {
                    format!(", {retries:.3} retries per flow")
                } else {
                    String::new()
                },
                legs[0],
                median(ratios)
            );
        }
    }
}

/// The process's resident set size in MiB (Linux; 0 elsewhere).
pub(super) fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}
