// SPDX-License-Identifier: Apache-2.0
//! The server's vocabulary: typed states of its records, with one mapping to and from their
//! stored text, and the pure rules over them (what an answer does to a login request and to
//! the account's login guard, the shape of an activation code).
//!
//! Guarantees:
//! - Every state kept in the database is an enum here (or core's [`AccountKind`] and
//!   [`CodeMode`]), and its stored text is written once, in one [`Stored`] table per enum: a
//!   value read back that is not in the table is reported as corrupt by the store
//!   (`StoreError::Corrupt`), never taken for some default.
//! - Nothing here does I/O or holds state; the store speaks these types, every module above
//!   it uses them.

pub(crate) mod activation;
pub(crate) mod attempt;
pub(crate) mod guard;
pub(crate) mod identifier;
pub(crate) mod lang;

use vistalid_core::protocol::{AccountKind, CodeMode, Decision, KeyStorage};

use crate::attestation::{Platform, SecurityLevel, VerifiedBootState};

/// A state kept in the database as text: one table maps each variant to its stored text and
/// back.
pub(crate) trait Stored: Sized + Copy + 'static {
    /// The column it is stored in (`table.column`), named when a stored value is unknown.
    const COLUMN: &'static str;
    /// The stored text of `self`.
    fn as_stored(self) -> &'static str;
    /// The variant stored as `text`; `None` when no variant is (a corrupt value).
    fn from_stored(text: &str) -> Option<Self>;
}

/// Writes the [`Stored`] table of an enum: each variant with its text, once.
macro_rules! stored_table {
    ($ty:ty, $column:literal, { $($variant:path => $text:literal),+ $(,)? }) => {
        impl Stored for $ty {
            const COLUMN: &'static str = $column;
            fn as_stored(self) -> &'static str {
                match self {
                    $($variant => $text),+
                }
            }
            fn from_stored(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($variant),)+
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use stored_table as stored;

/// Where a login request (CIBA today, the browser login next) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestStatus {
    /// Waiting for the user's answer.
    Pending,
    /// Approved with the right code; the token is not issued yet.
    Approved,
    /// Refused (see [`DenialReason`]).
    Denied,
    /// Approved and its token issued (once).
    Issued,
}

stored!(RequestStatus, "auth_requests.status", {
    RequestStatus::Pending => "pending",
    RequestStatus::Approved => "approved",
    RequestStatus::Denied => "denied",
    RequestStatus::Issued => "issued",
});

/// Why a login request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DenialReason {
    /// The user picked or typed a code that was not the login page's.
    WrongCode,
    /// The user declined.
    Declined,
    /// The user reported that the request was not theirs.
    NotMe,
}

stored!(DenialReason, "auth_requests.reason", {
    DenialReason::WrongCode => "wrong_code",
    DenialReason::Declined => "declined",
    DenialReason::NotMe => "not_me",
});

impl DenialReason {
    /// What the relying party is told (`error_description` of `access_denied`).
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::WrongCode => "the user picked the wrong code",
            Self::NotMe => "the user reported that this request was not theirs",
            Self::Declined => "the user declined",
        }
    }
}

/// Where one device's challenge of a login request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChallengeStatus {
    /// Waiting for this device's answer.
    Pending,
    /// This device answered it.
    Answered,
    /// Closed without an answer from this device (another device answered, or it was
    /// revoked).
    Closed,
}

stored!(ChallengeStatus, "challenges.status", {
    ChallengeStatus::Pending => "pending",
    ChallengeStatus::Answered => "answered",
    ChallengeStatus::Closed => "closed",
});

stored!(AccountKind, "accounts.kind", {
    AccountKind::Practitioner => "practitioner",
    AccountKind::Insured => "insured",
});

stored!(CodeMode, "clients.mode", {
    CodeMode::Pick => "pick",
    CodeMode::Type => "type",
});

stored!(KeyStorage, "devices.key_storage", {
    KeyStorage::Hardware => "hardware",
    KeyStorage::Software => "software",
});

stored!(lang::Lang, "login_attempts.locale", {
    lang::Lang::Fr => "fr",
    lang::Lang::En => "en",
});

/// Which list of a client a registered URI is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UriKind {
    /// A `redirect_uri` of the authorization endpoint.
    Redirect,
    /// A `post_logout_redirect_uri` of the logout endpoint.
    PostLogout,
}

stored!(UriKind, "client_uris.kind", {
    UriKind::Redirect => "redirect",
    UriKind::PostLogout => "post_logout",
});

stored!(Platform, "devices.attest_platform", {
    Platform::Android => "android_key",
    Platform::Apple => "apple_app_attest",
});

stored!(SecurityLevel, "devices.attest_level", {
    SecurityLevel::Software => "software",
    SecurityLevel::TrustedEnvironment => "tee",
    SecurityLevel::StrongBox => "strongbox",
    SecurityLevel::SecureEnclave => "secure_enclave",
});

stored!(VerifiedBootState, "devices.attest_boot_state", {
    VerifiedBootState::Verified => "verified",
    VerifiedBootState::SelfSigned => "self_signed",
    VerifiedBootState::Unverified => "unverified",
    VerifiedBootState::Failed => "failed",
});

/// Where an attestation refusal happened (ADR 0001), as the refusal counts name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefusalStage {
    /// At enrolment: no or bad `device_attestation`.
    Enrolment,
    /// On an answer: no or bad `hardware_signature`, or a repeated App Attest counter.
    Answer,
    /// At a CIBA request: no device of the account meets the relying party's requirements.
    Login,
}

stored!(RefusalStage, "attestation_refusals.stage", {
    RefusalStage::Enrolment => "enrolment",
    RefusalStage::Answer => "answer",
    RefusalStage::Login => "login",
});

/// What a device's signed answer does to its login request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnswerOutcome {
    /// Approved with the right code.
    Approved,
    /// Approved with a wrong code: the login is denied and the try counted.
    WrongCode,
    /// Declined.
    Declined,
    /// "This was not me": denied and reported.
    Reported,
}

impl AnswerOutcome {
    /// The outcome of `decision`; `code_matches` tells whether the approval's code is the
    /// request's (only read for approvals).
    pub(crate) fn judge(decision: Decision, code_matches: bool) -> Self {
        match decision {
            Decision::Approve if code_matches => Self::Approved,
            Decision::Approve => Self::WrongCode,
            Decision::Deny => Self::Declined,
            Decision::NotMe => Self::Reported,
        }
    }

    /// The request's status after this answer.
    pub(crate) fn request_status(self) -> RequestStatus {
        match self {
            Self::Approved => RequestStatus::Approved,
            Self::WrongCode | Self::Declined | Self::Reported => RequestStatus::Denied,
        }
    }

    /// Why the request was denied, if it was.
    pub(crate) fn denial(self) -> Option<DenialReason> {
        match self {
            Self::Approved => None,
            Self::WrongCode => Some(DenialReason::WrongCode),
            Self::Declined => Some(DenialReason::Declined),
            Self::Reported => Some(DenialReason::NotMe),
        }
    }
}

/// Seconds as the store's signed timestamps count them (saturating).
pub(crate) fn secs(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Stored + PartialEq + std::fmt::Debug>(all: &[T]) {
        let mut texts = std::collections::HashSet::new();
        for v in all {
            assert_eq!(T::from_stored(v.as_stored()), Some(*v));
            assert!(texts.insert(v.as_stored()), "{v:?}: text used twice");
        }
        assert_eq!(T::from_stored("unknown-state"), None);
        assert_eq!(T::from_stored(""), None);
    }

    #[test]
    fn every_state_maps_to_one_text_and_back() {
        use RequestStatus as R;
        round_trip(&[R::Pending, R::Approved, R::Denied, R::Issued]);
        use DenialReason as D;
        round_trip(&[D::WrongCode, D::Declined, D::NotMe]);
        use ChallengeStatus as C;
        round_trip(&[C::Pending, C::Answered, C::Closed]);
        round_trip(&[AccountKind::Practitioner, AccountKind::Insured]);
        round_trip(&[CodeMode::Pick, CodeMode::Type]);
        round_trip(&[KeyStorage::Hardware, KeyStorage::Software]);
        round_trip(&[Platform::Android, Platform::Apple]);
        use SecurityLevel as L;
        round_trip(&[
            L::Software,
            L::TrustedEnvironment,
            L::StrongBox,
            L::SecureEnclave,
        ]);
        use VerifiedBootState as B;
        round_trip(&[B::Verified, B::SelfSigned, B::Unverified, B::Failed]);
        use RefusalStage as S;
        round_trip(&[S::Enrolment, S::Answer, S::Login]);
    }

    #[test]
    fn the_stored_texts_are_the_ones_databases_already_hold() {
        // Changing one would need a migration: existing files hold these.
        assert_eq!(RequestStatus::Issued.as_stored(), "issued");
        assert_eq!(DenialReason::WrongCode.as_stored(), "wrong_code");
        assert_eq!(DenialReason::NotMe.as_stored(), "not_me");
        assert_eq!(ChallengeStatus::Closed.as_stored(), "closed");
        assert_eq!(AccountKind::Insured.as_stored(), "insured");
        assert_eq!(CodeMode::Type.as_stored(), "type");
        // Migration 4's default for devices enrolled before the field.
        assert_eq!(KeyStorage::Software.as_stored(), "software");
    }

    #[test]
    fn an_answer_judges_the_request() {
        let all = [
            (Decision::Approve, true, AnswerOutcome::Approved),
            (Decision::Approve, false, AnswerOutcome::WrongCode),
            (Decision::Deny, true, AnswerOutcome::Declined),
            (Decision::NotMe, false, AnswerOutcome::Reported),
        ];
        for (decision, matches, outcome) in all {
            assert_eq!(AnswerOutcome::judge(decision, matches), outcome);
        }
        assert_eq!(
            AnswerOutcome::Approved.request_status(),
            RequestStatus::Approved
        );
        assert_eq!(AnswerOutcome::Approved.denial(), None);
        assert_eq!(
            AnswerOutcome::WrongCode.denial(),
            Some(DenialReason::WrongCode)
        );
        assert_eq!(
            AnswerOutcome::Reported.request_status(),
            RequestStatus::Denied
        );
    }
}
