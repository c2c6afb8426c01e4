// SPDX-License-Identifier: Apache-2.0
//! The login guard of an account: what a user's answers say about the next login requests
//! for that account, whichever relying party makes them.
//!
//! Guarantees:
//! - After a "this was not me" answer, new requests for the account are held for
//!   `not_me_hold_secs` (counted from the latest report): [`HoldRefusal::NotMe`].
//! - After `n` wrong code picks in a row, new requests wait `backoff_secs * 2^(n-1)` seconds
//!   from the latest wrong pick, at most `backoff_max_secs`: [`HoldRefusal::WrongPick`]. A
//!   right pick ends the streak; a plain "deny" changes nothing.
//! - The state lives in the `accounts` row (`not_me_until`, `wrong_streak`,
//!   `wrong_pick_until`) and is written by the store in the answer's own transaction, so it
//!   survives restarts and is shared by every server on the database. The HTTP answer to a
//!   hold (CIBA: 403 `access_denied`, 429 `slow_down`, with `Retry-After`) is the feature's.

/// The guard's settings (from the server configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Seconds requests are held after "not me" (0: never held).
    pub(crate) not_me_hold_secs: u64,
    /// Back-off after the first wrong pick (0: no back-off).
    pub(crate) backoff_secs: u64,
    /// Longest back-off.
    pub(crate) backoff_max_secs: u64,
}

impl Policy {
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

/// The guard's stored state of an account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Hold {
    /// End of the "not me" hold (seconds since the epoch).
    pub(crate) not_me_until: Option<i64>,
    /// End of the wrong-pick back-off.
    pub(crate) wrong_pick_until: Option<i64>,
}

/// Why a new login request must wait, and how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HoldRefusal {
    /// The user recently answered "this was not me".
    NotMe {
        /// Seconds until the hold ends.
        wait_secs: i64,
    },
    /// The user recently picked a wrong code.
    WrongPick {
        /// Seconds until the back-off ends.
        wait_secs: i64,
    },
}

impl Hold {
    /// Why a new request at `now` must wait; `None` when it may go on.
    pub(crate) fn refusal(self, now: i64) -> Option<HoldRefusal> {
        if let Some(until) = self.not_me_until.filter(|u| now < *u) {
            return Some(HoldRefusal::NotMe {
                wait_secs: until.saturating_sub(now),
            });
        }
        if let Some(until) = self.wrong_pick_until.filter(|u| now < *u) {
            return Some(HoldRefusal::WrongPick {
                wait_secs: until.saturating_sub(now),
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Policy = Policy {
        not_me_hold_secs: 900,
        backoff_secs: 30,
        backoff_max_secs: 900,
    };

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(
            (0..=7).map(|n| DEFAULT.backoff_secs(n)).collect::<Vec<_>>(),
            vec![0, 30, 60, 120, 240, 480, 900, 900]
        );
        assert_eq!(DEFAULT.backoff_secs(u32::MAX), 900, "no overflow");
        let off = Policy {
            backoff_secs: 0,
            ..DEFAULT
        };
        assert_eq!(off.backoff_secs(3), 0, "disabled");
    }

    #[test]
    fn a_hold_names_its_reason_and_its_wait() {
        let hold = Hold {
            not_me_until: Some(1_000),
            wrong_pick_until: Some(2_000),
        };
        assert_eq!(
            hold.refusal(400),
            Some(HoldRefusal::NotMe { wait_secs: 600 })
        );
        assert_eq!(
            hold.refusal(1_000),
            Some(HoldRefusal::WrongPick { wait_secs: 1_000 }),
            "back-off still running"
        );
        assert!(hold.refusal(2_000).is_none());
        assert!(Hold::default().refusal(0).is_none());
    }
}
