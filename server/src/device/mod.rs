// SPDX-License-Identifier: Apache-2.0
//! The wallets' side: enrolment, the challenge long-poll, and signed answers.
//!
//! Guarantees:
//! - Enrolment needs a live single-use nonce, a proof of possession of the new key bound to
//!   this server (`aud`) and that nonce, and a valid activation code. Codes are stored as
//!   hashes, compared in constant time, die after the configured number of wrong tries or
//!   at expiry, and work once. Nonce and enrolment requests share a per-IP budget.
//! - A device sees only its own pending, unexpired challenges, and only with its poll token
//!   while it is not revoked.
//! - An answer counts only if signed by the device the challenge was queued for, for that
//!   challenge id, before expiry, once. A wrong code denies the login and is counted; "not
//!   me" denies it and files a fraud report; both feed the account's login guard.
//! - A wrong activation code answers the same (403 `invalid_activation_code`, same
//!   description) whether its lookup is unknown or known with a wrong secret, in any state; a
//!   wrong secret costs a try of a live code. Only the right secret learns that a code is
//!   used, expired or locked.
//! - Device-signed times are compared without overflow, whatever value they hold.
//! - A PIN guess (issue 18) is counted and committed before the server evaluates it, and
//!   refused at the device's limit, whose key is then erased; only a confirmation signed by
//!   the key sealed in the account's PIN tier resets the count. Both requests are signed,
//!   fresh and single-use.
//! - An answer to a scan-mode challenge (issue 16) counts only with the MAC of the login
//!   page's QR secret over its challenge id and decision (`scan_mac`).

mod answer;
mod challenges;
mod enrol;
// The challenge key's rollover statements (issue 19, branch keys19).
mod key_rollover;
mod pin_confirm;
mod pin_guard;
mod pin_guess;
mod push_token;
mod scan_mac;

pub(crate) use answer::answer;
pub(crate) use challenges::challenges;
pub(crate) use enrol::{enrol, enrol_nonce, enrol_per_ip};
pub(crate) use key_rollover::key_rollover;
pub(crate) use pin_confirm::pin_confirm;
pub(crate) use pin_guess::pin_guess;
pub(crate) use push_token::push_token;

/// Clock skew tolerated on device-signed `iat` values, in seconds.
const SKEW_SECS: i64 = 300;
