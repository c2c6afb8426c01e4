// SPDX-License-Identifier: Apache-2.0
//! The relying parties' side: OIDC discovery, JWKS, CIBA backchannel authentication (poll
//! mode), the token endpoint (CIBA, `authorization_code` and `refresh_token` grants),
//! userinfo and RP-initiated logout (the authorization endpoint and the login page are
//! `browser`).
//!
//! Guarantees:
//! - At the token endpoint, clients authenticate with HTTP Basic or with `client_id` and
//!   `client_secret` in the form, never both (see `clients`); at CIBA, with HTTP Basic.
//! - A CIBA request names the account by its login identifier (never by the pseudonymous id
//!   every offline QR carries: 400 `unknown_user_id`); it is refused for accounts the login
//!   guard holds, and when a
//!   shown text is not display-safe (`vistalid_core::text`). It queues one signed challenge
//!   per active device of the account (see `login`), at most `max_pending_per_account`
//!   pending requests per account (push-fatigue guard: beyond it, 429 `slow_down`), and at
//!   most `ciba_per_client_per_min` requests per client per minute (beyond it, 429
//!   `slow_down` with `Retry-After`).
//! - The token endpoint answers the CIBA poll errors (`authorization_pending`, `slow_down`,
//!   `access_denied`, `expired_token`, `invalid_grant`, `invalid_client`) and issues the ID
//!   token exactly once, only to the client that made the request.

mod ciba;
mod code_grant;
mod discovery;
mod issued;
mod logout;
mod page;
mod refresh;
mod token;
mod token_request;
mod userinfo;

pub(crate) use ciba::ciba;
pub(crate) use discovery::{discovery, jwks};
pub(crate) use logout::{logout_get, logout_post};
pub(crate) use token::token;
pub(crate) use userinfo::{userinfo_get, userinfo_post};

/// The scopes this server grants (discovery's `scopes_supported`).
pub(crate) const SCOPES: &[&str] = &["openid"];
