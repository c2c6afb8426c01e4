// SPDX-License-Identifier: Apache-2.0
//! The accept loop: HTTP/1 and HTTP/2 connections served with hyper, with the peer address
//! attached to each request (for per-IP limits), a header read timeout, an idle timeout and
//! a cap on open connections.
//!
//! Guarantees:
//! - A new connection that has not sent a full request head within `header_timeout` is
//!   closed (slow-header and silent clients cannot hold connections), and at most
//!   `max_connections` are open at once (further clients wait in the kernel's accept
//!   backlog).
//! - An idle connection (no request in flight) is closed after `idle_timeout` since its last
//!   request ended, whatever the protocol: HTTP/1 keep-alive and HTTP/2 alike (hyper's
//!   header timer also closes an idle HTTP/1 connection after `header_timeout`). A request in
//!   flight, such as a device long-poll, is never cut by it.
//! - Every request carries `ConnectInfo<SocketAddr>` of the TCP peer.
//! - On stop, accepting ends at once and open connections finish their in-flight request
//!   (graceful shutdown); the caller bounds how long it waits.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt as _;

/// Serves `app` on `listener` until `stop` turns true (see the module guarantees).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    idle_timeout: Duration,
    max_connections: usize,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder.http2().timer(TokioTimer::new());
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = stopped(&mut stop) => break,
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
        let activity = Arc::new(Activity::new());
        let tracked = Arc::clone(&activity);
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
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // hyper's header timeout starts with the first byte; a connection that never
            // sends one would hold its slot forever, so it gets the same deadline here.
            let mut probe = [0u8; 1];
            match tokio::time::timeout(header_timeout, stream.peek(&mut probe)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            let conn = builder.serve_connection_with_upgrades(
                TokioIo::new(stream),
                TowerToHyperService::new(svc),
            );
            tokio::select! {
                r = watcher.watch(conn) => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, %peer, "connection ended with an error");
                    }
                }
                // Dropping the connection closes it; no request is in flight to lose.
                () = activity.idle_for(idle_timeout) => {
                    tracing::debug!(%peer, "idle connection closed");
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Requests in flight on one connection, and when the last one ended.
struct Activity {
    born: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `born` when the last request ended (0: none yet).
    last_end_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            born: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_end_ms: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Resolves once no request has been in flight for `limit`.
    async fn idle_for(&self, limit: Duration) {
        let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        loop {
            let wait_ms = if self.in_flight.load(Ordering::SeqCst) > 0 {
                limit_ms
            } else {
                let idle_ms = self
                    .now_ms()
                    .saturating_sub(self.last_end_ms.load(Ordering::SeqCst));
                if idle_ms >= limit_ms {
                    return;
                }
                limit_ms - idle_ms
            };
            tokio::time::sleep(Duration::from_millis(wait_ms.max(1))).await;
        }
    }
}

/// Counts one request in flight for as long as it lives.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        // The end time first, so a watcher that sees no request in flight sees a fresh end.
        self.0.last_end_ms.store(self.0.now_ms(), Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
