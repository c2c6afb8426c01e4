// SPDX-License-Identifier: Apache-2.0
//! A loopback HTTP/1.1 server that misbehaves on purpose, for the shells' transport tests
//! (the platform HTTP stacks must keep the library's transport contract against it):
//!
//! - `GET /redirect/...` answers `302` to `/target/qr/issuer-keys`;
//! - `GET /target/...` answers `{"keys":[]}` and counts the hit; `GET /hits` gives the count;
//! - `GET /huge/...` streams 4 MiB with no length announced (past the 1 MiB bound).
//!
//! Every answer closes its connection. Requests are read with a 5 s deadline and a 16 KiB cap.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Serves until the process ends.
pub(crate) async fn serve(listener: TcpListener) {
    let hits = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let hits = Arc::clone(&hits);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(30), answer(stream, &hits)).await;
        });
    }
}

async fn answer(mut stream: TcpStream, hits: &AtomicUsize) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
    let local = stream.local_addr()?;
    if path.starts_with("/redirect") {
        let head = format!(
            "HTTP/1.1 302 Found\r\nLocation: http://{local}/target/qr/issuer-keys\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await?;
    } else if path.starts_with("/target") {
        hits.fetch_add(1, Ordering::SeqCst);
        json(&mut stream, "{\"keys\":[]}").await?;
    } else if path == "/hits" {
        json(&mut stream, &hits.load(Ordering::SeqCst).to_string()).await?;
    } else if path.starts_with("/huge") {
        stream
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
            )
            .await?;
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..64 {
            // The client hangs up once it has read past its bound: stop quietly.
            if stream.write_all(&chunk).await.is_err() {
                return Ok(());
            }
        }
    } else {
        stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await?;
    }
    stream.shutdown().await
}

async fn json(stream: &mut TcpStream, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await
}
