// SPDX-License-Identifier: Apache-2.0
//! Push wake-ups (issue 20, docs/push.md): the registration of a device's push token
//! ([`PATH_PUSH_TOKEN`]) and the shape of what a push carries ([`PushPayload`]), here so the
//! wallet, the server and the tests share one definition.
//!
//! Guarantees:
//! - A registration is accepted only when its JWS is ES256 with [`TYP_PUSH_TOKEN`], verifies
//!   under the device's registered device-tier key, names the device of the body, carries a
//!   `jti` of 16 to 64 base64url characters and an `iat` within
//!   [`crate::protocol::PIN_GUARD_MAX_SKEW_SECS`] of `now`, and a token of its platform's
//!   shape ([`check_token`]); a registration without a token removes the device's token.
//!   Whether the `jti` was seen before is the caller's store's to check (single use).
//! - A push carries the payload version, the device id and the challenge id, nothing else
//!   ([`PushPayload::to_pairs`]); [`PushPayload::from_pairs`] accepts exactly that shape
//!   (extra keys the platforms add, such as APNs' `aps` or FCM's `google.*`, are ignored,
//!   never read) and ids of the server's id shape. Nothing in a push is trusted beyond the
//!   two ids: the wallet fetches and verifies the challenge itself.
//! - Every refusal is a typed error naming the rule, never a panic.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::jws::{self, JwsError};
use crate::keys::PublicKey;
use crate::pin_guard::{check_common, PinGuardRequestError};

/// Path: registers, replaces or removes the device's push token (POST [`PushTokenRequest`]
/// of [`PushTokenClaims`], signed by the account's device-tier key; answer
/// [`PushTokenResponse`]).
pub const PATH_PUSH_TOKEN: &str = "/device/push-token";
/// JWS `typ` of a push-token registration signed by the device-tier key.
pub const TYP_PUSH_TOKEN: &str = "vistalid-push-token+jwt";
/// Longest FCM registration token accepted (Google documents no bound; today's are ~160).
pub const MAX_FCM_TOKEN_LEN: usize = 1024;
/// Longest APNs device token accepted, in hex characters (today's are 32 bytes, 64 hex).
pub const MAX_APNS_TOKEN_HEX: usize = 200;

/// Key of the payload version in a push's data.
pub const KEY_VERSION: &str = "vl_v";
/// Key of the device id in a push's data.
pub const KEY_DEVICE: &str = "vl_device";
/// Key of the challenge id in a push's data.
pub const KEY_CHALLENGE: &str = "vl_challenge";
/// The payload version this build writes and reads.
pub const PAYLOAD_VERSION: &str = "1";
/// Longest id (device, challenge) a push may name.
pub const MAX_ID_LEN: usize = 64;

/// The push service a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PushPlatform {
    /// Firebase Cloud Messaging (Android): a registration token.
    Fcm,
    /// Apple Push Notification service (iOS): a device token, in hex.
    Apns,
}

impl PushPlatform {
    /// The name used on the wire and in the store (`fcm`, `apns`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fcm => "fcm",
            Self::Apns => "apns",
        }
    }

    /// The platform of a wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "fcm" => Some(Self::Fcm),
            "apns" => Some(Self::Apns),
            _ => None,
        }
    }
}

/// Body of [`PATH_PUSH_TOKEN`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushTokenRequest {
    /// The device, so the server knows which key to check the signature with; the signed
    /// claims must name the same device.
    pub device_id: String,
    /// Compact JWS of [`PushTokenClaims`].
    pub request: String,
}

/// Claims of a push-token registration ([`TYP_PUSH_TOKEN`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushTokenClaims {
    /// The device.
    pub device_id: String,
    /// The platform and token to wake the device with; `None` removes the device's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushTarget>,
    /// Single-use request id (16+ random bytes, base64url).
    pub jti: String,
    /// Seconds since the epoch at signing time.
    pub iat: i64,
}

impl std::fmt::Debug for PushTokenClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token addresses the phone: kept out of logs.
        f.debug_struct("PushTokenClaims")
            .field("device_id", &self.device_id)
            .field("platform", &self.push.as_ref().map(|p| p.platform))
            .finish_non_exhaustive()
    }
}

/// A platform and its token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushTarget {
    /// The push service.
    pub platform: PushPlatform,
    /// The token the platform gave the app (FCM: as given; APNs: lowercase hex).
    pub token: String,
}

impl std::fmt::Debug for PushTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushTarget")
            .field("platform", &self.platform)
            .finish_non_exhaustive()
    }
}

/// Answer to [`PATH_PUSH_TOKEN`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushTokenResponse {
    /// Whether the device now has a push token (`false` after a removal).
    pub registered: bool,
}

/// Why a push-token registration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushTokenError {
    /// The JWS or its claims do not parse (or `typ`/`alg` is not the expected one).
    #[error("the request is not a well-formed signed push-token registration")]
    Malformed,
    /// The signature does not verify under the device's registered key.
    #[error("the request's signature does not verify")]
    BadSignature,
    /// The signed claims name another device than the body.
    #[error("the request names another device")]
    WrongDevice,
    /// The `jti` is too short, too long or not base64url.
    #[error("the request id (jti) is not acceptable")]
    BadJti,
    /// The `iat` is too far from the server's clock.
    #[error("the request is stale or from the future")]
    Stale,
    /// The token is empty, too long, or not of its platform's shape.
    #[error("the push token is not of its platform's shape")]
    BadToken,
}

/// Checks a token's shape: FCM 1 to [`MAX_FCM_TOKEN_LEN`] characters of `[A-Za-z0-9_:.-]`;
/// APNs an even number (64 to [`MAX_APNS_TOKEN_HEX`]) of lowercase hex digits.
pub fn check_token(platform: PushPlatform, token: &str) -> Result<(), PushTokenError> {
    let ok = match platform {
        PushPlatform::Fcm => {
            (1..=MAX_FCM_TOKEN_LEN).contains(&token.len())
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.' | b'-'))
        }
        PushPlatform::Apns => {
            (64..=MAX_APNS_TOKEN_HEX).contains(&token.len())
                && token.len().is_multiple_of(2)
                && token
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(PushTokenError::BadToken)
    }
}

/// Checks a registration under the device's registered device-tier key (see the module
/// guarantees).
pub fn check_registration(
    body: &PushTokenRequest,
    key: &PublicKey,
    now: i64,
) -> Result<PushTokenClaims, PushTokenError> {
    let claims: PushTokenClaims = jws::verify_json(&body.request, key, Some(TYP_PUSH_TOKEN))
        .map_err(|e| match e {
            JwsError::BadSignature => PushTokenError::BadSignature,
            _ => PushTokenError::Malformed,
        })?;
    let as_guard = crate::protocol::PinGuardRequest {
        device_id: body.device_id.clone(),
        request: String::new(),
    };
    check_common(&as_guard, &claims.device_id, &claims.jti, claims.iat, now).map_err(
        |e| match e {
            PinGuardRequestError::WrongDevice => PushTokenError::WrongDevice,
            PinGuardRequestError::BadJti => PushTokenError::BadJti,
            PinGuardRequestError::Stale => PushTokenError::Stale,
            _ => PushTokenError::Malformed,
        },
    )?;
    if let Some(p) = &claims.push {
        check_token(p.platform, &p.token)?;
    }
    Ok(claims)
}

/// What a push carries: which device and which challenge, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPayload {
    /// The device woken (the server's device id).
    pub device_id: String,
    /// The challenge waiting for it.
    pub challenge_id: String,
}

/// Why a push's data was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushPayloadError {
    /// A key is missing, or the version is not [`PAYLOAD_VERSION`].
    #[error("the push is not a Vistalid wake-up of a known version")]
    Shape,
    /// An id is empty, too long or not of the server's id shape.
    #[error("the push names an id of the wrong shape")]
    BadId,
}

/// Whether `id` has the server's id shape: 1 to [`MAX_ID_LEN`] characters of
/// `[A-Za-z0-9_-]`.
pub fn is_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl PushPayload {
    /// The data pairs a push carries (FCM `data`, APNs custom keys).
    pub fn to_pairs(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            (KEY_VERSION, PAYLOAD_VERSION.to_owned()),
            (KEY_DEVICE, self.device_id.clone()),
            (KEY_CHALLENGE, self.challenge_id.clone()),
        ])
    }

    /// Reads a push's data as the platform hands it over (string pairs); keys other than
    /// the three of [`PushPayload::to_pairs`] are ignored.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, PushPayloadError> {
        let (mut v, mut device, mut challenge) = (None, None, None);
        for (k, val) in pairs {
            match k {
                KEY_VERSION => v = Some(val),
                KEY_DEVICE => device = Some(val),
                KEY_CHALLENGE => challenge = Some(val),
                _ => {}
            }
        }
        let (Some(v), Some(device), Some(challenge)) = (v, device, challenge) else {
            return Err(PushPayloadError::Shape);
        };
        if v != PAYLOAD_VERSION {
            return Err(PushPayloadError::Shape);
        }
        if !is_id(device) || !is_id(challenge) {
            return Err(PushPayloadError::BadId);
        }
        Ok(Self {
            device_id: device.to_owned(),
            challenge_id: challenge.to_owned(),
        })
    }
}

/// A fresh single-use request id: 16 random bytes, base64url (`None` if the system random
/// generator fails).
pub(crate) fn make_jti() -> Option<String> {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut jti = [0u8; 16];
    SystemRandom::new().fill(&mut jti).ok()?;
    Some(B64URL.encode(jti))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    const NOW: i64 = 1_800_000_000;
    const APNS: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn request(key: &SigningKey, claims: &PushTokenClaims, device: &str) -> PushTokenRequest {
        PushTokenRequest {
            device_id: device.into(),
            request: jws::sign_json(key, TYP_PUSH_TOKEN, claims).expect("sign"),
        }
    }

    fn claims(push: Option<PushTarget>) -> PushTokenClaims {
        PushTokenClaims {
            device_id: "dev-1".into(),
            push,
            jti: B64URL.encode([9u8; 16]),
            iat: NOW,
        }
    }

    #[test]
    fn a_registration_is_checked_rule_by_rule() {
        let key = SigningKey::make().expect("key");
        let pk = key.public_key();
        let apns = Some(PushTarget {
            platform: PushPlatform::Apns,
            token: APNS.into(),
        });
        let good = claims(apns.clone());
        let ok = check_registration(&request(&key, &good, "dev-1"), &pk, NOW).expect("ok");
        assert_eq!(ok, good);
        let removal = claims(None);
        assert_eq!(
            check_registration(&request(&key, &removal, "dev-1"), &pk, NOW).expect("ok"),
            removal
        );
        let other = SigningKey::make().expect("key");
        let check = |c: &PushTokenClaims, k: &SigningKey, dev: &str, now: i64| {
            check_registration(&request(k, c, dev), &pk, now)
        };
        assert_eq!(
            check(&good, &other, "dev-1", NOW),
            Err(PushTokenError::BadSignature)
        );
        assert_eq!(
            check(&good, &key, "dev-2", NOW),
            Err(PushTokenError::WrongDevice)
        );
        assert_eq!(
            check(&good, &key, "dev-1", NOW + 1000),
            Err(PushTokenError::Stale)
        );
        let mut short = good.clone();
        short.jti = "abc".into();
        assert_eq!(
            check(&short, &key, "dev-1", NOW),
            Err(PushTokenError::BadJti)
        );
        let mut upper = good.clone();
        upper.push = Some(PushTarget {
            platform: PushPlatform::Apns,
            token: APNS.to_uppercase(),
        });
        assert_eq!(
            check(&upper, &key, "dev-1", NOW),
            Err(PushTokenError::BadToken)
        );
        let wrong_typ = PushTokenRequest {
            device_id: "dev-1".into(),
            request: jws::sign_json(&key, "vistalid-pin-guess+jwt", &good).expect("sign"),
        };
        assert_eq!(
            check_registration(&wrong_typ, &pk, NOW),
            Err(PushTokenError::Malformed)
        );
    }

    #[test]
    fn token_shapes() {
        assert!(check_token(PushPlatform::Fcm, "abc:DEF_-.9").is_ok());
        assert!(check_token(PushPlatform::Fcm, "").is_err());
        assert!(check_token(PushPlatform::Fcm, "a b").is_err());
        assert!(check_token(PushPlatform::Fcm, &"a".repeat(MAX_FCM_TOKEN_LEN + 1)).is_err());
        assert!(check_token(PushPlatform::Apns, APNS).is_ok());
        assert!(check_token(PushPlatform::Apns, &APNS[1..]).is_err());
        assert!(check_token(PushPlatform::Apns, &APNS[2..]).is_err());
    }

    #[test]
    fn payload_round_trip_and_refusals() {
        let p = PushPayload {
            device_id: "dev_1".into(),
            challenge_id: "ch-2".into(),
        };
        let pairs = p.to_pairs();
        assert_eq!(pairs.len(), 3);
        let mut with_extra: Vec<(&str, &str)> =
            pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        with_extra.push(("google.message_id", "x"));
        assert_eq!(PushPayload::from_pairs(with_extra.clone()), Ok(p));
        let missing: Vec<_> = with_extra
            .iter()
            .copied()
            .filter(|(k, _)| *k != KEY_CHALLENGE)
            .collect();
        assert_eq!(
            PushPayload::from_pairs(missing),
            Err(PushPayloadError::Shape)
        );
        let v2: Vec<_> = with_extra
            .iter()
            .map(|(k, v)| {
                if *k == KEY_VERSION {
                    (*k, "2")
                } else {
                    (*k, *v)
                }
            })
            .collect();
        assert_eq!(PushPayload::from_pairs(v2), Err(PushPayloadError::Shape));
        let bad: Vec<_> = with_extra
            .iter()
            .map(|(k, v)| {
                if *k == KEY_DEVICE {
                    (*k, "a/b")
                } else {
                    (*k, *v)
                }
            })
            .collect();
        assert_eq!(PushPayload::from_pairs(bad), Err(PushPayloadError::BadId));
    }
}
