// SPDX-License-Identifier: Apache-2.0
//! The relying party's checks of what the server signs: ID tokens (CIBA and the code flow)
//! and signed userinfo answers, against the server's JWKS.
//!
//! Guarantees: a token is accepted only when its header is ES256 with a `kid` found in the
//! server's JWKS (fetched once, and again only for a `kid` it does not hold), its signature
//! verifies under that key, and its claims pass [`Expect`]: `iss` is the server, `aud` names
//! this client (and `azp`, when present, is this client), `exp` is after now (ID tokens),
//! `nonce` equals the one sent, and `at_hash` is the left half of the access token's SHA-256
//! (OIDC Core §3.1.3.6). The failed check is named in [`RpError::IdToken`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde_json::Value;
use vistalid_core::jws;
use vistalid_core::keys::{JwkSet, PublicKey};
use vistalid_core::protocol::PATH_JWKS;

use super::{read, transport, RelyingParty, RpError};

/// What a signed token must carry beyond its signature, `iss` and `aud`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expect<'a> {
    /// The `nonce` sent in the request: the token must carry exactly it.
    pub nonce: Option<&'a str>,
    /// The access token issued with the ID token: `at_hash` must be present and match.
    pub access_token: Option<&'a str>,
    /// `typ` in the header (`JWT` for ID tokens); `None` accepts any.
    pub typ: Option<&'a str>,
    /// Whether `exp` is required and must be in the future (ID tokens).
    pub exp: bool,
}

impl<'a> Expect<'a> {
    /// An ID token: `typ` JWT, `exp` in the future, and `nonce` when given.
    pub fn id_token(nonce: Option<&'a str>) -> Self {
        Self {
            nonce,
            access_token: None,
            typ: Some("JWT"),
            exp: true,
        }
    }
}

/// `at_hash` of `access_token` for ES256: base64url of the left 128 bits of its SHA-256.
pub fn at_hash(access_token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes());
    B64URL.encode(&digest.as_ref()[..16])
}

impl RelyingParty {
    /// Verifies `id_token` (see the module guarantees) and returns its claims; `nonce`, when
    /// given, must be the token's.
    pub async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<Value, RpError> {
        self.verify_signed(id_token, Expect::id_token(nonce)).await
    }

    /// Verifies a token the server signed, with the checks `expect` asks for, and returns its
    /// claims.
    pub async fn verify_signed(&self, token: &str, expect: Expect<'_>) -> Result<Value, RpError> {
        let header = jws::peek_header(token).map_err(|_| RpError::IdToken("not a JWS"))?;
        let kid = header.kid.ok_or(RpError::IdToken("no kid"))?;
        let key = match self.cached_key(&kid) {
            Some(key) => key,
            None => {
                self.refresh_keys().await?;
                self.cached_key(&kid)
                    .ok_or(RpError::IdToken("kid not in the JWKS"))?
            }
        };
        let claims: Value = jws::verify_json(token, &key, expect.typ).map_err(|e| match e {
            jws::JwsError::BadSignature => RpError::IdToken("signature"),
            _ => RpError::IdToken("not an ES256 JWT"),
        })?;
        self.check_claims(&claims, expect)?;
        Ok(claims)
    }

    pub(super) fn check_claims(&self, claims: &Value, expect: Expect<'_>) -> Result<(), RpError> {
        if claims["iss"].as_str() != Some(self.base.as_str()) {
            return Err(RpError::IdToken("iss"));
        }
        let aud_ok = match &claims["aud"] {
            Value::String(a) => *a == self.client_id,
            Value::Array(list) => list.iter().any(|a| a.as_str() == Some(&self.client_id)),
            _ => false,
        };
        if !aud_ok {
            return Err(RpError::IdToken("aud"));
        }
        if !claims["azp"].is_null() && claims["azp"].as_str() != Some(self.client_id.as_str()) {
            return Err(RpError::IdToken("azp"));
        }
        if expect.exp {
            match claims["exp"].as_i64() {
                Some(exp) if exp > self.clock.now() => {}
                _ => return Err(RpError::IdToken("exp")),
            }
        }
        if let Some(n) = expect.nonce {
            if claims["nonce"].as_str() != Some(n) {
                return Err(RpError::IdToken("nonce"));
            }
        }
        if let Some(token) = expect.access_token {
            if claims["at_hash"].as_str() != Some(at_hash(token).as_str()) {
                return Err(RpError::IdToken("at_hash"));
            }
        }
        Ok(())
    }

    /// The server's ID-token keys (fetched from its JWKS now).
    pub async fn jwks(&self) -> Result<Vec<PublicKey>, RpError> {
        self.refresh_keys().await?;
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        Ok(keys.iter().map(|(_, k)| *k).collect())
    }

    fn cached_key(&self, kid: &str) -> Option<PublicKey> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter().find(|(k, _)| k == kid).map(|(_, k)| *k)
    }

    async fn refresh_keys(&self) -> Result<(), RpError> {
        let url = format!("{}{PATH_JWKS}", self.base);
        let resp = self.http.get(url).send().await.map_err(transport)?;
        let set: JwkSet = read(resp).await?;
        let keys = set
            .keys
            .iter()
            .map(|jwk| {
                let key = PublicKey::from_jwk(jwk).map_err(|_| RpError::Malformed("JWK"))?;
                let kid = jwk.kid.clone().unwrap_or_else(|| key.thumbprint());
                Ok((kid, key))
            })
            .collect::<Result<Vec<_>, RpError>>()?;
        *self.keys.lock().unwrap_or_else(|p| p.into_inner()) = keys;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_core_example() {
        // OIDC Core Appendix A.3 (ES256/RS256 share SHA-256): this access token's at_hash.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_ne!(at_hash("a"), at_hash("b"));
    }

    #[test]
    fn claims_are_checked_one_by_one() {
        let rp = RelyingParty::new("https://idp.example", "rp-1", "s")
            .with_clock(Arc::new(vistalid_core::clock::ManualClock::new(1_000)));
        let good = serde_json::json!({
            "iss": "https://idp.example", "aud": "rp-1", "exp": 1_001, "nonce": "n-1",
            "at_hash": at_hash("tok")
        });
        let code_flow = Expect {
            access_token: Some("tok"),
            ..Expect::id_token(Some("n-1"))
        };
        assert!(rp.check_claims(&good, code_flow).is_ok());
        assert!(rp.check_claims(&good, Expect::id_token(None)).is_ok());
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            c
        };
        let cases = [
            (with("iss", "https://other.example".into()), "iss"),
            (with("aud", "rp-2".into()), "aud"),
            (with("aud", serde_json::json!(["rp-2"])), "aud"),
            (with("azp", "rp-2".into()), "azp"),
            (with("exp", 1_000.into()), "exp"),
            (with("nonce", "n-2".into()), "nonce"),
            (with("nonce", Value::Null), "nonce"),
            (with("at_hash", at_hash("other").into()), "at_hash"),
            (with("at_hash", Value::Null), "at_hash"),
        ];
        for (claims, check) in cases {
            match rp.check_claims(&claims, code_flow) {
                Err(RpError::IdToken(c)) => assert_eq!(c, check),
                other => panic!("{check}: {other:?}"),
            }
        }
        assert!(rp
            .check_claims(
                &with("aud", serde_json::json!(["x", "rp-1"])),
                Expect::id_token(None)
            )
            .is_ok());
        // A signed userinfo has no exp to check.
        let userinfo = Expect {
            exp: false,
            typ: None,
            ..Expect::default()
        };
        assert!(rp.check_claims(&with("exp", Value::Null), userinfo).is_ok());
    }
}
