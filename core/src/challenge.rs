// SPDX-License-Identifier: Apache-2.0
//! Push challenges and the *code dynamique*: checking what the server sent, and signing the
//! user's answer.
//!
//! Guarantees of [`verify_challenge`]: a [`Challenge`] exists only if its JWS verifies under
//! the pinned server key with `typ` = challenge, it is addressed to this account and device,
//! it is fresh (issued no later than now + skew, not expired beyond the skew, validity no
//! longer than [`MAX_VALIDITY_SECS`]), its id was never answered before (replay cache), its
//! candidates are well-formed for its mode, and the text it shows (service, binding message,
//! request context) is [display-safe](crate::text::is_display_safe). Replay is keyed on the
//! challenge id, not on the signature (ECDSA signatures are malleable).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::keys::{PublicKey, SigningKey};
use crate::protocol::{
    AnswerClaims, ChallengeClaims, CodeMode, Decision, RequestContext, TYP_ANSWER, TYP_CHALLENGE,
};
use crate::{jws, text};

/// Clock skew tolerated between phone and server, in seconds.
pub const CLOCK_SKEW_SECS: i64 = 30;
/// Longest validity a challenge may claim (iat to exp), in seconds.
pub const MAX_VALIDITY_SECS: i64 = 600;
/// Length of a *code dynamique*.
pub const CODE_LEN: usize = 2;
/// Most candidates a pick-mode challenge may carry.
pub const MAX_CANDIDATES: usize = 9;

/// Errors when checking a challenge or building an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// The JWS is malformed or not signed by the pinned server key.
    #[error("challenge is not signed by the pinned server key")]
    BadServerSignature,
    /// The challenge is signed by a key the wallet has not pinned, and the server offered no
    /// valid rollover to it from the pinned key (issue 19): refused, the pin is unchanged.
    #[error("challenge signed by an unknown server key, with no valid key rollover")]
    KeyRolloverRefused,
    /// The challenge is for another account or device.
    #[error("challenge is addressed to another account or device")]
    WrongRecipient,
    /// The challenge has expired (beyond the tolerated skew).
    #[error("challenge expired")]
    Expired,
    /// The challenge claims to be issued in the future, or claims an over-long validity.
    #[error("challenge time is not plausible")]
    BadTime,
    /// This challenge id was already answered on this device.
    #[error("challenge was already answered (replay)")]
    Replayed,
    /// The candidates do not fit the mode (count, format, duplicates).
    #[error("challenge candidates are malformed")]
    BadCandidates,
    /// The code given is not a well-formed code, or not one of the candidates in pick mode.
    #[error("the code is not one of the choices")]
    InvalidCode,
    /// Signing the answer failed.
    #[error("could not sign the answer")]
    Signing,
    /// The service name, binding message or request context holds a character that must not
    /// be shown (control, format, bidirectional control, line or paragraph separator; see
    /// [`crate::text`]): the card could be made to lie about what the user approves.
    #[error("challenge text holds control, format or line-separator characters")]
    UnsafeText,
}

/// A verified challenge, ready to show: who asks, why, from where, and the choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Challenge id.
    pub id: String,
    /// Account it is for.
    pub account_id: String,
    /// Device it is for.
    pub device_id: String,
    /// Service (relying party) name.
    pub service: String,
    /// The relying party's binding message.
    pub binding_message: String,
    /// Request context (IP, user agent, place) as reported by the relying party.
    pub context: RequestContext,
    /// Pick one of the candidates, or type the code.
    pub mode: CodeMode,
    /// Candidates in the order to show them (pick mode); empty in type mode.
    pub candidates: Vec<String>,
    /// Issued at (seconds since the epoch).
    pub issued_at: i64,
    /// Expiry (seconds since the epoch).
    pub expires_at: i64,
    /// Scan mode (issue 16): the login attempt whose QR code must be scanned to answer
    /// ([`crate::wallet::Wallet::scan_login`]); `None` for a challenge answered as it comes.
    #[serde(default)]
    pub scan_attempt: Option<String>,
}

impl Challenge {
    /// True when the challenge has expired at `now` (beyond the tolerated skew).
    pub fn is_expired(&self, now: i64) -> bool {
        now > self.expires_at.saturating_add(CLOCK_SKEW_SECS)
    }
}

/// Checks a challenge JWS (see the module guarantees).
pub fn verify_challenge(
    token: &str,
    server_key: &PublicKey,
    account_id: &str,
    device_id: &str,
    answered: &HashSet<String>,
    now: i64,
) -> Result<Challenge, ChallengeError> {
    let claims: ChallengeClaims = jws::verify_json(token, server_key, Some(TYP_CHALLENGE))
        .map_err(|_| ChallengeError::BadServerSignature)?;
    if claims.account_id != account_id || claims.device_id != device_id {
        return Err(ChallengeError::WrongRecipient);
    }
    if claims.iat > now.saturating_add(CLOCK_SKEW_SECS)
        || claims.exp < claims.iat
        || claims.exp.saturating_sub(claims.iat) > MAX_VALIDITY_SECS
    {
        return Err(ChallengeError::BadTime);
    }
    if now > claims.exp.saturating_add(CLOCK_SKEW_SECS) {
        return Err(ChallengeError::Expired);
    }
    if answered.contains(&claims.id) {
        return Err(ChallengeError::Replayed);
    }
    check_candidates(claims.mode, &claims.candidates)?;
    let ctx = &claims.context;
    let shown = [
        Some(claims.service.as_str()),
        Some(claims.binding_message.as_str()),
        ctx.ip.as_deref(),
        ctx.user_agent.as_deref(),
        ctx.place.as_deref(),
    ];
    if !shown.into_iter().flatten().all(text::is_display_safe) {
        return Err(ChallengeError::UnsafeText);
    }
    Ok(Challenge {
        id: claims.id,
        account_id: claims.account_id,
        device_id: claims.device_id,
        service: claims.service,
        binding_message: claims.binding_message,
        context: claims.context,
        mode: claims.mode,
        candidates: claims.candidates,
        issued_at: claims.iat,
        expires_at: claims.exp,
        scan_attempt: claims.scan,
    })
}

fn check_candidates(mode: CodeMode, candidates: &[String]) -> Result<(), ChallengeError> {
    match mode {
        CodeMode::Type if candidates.is_empty() => Ok(()),
        CodeMode::Type => Err(ChallengeError::BadCandidates),
        CodeMode::Pick => {
            let distinct: HashSet<&String> = candidates.iter().collect();
            let ok = (2..=MAX_CANDIDATES).contains(&candidates.len())
                && distinct.len() == candidates.len()
                && candidates.iter().all(|c| is_code(c));
            if ok {
                Ok(())
            } else {
                Err(ChallengeError::BadCandidates)
            }
        }
    }
}

/// True when `code` is a well-formed *code dynamique* ([`CODE_LEN`] ASCII digits).
pub fn is_code(code: &str) -> bool {
    code.len() == CODE_LEN && code.bytes().all(|b| b.is_ascii_digit())
}

/// Compares two codes in constant time.
pub fn codes_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The code an answer to `challenge` carries, checked: for [`Decision::Approve`], `code` must
/// be a well-formed code ([`is_code`]) and, in pick mode, one of the candidates (compared in
/// constant time), else [`ChallengeError::InvalidCode`]; [`Decision::Deny`] and
/// [`Decision::NotMe`] carry no code. This is the one code check: the wallet runs it before it
/// asks for the PIN, and [`sign_answer`] before it signs.
pub fn check_answer_code(
    challenge: &Challenge,
    decision: Decision,
    code: Option<&str>,
) -> Result<Option<String>, ChallengeError> {
    match decision {
        Decision::Approve => {
            let code = code.ok_or(ChallengeError::InvalidCode)?;
            let listed = challenge.candidates.iter().any(|c| codes_match(c, code));
            if !is_code(code) || (challenge.mode == CodeMode::Pick && !listed) {
                return Err(ChallengeError::InvalidCode);
            }
            Ok(Some(code.to_owned()))
        }
        Decision::Deny | Decision::NotMe => Ok(None),
    }
}

/// Builds and signs the answer to `challenge` with the device key, after
/// [`check_answer_code`]; `scan_mac` is the scan-mode MAC ([`crate::scan::answer_mac`]) of a
/// scan-mode challenge, `None` for any other.
pub fn sign_answer(
    device_key: &SigningKey,
    challenge: &Challenge,
    decision: Decision,
    code: Option<&str>,
    scan_mac: Option<String>,
    now: i64,
) -> Result<String, ChallengeError> {
    let code = check_answer_code(challenge, decision, code)?;
    let claims = AnswerClaims {
        challenge_id: challenge.id.clone(),
        device_id: challenge.device_id.clone(),
        decision,
        code,
        iat: now,
        scan_mac,
    };
    jws::sign_json(device_key, TYP_ANSWER, &claims).map_err(|_| ChallengeError::Signing)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn claims() -> ChallengeClaims {
        ChallengeClaims {
            id: "ch1".into(),
            account_id: "acc".into(),
            device_id: "dev".into(),
            service: "Dossier Médical".into(),
            binding_message: "Connexion DMP".into(),
            context: RequestContext::default(),
            mode: CodeMode::Pick,
            candidates: vec!["42".into(), "07".into(), "93".into()],
            iat: NOW,
            exp: NOW + 120,
            scan: None,
        }
    }

    fn signed(server: &SigningKey, c: &ChallengeClaims) -> String {
        jws::sign_json(server, TYP_CHALLENGE, c).expect("sign")
    }

    fn check(
        server: &SigningKey,
        c: &ChallengeClaims,
        now: i64,
    ) -> Result<Challenge, ChallengeError> {
        verify_challenge(
            &signed(server, c),
            &server.public_key(),
            "acc",
            "dev",
            &HashSet::new(),
            now,
        )
    }

    #[test]
    fn accepts_a_fresh_challenge_and_signs_an_answer() {
        let server = SigningKey::make().expect("key");
        let ch = check(&server, &claims(), NOW + 5).expect("valid");
        assert_eq!(ch.candidates.len(), 3);
        let device = SigningKey::make().expect("key");
        let answer =
            sign_answer(&device, &ch, Decision::Approve, Some("07"), None, NOW + 6).expect("sign");
        let back: AnswerClaims =
            jws::verify_json(&answer, &device.public_key(), Some(TYP_ANSWER)).expect("verify");
        assert_eq!(back.code.as_deref(), Some("07"));
        assert_eq!(back.decision, Decision::Approve);
        assert_eq!(
            sign_answer(&device, &ch, Decision::Approve, Some("11"), None, NOW),
            Err(ChallengeError::InvalidCode)
        );
        let deny = sign_answer(&device, &ch, Decision::NotMe, None, None, NOW).expect("sign");
        let back: AnswerClaims = jws::verify_json(&deny, &device.public_key(), None).expect("v");
        assert_eq!((back.decision, back.code), (Decision::NotMe, None));
    }

    #[test]
    fn rejects_every_bad_challenge() {
        let server = SigningKey::make().expect("key");
        let other = SigningKey::make().expect("key");
        let c = claims();
        let pinned = server.public_key();
        assert_eq!(
            verify_challenge(
                &signed(&other, &c),
                &pinned,
                "acc",
                "dev",
                &HashSet::new(),
                NOW
            ),
            Err(ChallengeError::BadServerSignature)
        );
        assert_eq!(
            check(&server, &c, NOW + 120 + CLOCK_SKEW_SECS + 1),
            Err(ChallengeError::Expired)
        );
        assert!(check(&server, &c, NOW + 120 + CLOCK_SKEW_SECS).is_ok());
        assert_eq!(
            check(&server, &c, NOW - CLOCK_SKEW_SECS - 1),
            Err(ChallengeError::BadTime)
        );
        let mut long = claims();
        long.exp = NOW + MAX_VALIDITY_SECS + 1;
        assert_eq!(check(&server, &long, NOW), Err(ChallengeError::BadTime));
        let mut wrong = claims();
        wrong.device_id = "other".into();
        assert_eq!(
            check(&server, &wrong, NOW),
            Err(ChallengeError::WrongRecipient)
        );
        let seen: HashSet<String> = ["ch1".to_owned()].into();
        assert_eq!(
            verify_challenge(&signed(&server, &c), &pinned, "acc", "dev", &seen, NOW),
            Err(ChallengeError::Replayed)
        );
        for bad in [
            vec!["42", "42", "07"],
            vec!["4", "07", "93"],
            vec!["42"],
            vec!["a1", "07"],
        ] {
            let mut b = claims();
            b.candidates = bad.iter().map(|s| s.to_string()).collect();
            assert_eq!(
                check(&server, &b, NOW),
                Err(ChallengeError::BadCandidates),
                "{bad:?}"
            );
        }
        let mut typed = claims();
        typed.mode = CodeMode::Type;
        assert_eq!(
            check(&server, &typed, NOW),
            Err(ChallengeError::BadCandidates)
        );
        typed.candidates.clear();
        assert!(check(&server, &typed, NOW).is_ok());
    }

    #[test]
    fn refuses_format_and_separator_characters_in_shown_text() {
        let server = SigningKey::make().expect("key");
        let mut cases = Vec::new();
        for bad in [
            "\u{2028}Service : Banque",
            "Connexion \u{202E}PMD",
            "a\u{2066}b",
        ] {
            let mut c = claims();
            c.binding_message = bad.into();
            cases.push(c);
            let mut c = claims();
            c.service = bad.into();
            cases.push(c);
            let mut c = claims();
            c.context.place = Some(bad.into());
            cases.push(c);
            let mut c = claims();
            c.context.ip = Some(bad.into());
            cases.push(c);
            let mut c = claims();
            c.context.user_agent = Some(bad.into());
            cases.push(c);
        }
        for c in cases {
            assert_eq!(
                check(&server, &c, NOW),
                Err(ChallengeError::UnsafeText),
                "{c:?}"
            );
        }
        let mut fine = claims();
        fine.context.place = Some("Saint-Étienne, FR".into());
        assert!(check(&server, &fine, NOW).is_ok());
    }

    #[test]
    fn type_mode_accepts_any_well_formed_code() {
        let server = SigningKey::make().expect("key");
        let mut c = claims();
        c.mode = CodeMode::Type;
        c.candidates.clear();
        let ch = check(&server, &c, NOW).expect("valid");
        let device = SigningKey::make().expect("key");
        assert!(sign_answer(&device, &ch, Decision::Approve, Some("55"), None, NOW).is_ok());
        assert_eq!(
            sign_answer(&device, &ch, Decision::Approve, Some("555"), None, NOW),
            Err(ChallengeError::InvalidCode)
        );
        assert_eq!(
            sign_answer(&device, &ch, Decision::Approve, None, None, NOW),
            Err(ChallengeError::InvalidCode)
        );
    }
}
