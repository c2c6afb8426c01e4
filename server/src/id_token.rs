// SPDX-License-Identifier: Apache-2.0
//! ID tokens: the claims of a granted login and their ES256 signature (CIBA's token endpoint,
//! and the browser login's code and refresh grants).
//!
//! Guarantees: a token is an ES256 JWT (`typ` JWT, `kid` = the JWKS key's thumbprint) with
//! `iss` (this server), `sub` (the account id: stable, opaque, not the RPPS number), `aud`
//! (the client id), `iat`, `exp` (`token_ttl_secs` later), `auth_time` (the approval),
//! `acr` ([`ACR`]), `amr` (what happened, see [`amr`]) and Pro Santé Connect's identity
//! claims; a browser login's adds `sid`, `at_hash`, `azp` and the code's `nonce`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde_json::{json, Value};
use vistalid_core::protocol::{AccountKind, Identity, KeyStorage};

use crate::api::ApiError;
use crate::domain::secs;
use crate::keyring::Purpose;
use crate::state::Shared;
use crate::store::{Grant, TokenGrant};

/// Value of the `acr` claim of every ID token: the Pro Santé Connect level its relying
/// parties ask for (`acr_values=eidas1`). A device-bound key unlocked by a PIN, with a
/// *code dynamique* matched by the user.
pub const ACR: &str = "eidas1";
/// Value of the `acr` claim of a login approved with the offline code (issue 16): a level
/// below [`ACR`], which it does not meet (no device-key signature, no *code dynamique*): a
/// TOTP of a secret the phone keeps masked by the PIN. A request whose `acr_values` does not
/// name it excludes the fallback.
pub const OFFLINE_ACR: &str = "urn:vistalid:acr:offline-otp";
/// Whether a login may use the offline code: the client does not refuse it and the request's
/// `acr_values`, when given, name [`OFFLINE_ACR`] (a request that asks only for more than
/// the fallback gives excludes it).
pub(crate) fn offline_allowed(client_refuses: bool, acr_values: Option<&str>) -> bool {
    !client_refuses && acr_values.is_none_or(|v| v.split(' ').any(|a| a == OFFLINE_ACR))
}

/// How a login was authenticated, as the ID token's `amr` names it (RFC 8176 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// `pin`: the wallet PIN unlocked the device key (something the user knows).
    Pin,
    /// `hwk` or `swk`: proof of possession of the device key (something the user has):
    /// `hwk` only for an attested hardware key that co-signed ([`proven_storage`]).
    DeviceKey(KeyStorage),
    /// `otp`: an offline code (issue 16). With [`Method::Pin`] it is *not* `mfa`: the code
    /// does not show that the PIN was right by itself (docs/offline-code.md).
    Otp,
}

/// The `amr` values of a login authenticated by `methods`, in order, with `mfa` added when
/// both a knowledge factor (the PIN) and a possession factor (the device key) were used.
pub(crate) fn amr(methods: &[Method]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = methods
        .iter()
        .map(|m| match m {
            Method::Pin => "pin",
            Method::DeviceKey(KeyStorage::Hardware) => "hwk",
            Method::DeviceKey(KeyStorage::Software) => "swk",
            Method::Otp => "otp",
        })
        .collect();
    let knows = methods.contains(&Method::Pin);
    let has = methods.iter().any(|m| matches!(m, Method::DeviceKey(_)));
    if knows && has {
        out.push("mfa");
    }
    out
}

/// Where the approving key is, as far as the server knows it: hardware only when the device
/// enrolled with a verified attestation (its hardware key co-signed the approval, ADR 0001);
/// a wallet's own report of a hardware keystore is not proof (its account key is sealed in
/// software by a keystore-derived key, and nothing attested the keystore).
pub(crate) fn proven_storage(grant: &Grant) -> KeyStorage {
    if grant.attested {
        KeyStorage::Hardware
    } else {
        KeyStorage::Software
    }
}

/// The signed ID token of `grant` for `client_id`, issued at `now`.
pub(crate) fn sign(
    s: &Shared,
    client_id: &str,
    grant: &Grant,
    now: i64,
) -> Result<String, ApiError> {
    let mut claims = base_claims(
        s,
        client_id,
        &grant.account_id,
        grant.auth_time,
        proven_storage(grant),
        false,
        now,
    );
    add_identity(&mut claims, grant.kind, &grant.identity);
    sign_claims(s, &claims)
}

/// The claims every ID token of this server carries: issuer, subject, audience, times, `acr`
/// and the `amr` of an approval (the PIN unlocks the key; the device key signs), with the
/// key's storage as proven.
fn base_claims(
    s: &Shared,
    client_id: &str,
    account_id: &str,
    auth_time: i64,
    storage: KeyStorage,
    offline: bool,
    now: i64,
) -> Value {
    let (acr, methods): (&str, &[Method]) = if offline {
        (OFFLINE_ACR, &[Method::Otp, Method::Pin])
    } else {
        (ACR, &[Method::Pin, Method::DeviceKey(storage)])
    };
    json!({
        "iss": s.issuer,
        "sub": account_id,
        "aud": client_id,
        "iat": now,
        "exp": now.saturating_add(secs(s.config.token_ttl_secs)),
        "auth_time": auth_time,
        "acr": acr,
        "amr": amr(methods),
    })
}

/// The signed ID token of a browser login's `grant` (code or refresh) for `client_id`,
/// issued at `now` beside `access_token`: [`sign`]'s claims, with `sid` (the SSO session),
/// `at_hash` (OIDC Core §3.1.3.6, of `access_token`) and the code's `nonce` when it had one.
pub(crate) fn sign_browser(
    s: &Shared,
    client_id: &str,
    grant: &TokenGrant,
    access_token: &str,
    now: i64,
) -> Result<String, ApiError> {
    let mut claims = base_claims(
        s,
        client_id,
        &grant.account_id,
        grant.auth_time,
        grant.key_storage,
        grant.offline,
        now,
    );
    claims["azp"] = json!(client_id);
    claims["sid"] = json!(grant.sid);
    claims["at_hash"] = json!(at_hash(access_token));
    if let Some(nonce) = &grant.nonce {
        claims["nonce"] = json!(nonce);
    }
    add_identity(&mut claims, grant.kind, &grant.identity);
    sign_claims(s, &claims)
}

/// OIDC Core §3.1.3.6: base64url of the left half of the SHA-256 of the token's ASCII.
pub(crate) fn at_hash(access_token: &str) -> String {
    let digest = crate::secrets::hash(access_token.as_bytes());
    B64URL.encode(&digest[..16])
}

/// Adds the identity claims of an account of `kind` (Pro Santé Connect's names: the ID
/// token's and userinfo's): `SubjectNameID`, `preferred_username`, `given_name`,
/// `family_name`, `SubjectRefPro.exercices[].codeProfession` when the account has a
/// profession, and `vistalid_account_kind`.
pub(crate) fn add_identity(claims: &mut Value, kind: AccountKind, who: &Identity) {
    claims["SubjectNameID"] = json!(who.subject_name_id);
    claims["preferred_username"] = json!(who.subject_name_id);
    claims["given_name"] = json!(who.given_name);
    claims["family_name"] = json!(who.family_name);
    claims["vistalid_account_kind"] = json!(kind);
    if let Some(p) = &who.profession {
        claims["SubjectRefPro"] = json!({ "exercices": [ { "codeProfession": p } ] });
    }
}

/// `claims` as an ES256 JWT (`typ` JWT, `kid` the JWKS key's), signed by the ID-token key
/// that signs now (issue 19: keys rotate, every token names its key).
pub(crate) fn sign_claims(s: &Shared, claims: &Value) -> Result<String, ApiError> {
    let signer = s.keys.signer(Purpose::IdToken, s.clock.now());
    vistalid_core::jws::sign_json(&signer.key, "JWT", claims).map_err(|e| ApiError::internal(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_sha256() {
        // OIDC Core §3.1.3.6 on a known value: SHA-256("abc") = ba7816bf 8f01cfea 414140de
        // 5dae2223 b00361a3 96177a9c b410ff61 f20015ad; the left 16 bytes, base64url.
        assert_eq!(at_hash("abc"), "ungWv48Bz-pBQUDeXa4iIw");
    }

    #[test]
    fn amr_names_the_key_storage_and_mfa_needs_two_factors() {
        use KeyStorage::{Hardware, Software};
        let cases: [(&[Method], &[&str]); 5] = [
            (
                &[Method::Pin, Method::DeviceKey(Hardware)],
                &["pin", "hwk", "mfa"],
            ),
            (
                &[Method::Pin, Method::DeviceKey(Software)],
                &["pin", "swk", "mfa"],
            ),
            (&[Method::DeviceKey(Hardware)], &["hwk"]),
            (&[Method::Pin], &["pin"]),
            (&[], &[]),
        ];
        for (methods, expected) in cases {
            assert_eq!(amr(methods), expected, "{methods:?}");
        }
    }

    #[test]
    fn only_an_attested_device_is_hardware_whatever_the_wallet_reported() {
        let grant = |key_storage, attested| Grant {
            account_id: "a".into(),
            kind: vistalid_core::protocol::AccountKind::Practitioner,
            identity: vistalid_core::protocol::Identity {
                subject_name_id: "1".into(),
                given_name: "g".into(),
                family_name: "f".into(),
                profession: None,
            },
            auth_time: 0,
            key_storage,
            attested,
        };
        use KeyStorage::{Hardware, Software};
        assert_eq!(proven_storage(&grant(Hardware, true)), Hardware);
        assert_eq!(proven_storage(&grant(Hardware, false)), Software);
        assert_eq!(proven_storage(&grant(Software, false)), Software);
    }
}
