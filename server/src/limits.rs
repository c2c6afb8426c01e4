// SPDX-License-Identifier: Apache-2.0
//! Abuse limits: fixed-window request counters per key (a relying party's client id, or a
//! peer IP address), and the key of a peer address. The per-IP enrolment middleware is
//! `device`'s, the per-client CIBA check `oidc`'s.
//!
//! Guarantees:
//! - A key gets at most `max` accepted requests per window of `window_secs` seconds of the
//!   server's clock; beyond that the caller answers 429 with a `Retry-After` header.
//! - Memory is bounded: at most [`MAX_KEYS`] keys are tracked; when the table is full, the
//!   key whose window started first is evicted (it loses its count), so a flood of new keys
//!   can reset old counters but never refuses everyone.
//! - Each check costs amortised constant time under the lock, whatever the table holds: window
//!   starts are kept in a queue in the order they began, with lazy deletion (an entry whose key
//!   has since started another window is skipped when it reaches the front); every entry is
//!   pushed once and popped once, and a check pops at most two expired entries besides an
//!   eviction. No check scans the table.
//! - Peer addresses come from the accepted TCP connection (never from a header such as
//!   `X-Forwarded-For`), so a client cannot pick its own key; IPv6 peers are keyed by /64.
//!   Requests without a peer address (in-process use) share one key. Behind a reverse
//!   proxy every client shares the proxy's address: raise the limit there.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request};

/// Most keys a limiter tracks at once.
pub(crate) const MAX_KEYS: usize = 100_000;
/// Expired queue entries a check removes besides its own work (more than the one entry a
/// check may add, so the queue drains).
const HOUSEKEEPING: usize = 2;

/// A fixed-window counter per key.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    max: u32,
    window_secs: i64,
    capacity: usize,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    /// The current window of each key: start and requests counted.
    windows: HashMap<Arc<str>, (i64, u32)>,
    /// Window starts in the order they began; an entry is live while its key's window still
    /// has that start, stale otherwise (skipped when popped).
    order: VecDeque<(i64, Arc<str>)>,
}

impl Table {
    /// Pops the front entry; removes its key when the entry is live. `None` when empty.
    fn pop_front(&mut self) -> Option<bool> {
        let (start, key) = self.order.pop_front()?;
        let live = self.windows.get(&key).is_some_and(|w| w.0 == start);
        if live {
            self.windows.remove(&key);
        }
        Some(live)
    }
}

impl RateLimiter {
    /// At most `max` requests per `window_secs` per key.
    pub(crate) fn new(max: u32, window_secs: u64) -> Self {
        Self::with_capacity(max, window_secs, MAX_KEYS)
    }

    /// Like [`Self::new`], tracking at most `capacity` keys.
    pub(crate) fn with_capacity(max: u32, window_secs: u64, capacity: usize) -> Self {
        Self {
            max,
            window_secs: i64::try_from(window_secs.max(1)).unwrap_or(i64::MAX),
            capacity: capacity.max(1),
            table: Mutex::new(Table::default()),
        }
    }

    /// Counts one request of `key` at `now`; `Err(retry_after_secs)` when over the limit.
    pub(crate) fn check(&self, key: &str, now: i64) -> Result<(), u64> {
        self.check_counted(key, now).0
    }

    /// [`Self::check`], also returning how many queue entries it popped (its cost).
    fn check_counted(&self, key: &str, now: i64) -> (Result<(), u64>, usize) {
        let window = self.window_secs;
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let mut popped = 0;
        for _ in 0..HOUSEKEEPING {
            let expired = t
                .order
                .front()
                .is_some_and(|(start, _)| now.saturating_sub(*start) >= window);
            if !expired {
                break;
            }
            t.pop_front();
            popped += 1;
        }
        let restart = match t.windows.get(key) {
            Some(&(start, _)) => now.saturating_sub(start) >= window || now < start,
            None => {
                while t.windows.len() >= self.capacity {
                    popped += 1;
                    if t.pop_front().is_none() {
                        break;
                    }
                }
                true
            }
        };
        if restart {
            let key: Arc<str> = Arc::from(key);
            t.windows.insert(Arc::clone(&key), (now, 0));
            t.order.push_back((now, key));
        }
        let max = self.max;
        let Some(entry) = t.windows.get_mut(key) else {
            return (Ok(()), popped);
        };
        if entry.1 >= max {
            let left = entry.0.saturating_add(window).saturating_sub(now);
            return (Err(u64::try_from(left.max(1)).unwrap_or(1)), popped);
        }
        entry.1 += 1;
        (Ok(()), popped)
    }

    #[cfg(test)]
    fn len(&self) -> (usize, usize) {
        let t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        (t.windows.len(), t.order.len())
    }
}

/// The peer IP address of a request, if it came over TCP.
pub(crate) fn peer_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip())
}

/// The limiter key of a peer: IPv4 addresses (IPv4-mapped IPv6 included) as such, IPv6 by
/// their /64 prefix (one subscriber usually holds a whole /64, so per-address keys would
/// not limit anything).
pub(crate) fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_counts_and_resets() {
        let l = RateLimiter::new(2, 60);
        assert_eq!(l.check("a", 100), Ok(()));
        assert_eq!(l.check("a", 110), Ok(()));
        assert_eq!(l.check("a", 120), Err(40));
        assert_eq!(l.check("b", 120), Ok(()), "keys are independent");
        assert_eq!(l.check("a", 160), Ok(()), "a new window starts");
        assert_eq!(
            l.check("a", 50),
            Ok(()),
            "a clock going back starts a new window"
        );
    }

    #[test]
    fn ip_keys_group_ipv6_by_64_and_unmap_ipv4() {
        let k = |s: &str| ip_key(s.parse().expect("ip"));
        assert_eq!(k("192.0.2.1"), "192.0.2.1");
        assert_eq!(k("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(k("2001:db8:1:2:aaaa::1"), k("2001:db8:1:2:bbbb::2"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        assert_eq!(k("::1"), "0:0:0:0::/64");
    }

    #[test]
    fn full_table_still_admits_a_new_key() {
        let l = RateLimiter::new(1, 60);
        for i in 0..MAX_KEYS {
            assert!(l.check(&i.to_string(), 0).is_ok());
        }
        assert_eq!(l.check("new", 10), Ok(()), "the oldest entry is evicted");
        assert!(l.check("new", 11).is_err(), "the new key is counted");
    }

    #[test]
    fn key_table_stays_bounded_and_evicts_the_oldest_window() {
        let l = RateLimiter::with_capacity(1, 60, 3);
        for (i, k) in ["a", "b", "c"].iter().enumerate() {
            assert!(l.check(k, i64::try_from(i).expect("small")).is_ok());
        }
        assert!(l.check("d", 10).is_ok(), "full: the oldest (a) is evicted");
        assert_eq!(l.len().0, 3);
        assert!(l.check("b", 11).is_err(), "b is still counted");
        assert!(l.check("a", 12).is_ok(), "a lost its count (evicted)");
        assert!(l.len().0 <= 3);
    }

    /// The cost of a check is structural: entries popped from the queue. Each entry is pushed
    /// once (at most one per check) and popped once, so pops never exceed checks; and with
    /// the table full of live windows, a new key costs one eviction.
    #[test]
    fn checks_touch_a_bounded_number_of_entries() {
        const CAP: usize = 1000;
        let l = RateLimiter::with_capacity(2, 60, CAP);
        for i in 0..CAP {
            assert_eq!(l.check_counted(&format!("k{i}"), 0).1, 0);
        }
        for i in 0..CAP {
            let (r, popped) = l.check_counted(&format!("new{i}"), 1);
            assert!(r.is_ok(), "a full table admits a new key");
            assert_eq!(popped, 1, "one eviction, no scan");
        }
        // Mixed traffic over many windows: restarts leave stale entries behind, expiries
        // drain them; the total work stays within one pop per check.
        let (mut checks, mut pops) = (0usize, 0usize);
        for round in 0..50i64 {
            for i in 0..(3 * CAP) {
                let key = format!(
                    "m{}",
                    (i * 7 + usize::try_from(round).expect("small")) % 1500
                );
                let now = 100 + round * 31 + i64::try_from(i % 30).expect("small");
                let (_, popped) = l.check_counted(&key, now);
                assert!(popped <= HOUSEKEEPING + CAP, "{popped}");
                checks += 1;
                pops += popped;
            }
            let (keys, queued) = l.len();
            assert!(keys <= CAP, "{keys}");
            assert!(queued <= 3 * CAP, "the queue drains ({queued})");
        }
        assert!(pops <= checks, "{pops} pops for {checks} checks");
    }
}
