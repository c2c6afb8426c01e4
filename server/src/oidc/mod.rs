// SPDX-License-Identifier: Apache-2.0
//! The relying parties' side: OIDC discovery, JWKS, CIBA backchannel authentication (poll
//! mode) and the token endpoint (next: authorization, userinfo, logout, sessions).
//!
//! Guarantees:
//! - Clients authenticate with HTTP Basic only (see `clients`).
//! - A CIBA request is refused for insured accounts (400 `unknown_user_id`: their
//!   pseudonymous id is in every offline QR), for accounts the login guard holds, and when a
//!   shown text is not display-safe (`vistalid_core::text`). It queues one signed challenge
//!   per active device of the account (see `login`), at most `max_pending_per_account`
//!   pending requests per account (push-fatigue guard: beyond it, 429 `slow_down`), and at
//!   most `ciba_per_client_per_min` requests per client per minute (beyond it, 429
//!   `slow_down` with `Retry-After`).
//! - The token endpoint answers the CIBA poll errors (`authorization_pending`, `slow_down`,
//!   `access_denied`, `expired_token`, `invalid_grant`, `invalid_client`) and issues the ID
//!   token exactly once, only to the client that made the request.

mod ciba;
mod discovery;
mod token;

pub(crate) use ciba::ciba;
pub(crate) use discovery::{authorize, discovery, jwks};
pub(crate) use token::token;
