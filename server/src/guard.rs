// SPDX-License-Identifier: Apache-2.0
//! The login guard of an account: what a user's answers say about the next CIBA requests for
//! that account, whichever relying party makes them.
//!
//! Guarantees:
//! - After a "this was not me" answer, new requests for the account are refused for
//!   `not_me_hold_secs` (counted from the latest report) with 403 `access_denied`, a
//!   description naming the reason and `Retry-After`. CIBA Core §13 lists `access_denied`
//!   (403) for a request the OpenID Provider denies; the user's own report is that denial.
//! - After `n` wrong code picks in a row, new requests wait `wrong_pick_backoff_secs *
//!   2^(n-1)` seconds from the latest wrong pick, at most `wrong_pick_backoff_max_secs`, with
//!   429 `slow_down` (as the push-fatigue guard), a description naming the reason and
//!   `Retry-After`. A right pick ends the streak; a plain "deny" changes nothing.
//! - The state lives in the `accounts` row (`not_me_until`, `wrong_streak`,
//!   `wrong_pick_until`), written in the same transaction as the answer, so it survives
//!   restarts and is shared by every server on the database.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::ApiError;
use crate::ServerConfig;

/// What an answer does to the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answered {
    /// The right code: the wrong-pick streak ends.
    RightCode,
    /// A wrong code: the streak grows and the back-off doubles.
    WrongCode,
    /// "This was not me": the account is held.
    NotMe,
    /// A plain refusal: no change.
    Declined,
}

/// The guard's stored state of an account.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hold {
    /// End of the "not me" hold (seconds since the epoch).
    pub(crate) not_me_until: Option<i64>,
    /// End of the wrong-pick back-off.
    pub(crate) wrong_pick_until: Option<i64>,
}

impl Hold {
    /// The answer to give when a new request at `now` must wait; `None` when it may go on.
    pub(crate) fn refusal(self, now: i64) -> Option<Response> {
        if let Some(until) = self.not_me_until.filter(|u| now < *u) {
            return Some(refusal(
                StatusCode::FORBIDDEN,
                "access_denied",
                "the user recently reported a login request as not theirs; new requests for \
                 this account are held",
                until.saturating_sub(now),
            ));
        }
        if let Some(until) = self.wrong_pick_until.filter(|u| now < *u) {
            return Some(refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                "the user recently picked a wrong code; new requests for this account must \
                 wait",
                until.saturating_sub(now),
            ));
        }
        None
    }
}

fn refusal(status: StatusCode, error: &'static str, why: &str, wait: i64) -> Response {
    let mut resp = ApiError::new(status, error, format!("{why} ({wait} s)")).into_response();
    if let Ok(v) = HeaderValue::from_str(&wait.max(1).to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The guard's settings (from [`ServerConfig`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    not_me_hold_secs: u64,
    backoff_secs: u64,
    backoff_max_secs: u64,
}

impl Policy {
    /// The settings of `config`.
    pub(crate) fn of(config: &ServerConfig) -> Self {
        Self {
            not_me_hold_secs: config.not_me_hold_secs,
            backoff_secs: config.wrong_pick_backoff_secs,
            backoff_max_secs: config.wrong_pick_backoff_max_secs,
        }
    }

    /// The wrong-pick back-off after `streak` wrong picks in a row (0 when `streak` is 0 or
    /// the back-off is disabled).
    pub(crate) fn backoff_secs(self, streak: u32) -> u64 {
        let base = self.backoff_secs;
        if streak == 0 || base == 0 {
            return 0;
        }
        let factor = 1u64.checked_shl(streak - 1).unwrap_or(u64::MAX);
        base.saturating_mul(factor)
            .min(self.backoff_max_secs.max(base))
    }
}

/// Records an answer on the account's guard, inside the answer's transaction.
pub(crate) fn record(
    tx: &rusqlite::Transaction<'_>,
    config: Policy,
    account_id: &str,
    answered: Answered,
    now: i64,
) -> Result<(), rusqlite::Error> {
    let secs = |v: u64| now.saturating_add(i64::try_from(v).unwrap_or(i64::MAX));
    match answered {
        Answered::Declined => {}
        Answered::RightCode => {
            tx.prepare_cached(
                "UPDATE accounts SET wrong_streak = 0, wrong_pick_until = NULL WHERE id = ?1",
            )?
            .execute([account_id])?;
        }
        Answered::NotMe => {
            if config.not_me_hold_secs > 0 {
                tx.prepare_cached("UPDATE accounts SET not_me_until = ?2 WHERE id = ?1")?
                    .execute(rusqlite::params![account_id, secs(config.not_me_hold_secs)])?;
            }
        }
        Answered::WrongCode => {
            let streak: i64 = tx
                .prepare_cached(
                    "UPDATE accounts SET wrong_streak = wrong_streak + 1 WHERE id = ?1
                     RETURNING wrong_streak",
                )?
                .query_row([account_id], |r| r.get(0))?;
            let wait = config.backoff_secs(u32::try_from(streak).unwrap_or(u32::MAX));
            if wait > 0 {
                tx.prepare_cached("UPDATE accounts SET wrong_pick_until = ?2 WHERE id = ?1")?
                    .execute(rusqlite::params![account_id, secs(wait)])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let mut c = ServerConfig::new("unused.sqlite");
        let p = Policy::of(&c);
        assert_eq!(
            (0..=7).map(|n| p.backoff_secs(n)).collect::<Vec<_>>(),
            vec![0, 30, 60, 120, 240, 480, 900, 900]
        );
        assert_eq!(p.backoff_secs(u32::MAX), 900, "no overflow");
        c.wrong_pick_backoff_secs = 0;
        assert_eq!(Policy::of(&c).backoff_secs(3), 0, "disabled");
    }

    #[test]
    fn a_hold_names_its_reason_and_its_wait() {
        let hold = Hold {
            not_me_until: Some(1_000),
            wrong_pick_until: Some(2_000),
        };
        let r = hold.refusal(400).expect("held");
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(r.headers()[header::RETRY_AFTER], "600");
        let r = hold.refusal(1_000).expect("back-off still running");
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(hold.refusal(2_000).is_none());
        assert!(Hold::default().refusal(0).is_none());
    }
}
