// SPDX-License-Identifier: Apache-2.0
//! Abuse limits: per-client CIBA rate, per-IP enrolment rate, slow-header clients, and the
//! connection cap. Each refusal is 429 `ErrorBody` with `Retry-After`.

mod common;

use std::future::Future as _;
use std::time::{Duration, Instant};

use common::{expect_err, read, Harness};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vistalid_core::protocol::{CodeMode, NonceResponse, PATH_DISCOVERY, PATH_ENROL_NONCE};

#[tokio::test]
async fn ciba_is_rate_limited_per_client() {
    let h = Harness::start_with(|c| {
        c.ciba_per_client_per_min = 3;
        c.max_pending_per_account = 100;
    })
    .await;
    let rp = h.client(CodeMode::Pick).await;
    let other = h.client(CodeMode::Pick).await;
    let dev = h.practitioner("10101010101").await;
    let _ = dev;
    for _ in 0..3 {
        rp.ciba(&h, "10101010101").await.expect("within the limit");
    }
    let f = expect_err(rp.ciba(&h, "10101010101").await, 429, "slow_down");
    assert!(f.body.error_description.is_some());
    // Another relying party has its own budget.
    other.ciba(&h, "10101010101").await.expect("other client");
    // Retry-After is given.
    let r = h
        .http
        .post(h.url(vistalid_core::protocol::PATH_CIBA))
        .basic_auth(&rp.id, Some(&rp.secret))
        .form(&[("scope", "openid"), ("login_hint", "10101010101")])
        .send()
        .await
        .expect("ciba");
    assert_eq!(r.status().as_u16(), 429);
    let retry: u64 = r
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    // A minute later the budget is back.
    h.clock.advance(61);
    rp.ciba(&h, "10101010101").await.expect("new window");
}

#[tokio::test]
async fn enrolment_is_rate_limited_per_ip() {
    let h = Harness::start_with(|c| c.enrol_per_ip_per_min = 4).await;
    let nonce = || async {
        let r = h
            .http
            .post(h.url(PATH_ENROL_NONCE))
            .send()
            .await
            .expect("nonce");
        read::<NonceResponse>(r).await
    };
    for _ in 0..4 {
        nonce().await.expect("within the limit");
    }
    expect_err(nonce().await, 429, "too_many_requests");
    // Enrol shares the budget: refused before its body is even looked at.
    let r = h
        .http
        .post(h.url(vistalid_core::protocol::PATH_ENROL))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("enrol");
    expect_err(read::<Value>(r).await, 429, "too_many_requests");
    h.clock.advance(60);
    nonce().await.expect("new window");
}

/// Slowloris: many connections dribbling a request head. Good requests still complete
/// quickly, and the slow connections are closed after the header read timeout.
#[tokio::test]
async fn slow_header_clients_cannot_hold_the_server() {
    let h = Harness::start_with(|c| c.header_read_timeout_secs = 1).await;
    let addr = h.server.addr();
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .expect("write");
        slow.push(s);
    }
    // Keep dribbling on a few while good requests run.
    let start = Instant::now();
    for _ in 0..20 {
        let t = Instant::now();
        let r = h
            .http
            .get(h.url(PATH_DISCOVERY))
            .send()
            .await
            .expect("discovery");
        assert!(r.status().is_success());
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "a good request took {:?}",
            t.elapsed()
        );
    }
    for s in slow.iter_mut().take(10) {
        let _ = s.write_all(b"a").await;
    }
    // After the timeout, every slow connection is closed by the server (EOF or a 408 head).
    tokio::time::sleep(Duration::from_millis(1500).saturating_sub(start.elapsed())).await;
    let mut closed = 0;
    for mut s in slow {
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            Ok(Ok(n)) => {
                assert!(
                    String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
                    "unexpected answer to a slow head"
                );
                closed += 1;
            }
            Err(_) => {}
        }
    }
    assert_eq!(closed, 200, "every slow connection is closed");
}

/// An HTTP/1 keep-alive connection left idle after a request is closed (hyper's header timer
/// runs while it waits for the next request head).
#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let h = Harness::start_with(|c| c.header_read_timeout_secs = 1).await;
    let mut s = TcpStream::connect(h.server.addr()).await.expect("connect");
    let head = format!("GET {PATH_DISCOVERY} HTTP/1.1\r\nHost: x\r\n\r\n");
    s.write_all(head.as_bytes()).await.expect("write");
    // Read the whole answer (its Content-Length), keeping the connection open.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let answered = loop {
        let n = s.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .expect("content-length")
                .trim()
                .parse()
                .expect("length");
            if got.len() >= end + 4 + len {
                break Instant::now();
            }
        }
    };
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    let n = tokio::time::timeout(Duration::from_secs(4), s.read(&mut buf))
        .await
        .expect("the server must close an idle keep-alive connection")
        .unwrap_or(0);
    assert_eq!(n, 0, "no data on an idle connection");
    assert!(
        answered.elapsed() >= Duration::from_millis(900),
        "closed too early"
    );
}

/// A request body that arrives after `delay`.
struct SlowBody {
    delay: std::pin::Pin<Box<tokio::time::Sleep>>,
    sent: bool,
}

impl hyper::body::Body for SlowBody {
    type Data = hyper::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if this.sent {
            return std::task::Poll::Ready(None);
        }
        std::task::ready!(this.delay.as_mut().poll(cx));
        this.sent = true;
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(
            hyper::body::Bytes::from_static(b"{}"),
        ))))
    }
}

/// HTTP/2 has no header timer between requests: the server's own idle timeout closes the
/// connection once no request is in flight, and never cuts one that is (a slow upload here).
#[tokio::test]
async fn idle_http2_connections_are_closed_but_requests_in_flight_are_not_cut() {
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let h = Harness::start_with(|c| c.idle_timeout_secs = 1).await;
    let stream = TcpStream::connect(h.server.addr()).await.expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    let driver = tokio::spawn(conn);
    let uri = format!(
        "http://{}{}",
        h.server.addr(),
        vistalid_core::protocol::PATH_ENROL
    );
    let started = Instant::now();
    let req = hyper::Request::post(uri.as_str())
        .header("content-type", "application/json")
        .body(SlowBody {
            delay: Box::pin(tokio::time::sleep(Duration::from_millis(2500))),
            sent: false,
        })
        .expect("request");
    let resp = sender.send_request(req).await.expect("answered, not cut");
    assert!(started.elapsed() >= Duration::from_millis(2400));
    assert!(resp.status().is_client_error(), "{}", resp.status());
    let answered = Instant::now();
    tokio::time::timeout(Duration::from_secs(4), driver)
        .await
        .expect("the server must close an idle HTTP/2 connection")
        .expect("driver task")
        .ok();
    assert!(
        answered.elapsed() >= Duration::from_millis(900),
        "closed too early"
    );
}

/// Over the connection cap, new clients wait (they are not refused) and are served as soon
/// as a slot frees.
#[tokio::test]
async fn connection_cap_queues_instead_of_failing() {
    let h = Harness::start_with(|c| {
        c.max_connections = 4;
        c.header_read_timeout_secs = 1;
    })
    .await;
    let addr = h.server.addr();
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(addr).await.expect("connect"));
    }
    let t = Instant::now();
    let r = h
        .http
        .get(h.url(PATH_DISCOVERY))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("served once the idle connections time out");
    assert!(r.status().is_success());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    drop(idle);
}
