// SPDX-License-Identifier: Apache-2.0
//! Connection slots under a one-host flood (issue 13 item 2): one address cannot hold every
//! slot. A per-IP cap (IPv6 per /64) bounds one peer, idle keep-alive connections of the
//! heaviest peer are shed first when the global cap nears, and a request in flight is never
//! cut. Linux routes all of 127.0.0.0/8 to loopback, so sockets bound to 127.0.0.2 and
//! 127.0.0.3 play other hosts.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use common::Harness;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use vistalid_core::protocol::{CodeMode, Decision, PATH_CHALLENGES, PATH_DISCOVERY};

const RPPS: &str = "10101010101";

/// A TCP connection to `server` from the loopback address `from`.
async fn connect_from(from: Ipv4Addr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(from), 0))?;
    socket.connect(server).await
}

/// Sends one HTTP/1.1 GET on `s` (keep-alive) and reads the whole answer; its status.
async fn get(s: &mut TcpStream, path: &str, bearer: Option<&str>) -> std::io::Result<u16> {
    let auth = bearer.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\n").as_bytes())
        .await?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        let Some(end) = text.find("\r\n\r\n") else {
            continue;
        };
        let len: usize = text[..end]
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(|v| v.trim().to_owned())
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if got.len() >= end + 4 + len {
            let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
            return Ok(status);
        }
    }
}

/// True once the server has closed `s` (EOF or reset), waiting at most `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(within, s.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

/// More keep-alive sockets than the global cap from 127.0.0.1, each sending a request every
/// half second and reconnecting when closed; meanwhile whole logins from 127.0.0.2, each on new
/// connections, keep completing within a deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_cannot_hold_every_slot_while_another_logs_in() {
    const CAP: usize = 16;
    let mut h = Harness::start_with(|c| {
        c.max_connections = CAP;
        c.ciba_per_client_per_min = 10_000;
    })
    .await;
    let rp = h.client(CodeMode::Pick).await;
    let dev = h.practitioner(RPPS).await;
    let addr = h.server.addr();

    let mut flood = Vec::new();
    for _ in 0..3 * CAP {
        flood.push(tokio::spawn(async move {
            loop {
                let Ok(mut s) = TcpStream::connect(addr).await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                while get(&mut s, PATH_DISCOVERY, None).await.is_ok() {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Every request of the other host opens a new connection (no pool), as new browsers and
    // relying-party backends do.
    h.http = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    for _ in 0..5 {
        let started = Instant::now();
        let login = async {
            let ciba = rp.ciba(&h, RPPS).await.expect("CIBA request");
            let c = dev.one_challenge(&h).await;
            dev.answer(&h, &c.id, Decision::Approve, Some(&ciba.dynamic_code))
                .await
                .expect("approved");
            rp.token(&h, &ciba.auth_req_id).await.expect("token")
        };
        let token = tokio::time::timeout(Duration::from_secs(8), login)
            .await
            .expect("a login completes within 8 s during the flood");
        assert!(token["id_token"].is_string());
        eprintln!("login during the flood: {:?}", started.elapsed());
    }
    for t in flood {
        t.abort();
    }
}

/// The per-IP cap: a fifth connection of one address sheds that address's idlest keep-alive
/// connection; when all of them have a request in flight (long-polls), the new one is closed
/// at once and the requests in flight finish normally. Other addresses are not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_ip_cap_sheds_idle_connections_and_never_cuts_requests_in_flight() {
    let h = Harness::start_with(|c| {
        c.max_connections_per_ip = 4;
        c.enrol_per_ip_per_min = 1000;
    })
    .await;
    let addr = h.server.addr();
    let a = Ipv4Addr::new(127, 0, 0, 2);
    let mut idle = Vec::new();
    for i in 0..10 {
        let mut s = connect_from(a, addr).await.expect("connect");
        assert_eq!(
            get(&mut s, PATH_DISCOVERY, None).await.expect("served"),
            200
        );
        idle.push(s);
        if i >= 4 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let (older, newest) = idle.split_at_mut(6);
    for (i, s) in older.iter_mut().enumerate() {
        assert!(
            closed_within(s, Duration::from_secs(2)).await,
            "idle connection {i} was shed"
        );
    }
    for s in newest.iter_mut() {
        assert!(
            !closed_within(s, Duration::from_millis(300)).await,
            "the 4 newest stay"
        );
        assert_eq!(get(s, PATH_DISCOVERY, None).await.expect("reusable"), 200);
    }

    // Four long-polls in flight from 127.0.0.3.
    let b = Ipv4Addr::new(127, 0, 0, 3);
    let mut polls = Vec::new();
    for i in 0..4 {
        let dev = h.practitioner(&format!("2020202020{i}")).await;
        let token = dev.enrolment.poll_token.clone();
        let mut s = connect_from(b, addr).await.expect("connect");
        polls.push(tokio::spawn(async move {
            let t = Instant::now();
            let path = format!("{PATH_CHALLENGES}?wait=3");
            let status = get(&mut s, &path, Some(&token)).await;
            (status.ok(), t.elapsed())
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut fifth = connect_from(b, addr).await.expect("kernel accepts");
    let refused = match get(&mut fifth, PATH_DISCOVERY, None).await {
        Err(_) => true,
        Ok(status) => panic!("a fifth connection was served ({status})"),
    };
    assert!(refused);
    // Another address is served meanwhile.
    let mut other = connect_from(Ipv4Addr::new(127, 0, 0, 4), addr)
        .await
        .expect("connect");
    assert_eq!(
        get(&mut other, PATH_DISCOVERY, None).await.expect("ok"),
        200
    );
    for p in polls {
        let (status, took) = p.await.expect("task");
        assert_eq!(status, Some(200), "the long-poll finished normally");
        assert!(took >= Duration::from_millis(2900), "{took:?}");
    }
}
