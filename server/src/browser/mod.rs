// SPDX-License-Identifier: Apache-2.0
//! The browser login (ADR 0002): the authorization endpoint, the login page of each attempt
//! (identifier form, status long-poll, retry, continue) and its static files.
//!
//! Guarantees:
//! - An attempt answers only the browser holding its cookie: another browser that learns its
//!   id gets the "expired or opened in another browser" page (404; 404 `not_found` JSON on
//!   the status endpoint), never the attempt's data.
//! - Every form is checked against the attempt's CSRF token (constant time) before it does
//!   anything; a missing or wrong one is a 403 page.
//! - An approved attempt opens the SSO session (`vl_session`: 4 h absolute, 30 min idle by
//!   default) and goes back to the client with a 60-second code; a refused one goes back with
//!   `access_denied`; each attempt answers the client once.
//! - Scan mode (issue 16, `scan`): an attempt of a client registered for it, or whose user
//!   asked for it on the page, shows a QR code with a fresh secret; its phone challenges
//!   are answered only with that secret's MAC (checked by `device/`).

mod authorize;
mod cookies;
mod offline;
mod page;
mod reply;
pub(crate) mod request;
mod scan;
mod status;

use axum::extract::Path;
use axum::response::{IntoResponse, Response};

pub(crate) use authorize::authorize;
pub(crate) use offline::{offline_show, offline_submit};
pub(crate) use page::{finish, retry, show, submit};
pub(crate) use status::status;

use crate::api::ApiError;

/// GET a static file of the login page.
pub(crate) async fn static_file(Path(file): Path<String>) -> Response {
    crate::pages::asset(&file).unwrap_or_else(|| ApiError::not_found().into_response())
}
