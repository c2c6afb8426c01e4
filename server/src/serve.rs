// SPDX-License-Identifier: Apache-2.0
//! The accept loop: HTTP/1 and HTTP/2 connections served with hyper, with the peer address
//! attached to each request (for per-IP limits), a header read timeout, an idle timeout, a
//! cap on open connections and a cap per peer.
//!
//! Guarantees:
//! - A new connection that has not sent a full request head within `header_timeout` is
//!   closed (slow-header and silent clients cannot hold connections), and at most
//!   `max_connections` are open at once (further clients wait in the kernel's accept
//!   backlog).
//! - One peer (an IPv4 address, or an IPv6 /64, keyed as the rate limits key it) holds at most
//!   `max_per_peer` connections: a new one over it closes that peer's idlest connection (no
//!   request in flight), or, when all of them have a request in flight, is itself closed at
//!   once.
//! - When the open count nears the global cap (within a sixteenth of it), each new connection
//!   closes the idlest connection of the peer that holds the most (one that has an idle
//!   one), so one host cannot keep every slot and make other hosts wait in the backlog.
//!   There, "idle" also means nothing received for 100 ms (`SHED_GRACE`): a connection
//!   whose request is still arriving (its head not yet read whole) is never cut for another
//!   peer. While full, the accept loop looks for such a connection again every 25 ms.
//!   Choosing costs a walk over the open connections, only while the server is that full.
//! - An idle connection (no request in flight) is closed after `idle_timeout` since its last
//!   request ended, whatever the protocol: HTTP/1 keep-alive and HTTP/2 alike (hyper's
//!   header timer also closes an idle HTTP/1 connection after `header_timeout`). A request in
//!   flight, such as a device long-poll, is never cut by it, nor by shedding: a shed connection
//!   is shut down gracefully (HTTP/1 finishes the request being served, HTTP/2 sends GOAWAY and
//!   finishes its streams).
//! - Every request carries `ConnectInfo<SocketAddr>` of the TCP peer.
//! - On stop, accepting ends at once and open connections finish their in-flight request
//!   (graceful shutdown); the caller bounds how long it waits.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify, Semaphore};
use tower::ServiceExt as _;

use crate::limits::ip_key;

/// How long a connection must have received nothing (and have no request in flight) before
/// shedding for another peer may close it: a request that is still arriving is not cut. The
/// server reads what arrives at once, so 100 ms is far above the time between a request's
/// first byte and its head being whole on loopback or a LAN, and well below the gap between
/// keep-alive requests of a flooding client (a shorter grace frees slots faster).
const SHED_GRACE: Duration = Duration::from_millis(100);

/// The connection limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    /// Deadline for a request head (and for a silent new connection's first byte).
    pub(crate) header_timeout: Duration,
    /// Time without a request in flight after which a connection is closed.
    pub(crate) idle_timeout: Duration,
    /// Most open connections.
    pub(crate) max_connections: usize,
    /// Most open connections of one peer.
    pub(crate) max_per_peer: usize,
}

/// Serves `app` on `listener` until `stop` turns true (see the module guarantees).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    let max = limits.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    let table = Arc::new(ConnTable::new(max, limits.max_per_peer));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    'accept: loop {
        let permit = loop {
            if permits.available_permits() == 0 {
                // Full: free a slot from the heaviest peer rather than wait for an idle
                // timeout, and look again while full (a connection leaves its grace).
                table.shed_heaviest();
            }
            tokio::select! {
                p = Arc::clone(&permits).acquire_owned() => match p {
                    Ok(p) => break p,
                    Err(_) => break 'accept,
                },
                () = tokio::time::sleep(SHED_GRACE / 4) => {}
                () = stopped(&mut stop) => break 'accept,
            }
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let Some(conn) = ConnTable::admit(&table, ip_key(peer.ip())) else {
            tracing::debug!(%peer, "connection refused: the peer's connections are all busy");
            continue;
        };
        table.relieve();
        let tracked = Arc::clone(&conn.entry);
        let svc = app
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req.map(Body::new)
            })
            .map_future(move |response| {
                let in_flight = InFlight::new(Arc::clone(&tracked));
                async move {
                    let r = response.await;
                    drop(in_flight);
                    r
                }
            });
        let builder = builder.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let entry = Arc::clone(&conn.entry);
            // hyper's header timeout starts with the first byte; a connection that never
            // sends one would hold its slot forever, so it gets the same deadline here.
            let mut probe = [0u8; 1];
            tokio::select! {
                r = tokio::time::timeout(limits.header_timeout, stream.peek(&mut probe)) => {
                    if !matches!(r, Ok(Ok(n)) if n > 0) {
                        return;
                    }
                }
                () = entry.shed.notified() => return,
                () = stopped(&mut stop) => return,
            }
            entry.activity.touch();
            let watched = Watched {
                inner: stream,
                entry: Arc::clone(&entry),
            };
            let served = builder.serve_connection_with_upgrades(
                TokioIo::new(watched),
                TowerToHyperService::new(svc),
            );
            tokio::pin!(served);
            let mut closing = false;
            loop {
                tokio::select! {
                    r = served.as_mut() => {
                        if let Err(e) = r {
                            tracing::debug!(error = %e, %peer, "connection ended with an error");
                        }
                        break;
                    }
                    // Graceful: an HTTP/1 request being served finishes, HTTP/2 streams too.
                    () = entry.shed.notified(), if !closing => {
                        served.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    () = stopped(&mut stop), if !closing => {
                        served.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    // Dropping the connection closes it; no request is in flight to lose.
                    () = entry.activity.idle_for(limits.idle_timeout) => {
                        tracing::debug!(%peer, "idle connection closed");
                        break;
                    }
                }
            }
            drop(conn);
            drop(permit);
        });
    }
    drop(listener);
    // Every connection task holds a permit until it ends.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

/// One open connection as the table sees it.
struct Entry {
    activity: Activity,
    /// Told to close the connection gracefully.
    shed: Notify,
    /// Set once told, so it is not chosen again (it stays counted until it is gone).
    shedding: AtomicBool,
}

impl Entry {
    /// How long it has been quiet (no request in flight, nothing received), or `None` when
    /// busy, already shedding, or quiet for less than `grace_ms`.
    fn quiet_ms(&self, grace_ms: u64) -> Option<u64> {
        if self.shedding.load(Ordering::SeqCst) {
            return None;
        }
        self.activity.quiet_ms().filter(|ms| *ms >= grace_ms)
    }

    fn shed(&self) {
        self.shedding.store(true, Ordering::SeqCst);
        self.shed.notify_one();
    }
}

/// The open connections by peer key.
struct ConnTable {
    max_per_peer: usize,
    /// Open count at which new connections shed the heaviest peer's idlest connection.
    high_water: usize,
    peers: Mutex<HashMap<String, Vec<Arc<Entry>>>>,
    open: AtomicUsize,
}

/// A connection registered in the table; leaves it when dropped.
struct Registered {
    table: Arc<ConnTable>,
    key: String,
    entry: Arc<Entry>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut peers = self.table.lock();
        if let Some(list) = peers.get_mut(&self.key) {
            list.retain(|e| !Arc::ptr_eq(e, &self.entry));
            if list.is_empty() {
                peers.remove(&self.key);
            }
        }
        self.table.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ConnTable {
    fn new(max_connections: usize, max_per_peer: usize) -> Self {
        let headroom = (max_connections / 16).max(1);
        Self {
            max_per_peer: max_per_peer.max(1),
            high_water: max_connections.saturating_sub(headroom).max(1),
            peers: Mutex::new(HashMap::new()),
            open: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Arc<Entry>>>> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a new connection of `key`. At the peer's cap, its idlest connection is shed
    /// first; `None` (refuse) when all of them have a request in flight.
    fn admit(table: &Arc<Self>, key: String) -> Option<Registered> {
        let mut peers = table.lock();
        let list = peers.entry(key.clone()).or_default();
        let live = list
            .iter()
            .filter(|e| !e.shedding.load(Ordering::SeqCst))
            .count();
        if live >= table.max_per_peer {
            // The peer competes with itself here: any of its connections without a request
            // in flight may go.
            idlest(list, 0)?.shed();
        }
        let entry = Arc::new(Entry {
            activity: Activity::new(),
            shed: Notify::new(),
            shedding: AtomicBool::new(false),
        });
        list.push(Arc::clone(&entry));
        table.open.fetch_add(1, Ordering::SeqCst);
        Some(Registered {
            table: Arc::clone(table),
            key,
            entry,
        })
    }

    /// Near the cap, sheds one idle connection of the heaviest peer.
    fn relieve(&self) {
        if self.open.load(Ordering::SeqCst) >= self.high_water {
            self.shed_heaviest();
        }
    }

    /// Sheds the idlest connection of the peer with the most connections that has one idle.
    fn shed_heaviest(&self) {
        let grace_ms = u64::try_from(SHED_GRACE.as_millis()).unwrap_or(u64::MAX);
        let peers = self.lock();
        let victim = peers
            .values()
            .filter_map(|list| idlest(list, grace_ms).map(|e| (list.len(), e)))
            .max_by_key(|(len, _)| *len);
        if let Some((_, e)) = victim {
            e.shed();
        }
    }
}

/// The connection of `list` quiet the longest, at least `grace_ms` (never one with a request
/// in flight).
fn idlest(list: &[Arc<Entry>], grace_ms: u64) -> Option<&Arc<Entry>> {
    list.iter()
        .filter_map(|e| e.quiet_ms(grace_ms).map(|ms| (ms, e)))
        .max_by_key(|(ms, _)| *ms)
        .map(|(_, e)| e)
}

/// Requests in flight on one connection, and when the last one ended.
struct Activity {
    born: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `born` when the last request ended (0: none yet).
    last_end_ms: AtomicU64,
    /// Milliseconds after `born` when bytes were last received (0: none yet).
    last_read_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            born: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_end_ms: AtomicU64::new(0),
            last_read_ms: AtomicU64::new(0),
        }
    }

    /// Notes that bytes were received.
    fn touch(&self) {
        self.last_read_ms.store(self.now_ms(), Ordering::SeqCst);
    }

    /// Milliseconds since the last request ended or bytes were received (or since the
    /// connection opened), `None` while a request is in flight.
    fn quiet_ms(&self) -> Option<u64> {
        let idle = self.idle_ms()?;
        let read = self
            .now_ms()
            .saturating_sub(self.last_read_ms.load(Ordering::SeqCst));
        Some(idle.min(read))
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Milliseconds since the last request ended (or since the connection opened), `None`
    /// while a request is in flight.
    fn idle_ms(&self) -> Option<u64> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        Some(
            self.now_ms()
                .saturating_sub(self.last_end_ms.load(Ordering::SeqCst)),
        )
    }

    /// Resolves once no request has been in flight for `limit`.
    async fn idle_for(&self, limit: Duration) {
        let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        loop {
            let wait_ms = match self.idle_ms() {
                None => limit_ms,
                Some(idle_ms) if idle_ms >= limit_ms => return,
                Some(idle_ms) => limit_ms - idle_ms,
            };
            tokio::time::sleep(Duration::from_millis(wait_ms.max(1))).await;
        }
    }
}

/// Counts one request in flight for as long as it lives.
struct InFlight(Arc<Entry>);

impl InFlight {
    fn new(entry: Arc<Entry>) -> Self {
        entry.activity.in_flight.fetch_add(1, Ordering::SeqCst);
        Self(entry)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0.activity;
        // The end time first, so a watcher that sees no request in flight sees a fresh end.
        a.last_end_ms.store(a.now_ms(), Ordering::SeqCst);
        a.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The connection's socket, noting each receipt of bytes in its [`Activity`].
struct Watched {
    inner: tokio::net::TcpStream,
    entry: Arc<Entry>,
}

impl tokio::io::AsyncRead for Watched {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.entry.activity.touch();
        }
        r
    }
}

impl tokio::io::AsyncWrite for Watched {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy(e: &Entry) {
        e.activity.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn the_peer_cap_sheds_the_idlest_or_refuses_when_all_are_busy() {
        let t = Arc::new(ConnTable::new(100, 2));
        let a = ConnTable::admit(&t, "a".into()).expect("first");
        std::thread::sleep(Duration::from_millis(5));
        let b = ConnTable::admit(&t, "a".into()).expect("second");
        let c = ConnTable::admit(&t, "a".into()).expect("third sheds the idlest");
        assert!(
            a.entry.shedding.load(Ordering::SeqCst),
            "the older idle one"
        );
        assert!(!b.entry.shedding.load(Ordering::SeqCst));
        busy(&b.entry);
        busy(&c.entry);
        assert!(
            ConnTable::admit(&t, "a".into()).is_none(),
            "all busy: refused"
        );
        assert!(
            ConnTable::admit(&t, "b".into()).is_some(),
            "another peer is fine"
        );
        drop(a);
        assert_eq!(t.open.load(Ordering::SeqCst), 2, "b and c");
    }

    #[test]
    fn near_the_cap_the_heaviest_peer_loses_an_idle_connection() {
        let t = Arc::new(ConnTable::new(16, 100));
        let mut heavy = Vec::new();
        for _ in 0..10 {
            heavy.push(ConnTable::admit(&t, "heavy".into()).expect("admit"));
        }
        let light: Vec<_> = (0..4)
            .map(|_| ConnTable::admit(&t, "light".into()).expect("admit"))
            .collect();
        std::thread::sleep(SHED_GRACE + Duration::from_millis(50));
        t.relieve();
        assert!(
            heavy
                .iter()
                .chain(&light)
                .all(|c| !c.entry.shedding.load(Ordering::SeqCst)),
            "below the high-water mark (15) nothing is shed"
        );
        let new = ConnTable::admit(&t, "light".into()).expect("admit");
        std::thread::sleep(SHED_GRACE + Duration::from_millis(50));
        t.relieve();
        assert_eq!(
            heavy
                .iter()
                .filter(|c| c.entry.shedding.load(Ordering::SeqCst))
                .count(),
            1
        );
        assert!(light
            .iter()
            .all(|c| !c.entry.shedding.load(Ordering::SeqCst)));
        // Busy connections are never chosen, even of the heaviest peer.
        for c in &heavy {
            busy(&c.entry);
        }
        t.relieve();
        assert_eq!(
            light
                .iter()
                .chain([&new])
                .filter(|c| c.entry.shedding.load(Ordering::SeqCst))
                .count(),
            1,
            "the heaviest peer with an idle connection"
        );
    }

    #[test]
    fn another_peer_s_arriving_request_is_never_shed() {
        let t = Arc::new(ConnTable::new(4, 100));
        let heavy: Vec<_> = (0..3)
            .map(|_| ConnTable::admit(&t, "heavy".into()).expect("admit"))
            .collect();
        for c in &heavy {
            busy(&c.entry);
        }
        // Just accepted (its request still arriving): within the grace, not a candidate.
        let fresh = ConnTable::admit(&t, "light".into()).expect("admit");
        t.shed_heaviest();
        assert!(!fresh.entry.shedding.load(Ordering::SeqCst));
        std::thread::sleep(SHED_GRACE + Duration::from_millis(50));
        fresh.entry.activity.touch();
        t.shed_heaviest();
        assert!(
            !fresh.entry.shedding.load(Ordering::SeqCst),
            "bytes just came in"
        );
        std::thread::sleep(SHED_GRACE + Duration::from_millis(50));
        t.shed_heaviest();
        assert!(
            fresh.entry.shedding.load(Ordering::SeqCst),
            "quiet for the grace"
        );
    }
}
