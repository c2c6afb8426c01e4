// SPDX-License-Identifier: Apache-2.0
//! The shells' stand-in for a phone camera (scan mode, issue 16): `POST /scan` with a login
//! page's HTML answers the text of its QR code (read from the inline SVG with a QR decoder,
//! `vistalid_e2e::qr_text_of_page`), or 422 when the page holds no readable code. The
//! Kotlin and Swift tests then hand that text to `scanLogin` through the real bindings.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use tokio::net::TcpListener;

/// Serves until the process ends.
pub(crate) async fn serve(listener: TcpListener) {
    let app = Router::new().route("/scan", post(scan));
    let _ = axum::serve(listener, app).await;
}

async fn scan(body: Bytes) -> Result<String, StatusCode> {
    let html = std::str::from_utf8(&body).map_err(|_| StatusCode::UNPROCESSABLE_ENTITY)?;
    vistalid_e2e::qr_text_of_page(html).ok_or(StatusCode::UNPROCESSABLE_ENTITY)
}
