// SPDX-License-Identifier: Apache-2.0
//! A browser login attempt (ADR 0002): the state its page shows, derived from the attempt's
//! stored facts and its current phone request, and the limits of an attempt.
//!
//! Guarantees:
//! - An attempt lives [`ATTEMPT_TTL_SECS`]; after that, or once its answer went back to the
//!   client, it has no state: [`LoginState::Gone`].
//! - It starts at most `1 + MAX_RETRIES` phone challenges; a wrong code or an expiry with no
//!   retry left is [`LoginState::Locked`].
//! - An unknown identifier and an account without an active device are one state,
//!   [`LoginState::NoDevice`].

use super::{DenialReason, RequestStatus, Stored};

/// Seconds a login attempt lives (ADR 0002: 10 minutes).
pub(crate) const ATTEMPT_TTL_SECS: i64 = 600;
/// New phone challenges an attempt may start after its first one (ADR 0002: 3).
pub(crate) const MAX_RETRIES: u32 = 3;

/// Why the identifier step (or a retry) started no phone challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptStop {
    /// Unknown identifier, or no active device: one answer.
    NoDevice,
    /// The login guard holds the account (see [`HoldReason`]).
    Held,
}

super::stored!(AttemptStop, "login_attempts.stop", {
    AttemptStop::NoDevice => "no_device",
    AttemptStop::Held => "held",
});

/// Why the account's logins are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HoldReason {
    /// The user recently answered "this was not me".
    NotMe,
    /// The user recently picked a wrong code (back-off).
    WrongPick,
    /// Too many login requests are waiting for the account.
    TooManyPending,
}

super::stored!(HoldReason, "login_attempts.held_reason", {
    HoldReason::NotMe => "not_me",
    HoldReason::WrongPick => "wrong_pick",
    HoldReason::TooManyPending => "too_many_pending",
});

/// Which flow made a login request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// CIBA: the relying party polls the token endpoint with the request id.
    Ciba,
    /// The browser login: the attempt's page follows it; the token endpoint never grants it.
    Browser,
}

super::stored!(Flow, "auth_requests.flow", {
    Flow::Ciba => "ciba",
    Flow::Browser => "browser",
});

/// The phone request of an attempt, as its state needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestFacts {
    /// Where it stands.
    pub(crate) status: RequestStatus,
    /// Why it was denied.
    pub(crate) reason: Option<DenialReason>,
    /// Its expiry.
    pub(crate) expires_at: i64,
}

/// What is stored about an attempt, as its state needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AttemptFacts {
    /// The attempt's expiry.
    pub(crate) expires_at: i64,
    /// Whether its answer went back to the client.
    pub(crate) done: bool,
    /// Phone challenges started.
    pub(crate) starts: u32,
    /// Why the last step started none.
    pub(crate) stop: Option<AttemptStop>,
    /// Why the account is held, and until when.
    pub(crate) held: Option<(HoldReason, i64)>,
    /// The current phone request.
    pub(crate) request: Option<RequestFacts>,
}

/// The state of an attempt's page (`<main data-state="...">`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginState {
    /// The identifier form.
    Identifier,
    /// The phone was asked; the page shows the code.
    Waiting {
        /// Seconds until the phone challenge expires.
        expires_in: i64,
    },
    /// Approved: the page goes back to the client with a code.
    Approved,
    /// The user declined on the phone.
    Declined,
    /// The user answered "this was not me" (the request was reported).
    NotMe,
    /// A wrong code was picked or typed.
    WrongCode {
        /// New phone challenges this attempt may still start.
        retries_left: u32,
    },
    /// The phone challenge expired unanswered.
    Expired {
        /// New phone challenges this attempt may still start.
        retries_left: u32,
    },
    /// The login guard holds the account.
    Held {
        /// Why.
        reason: HoldReason,
        /// Seconds until it may be tried again (0: now).
        wait_secs: i64,
    },
    /// Unknown identifier or no active device.
    NoDevice,
    /// No retry left.
    Locked,
    /// Expired, answered, or unknown: nothing left to show.
    Gone,
}

impl LoginState {
    /// The `data-state` text (ADR 0002); [`LoginState::Gone`] is the `error` page.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Identifier => "identifier",
            Self::Waiting { .. } => "waiting",
            Self::Approved => "approved",
            Self::Declined => "declined",
            Self::NotMe => "not_me",
            Self::WrongCode { .. } => "wrong_code",
            Self::Expired { .. } => "expired",
            Self::Held { .. } => "held",
            Self::NoDevice => "no_device",
            Self::Locked => "locked",
            Self::Gone => "error",
        }
    }

    /// Whether a retry (a new phone challenge) can be asked from this state (a hold only
    /// once it is over).
    pub(crate) fn can_retry(self) -> bool {
        matches!(
            self,
            Self::WrongCode { .. } | Self::Expired { .. } | Self::Held { wait_secs: 0, .. }
        )
    }
}

impl AttemptFacts {
    /// New phone challenges this attempt may still start after its first.
    pub(crate) fn retries_left(&self) -> u32 {
        (MAX_RETRIES + 1).saturating_sub(self.starts.max(1))
    }

    /// The page's state at `now`.
    pub(crate) fn state(&self, now: i64) -> LoginState {
        if self.done || now >= self.expires_at {
            return LoginState::Gone;
        }
        match self.stop {
            Some(AttemptStop::NoDevice) => return LoginState::NoDevice,
            Some(AttemptStop::Held) => {
                let (reason, until) = self.held.unwrap_or((HoldReason::TooManyPending, now));
                return LoginState::Held {
                    reason,
                    wait_secs: until.saturating_sub(now).max(0),
                };
            }
            None => {}
        }
        let Some(r) = self.request else {
            return LoginState::Identifier;
        };
        let left = self.retries_left();
        let or_locked = |s: LoginState| if left > 0 { s } else { LoginState::Locked };
        match r.status {
            RequestStatus::Pending if now < r.expires_at => LoginState::Waiting {
                expires_in: r.expires_at - now,
            },
            RequestStatus::Pending => or_locked(LoginState::Expired { retries_left: left }),
            RequestStatus::Approved | RequestStatus::Issued => LoginState::Approved,
            RequestStatus::Denied => match r.reason {
                Some(DenialReason::Declined) | None => LoginState::Declined,
                Some(DenialReason::NotMe) => LoginState::NotMe,
                Some(DenialReason::WrongCode) => {
                    or_locked(LoginState::WrongCode { retries_left: left })
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000;

    fn facts(starts: u32, request: Option<(RequestStatus, Option<DenialReason>)>) -> AttemptFacts {
        AttemptFacts {
            expires_at: NOW + 100,
            done: false,
            starts,
            stop: None,
            held: None,
            request: request.map(|(status, reason)| RequestFacts {
                status,
                reason,
                expires_at: NOW + 50,
            }),
        }
    }

    #[test]
    fn states_follow_the_request_and_the_retries() {
        use DenialReason as D;
        use RequestStatus as R;
        assert_eq!(facts(0, None).state(NOW), LoginState::Identifier);
        assert_eq!(
            facts(1, Some((R::Pending, None))).state(NOW),
            LoginState::Waiting { expires_in: 50 }
        );
        assert_eq!(
            facts(1, Some((R::Pending, None))).state(NOW + 50),
            LoginState::Expired { retries_left: 3 }
        );
        assert_eq!(
            facts(1, Some((R::Approved, None))).state(NOW),
            LoginState::Approved
        );
        assert_eq!(
            facts(2, Some((R::Denied, Some(D::WrongCode)))).state(NOW),
            LoginState::WrongCode { retries_left: 2 }
        );
        assert_eq!(
            facts(4, Some((R::Denied, Some(D::WrongCode)))).state(NOW),
            LoginState::Locked
        );
        assert_eq!(
            facts(4, Some((R::Pending, None))).state(NOW + 60),
            LoginState::Locked
        );
        assert_eq!(
            facts(4, Some((R::Denied, Some(D::NotMe)))).state(NOW),
            LoginState::NotMe
        );
        assert_eq!(
            facts(1, Some((R::Denied, Some(D::Declined)))).state(NOW),
            LoginState::Declined
        );
        assert_eq!(facts(1, None).state(NOW + 100), LoginState::Gone);
        let done = AttemptFacts {
            done: true,
            ..facts(1, Some((R::Approved, None)))
        };
        assert_eq!(done.state(NOW), LoginState::Gone);
    }

    #[test]
    fn stops_come_before_the_request() {
        let mut f = facts(
            1,
            Some((RequestStatus::Denied, Some(DenialReason::WrongCode))),
        );
        f.stop = Some(AttemptStop::Held);
        f.held = Some((HoldReason::WrongPick, NOW + 30));
        assert_eq!(
            f.state(NOW),
            LoginState::Held {
                reason: HoldReason::WrongPick,
                wait_secs: 30
            }
        );
        // No retry while held; once the hold is over, one.
        assert!(!f.state(NOW).can_retry());
        assert!(f.state(NOW + 30).can_retry());
        f.stop = Some(AttemptStop::NoDevice);
        assert_eq!(f.state(NOW), LoginState::NoDevice);
        assert!(!f.state(NOW).can_retry());
    }

    #[test]
    fn an_attempt_starts_at_most_four_challenges() {
        assert_eq!(facts(0, None).retries_left(), 3);
        assert_eq!(facts(1, None).retries_left(), 3);
        assert_eq!(facts(4, None).retries_left(), 0);
    }
}
