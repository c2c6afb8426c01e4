// SPDX-License-Identifier: Apache-2.0
//! `ReqwestTransport` keeps the transport contract against a misbehaving loopback server:
//! redirects are not followed, bodies are cut at the bound, the deadline holds.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use vistalid_core::client::{ClientError, ServerClient};
use vistalid_core::transport::{
    HttpRequest, Method, ReqwestTransport, Transport as _, TransportError,
};

/// Serves one canned answer per path prefix; counts hits on `/target`.
async fn hostile() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let (target, counter) = (base.clone(), hits.clone());
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let (target, counter) = (target.clone(), counter.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                }
                let path = String::from_utf8_lossy(&head)
                    .split(' ')
                    .nth(1)
                    .unwrap_or("/")
                    .to_owned();
                if path.starts_with("/redirect") {
                    let answer = format!(
                        "HTTP/1.1 302 Found\r\nLocation: {target}/target/device/enrol/nonce\r\n\
                         Content-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = s.write_all(answer.as_bytes()).await;
                } else if path.starts_with("/target") {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let body = r#"{"nonce":"n","expires_in":60}"#;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = s.write_all(answer.as_bytes()).await;
                } else if path.starts_with("/huge") {
                    // No length announced: the bound must be enforced while reading.
                    let _ = s
                        .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                        .await;
                    let chunk = vec![b'a'; 64 * 1024];
                    for _ in 0..64 {
                        if s.write_all(&chunk).await.is_err() {
                            return;
                        }
                    }
                } else if path.starts_with("/silent") {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                let _ = s.shutdown().await;
            });
        }
    });
    (base, hits)
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let (base, hits) = hostile().await;
    let client = ServerClient::new(&format!("{base}/redirect")).unwrap();
    assert_eq!(
        client.enrol_nonce().await,
        Err(ClientError::Server {
            status: 302,
            code: "unknown".into()
        })
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the target was contacted");
    // Control: the target answers when asked directly.
    let direct = ServerClient::new(&format!("{base}/target")).unwrap();
    assert_eq!(direct.enrol_nonce().await.unwrap().nonce, "n");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unannounced_oversized_body_is_cut_at_the_bound() {
    let (base, _) = hostile().await;
    let transport = ReqwestTransport::new().unwrap();
    let request = HttpRequest {
        method: Method::Get,
        url: format!("{base}/huge"),
        headers: Vec::new(),
        body: Vec::new(),
        timeout: Duration::from_secs(10),
        max_response_len: 1024 * 1024,
    };
    assert_eq!(transport.send(request).await, Err(TransportError::TooLarge));
    let client = ServerClient::new(&format!("{base}/huge")).unwrap();
    assert_eq!(client.enrol_nonce().await, Err(ClientError::BadResponse));
}

#[tokio::test]
async fn the_deadline_holds_against_a_silent_server() {
    let (base, _) = hostile().await;
    let transport = ReqwestTransport::new().unwrap();
    let request = HttpRequest {
        method: Method::Post,
        url: format!("{base}/silent"),
        headers: Vec::new(),
        body: b"{}".to_vec(),
        timeout: Duration::from_millis(300),
        max_response_len: 1024,
    };
    let t = Instant::now();
    let r = transport.send(request).await;
    assert_eq!(r, Err(TransportError::Timeout));
    assert!(r.unwrap_err().is_retryable());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}
