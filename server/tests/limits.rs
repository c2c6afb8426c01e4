// SPDX-License-Identifier: Apache-2.0
//! Abuse limits: per-client CIBA rate, per-IP enrolment rate, slow-header clients, and the
//! connection cap. Each refusal is 429 `ErrorBody` with `Retry-After`.

mod common;

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
