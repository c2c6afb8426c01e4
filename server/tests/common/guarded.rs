// SPDX-License-Identifier: Apache-2.0
//! A device that enrols with PIN-guard keys and signs PIN-guard requests, as the wallet does,
//! against any base URL (an in-process harness or the server binary).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde_json::{json, Value};
use vistalid_core::jws;
use vistalid_core::keys::SigningKey;
use vistalid_core::oprf::{self, OprfPublicKey};
use vistalid_core::protocol::{
    EnrolRequest, EnrolResponse, KeyStorage, NonceResponse, PinConfirmClaims, PinGuardKeys,
    PinGuardRequest, PinGuessClaims, PATH_ENROL, PATH_ENROL_NONCE, TYP_PIN_CONFIRM, TYP_PIN_GUESS,
};

use super::{proof, read};

/// A device enrolled with PIN-guard keys.
pub struct Guarded {
    pub device_id: String,
    pub key_id: String,
    pub public: OprfPublicKey,
    pub unlock: SigningKey,
    pub confirm: SigningKey,
    pub enrolled: EnrolResponse,
}

/// Enrols a device with PIN-guard keys at `base` with activation `code`, signing at `now`.
pub async fn enrol_guarded(http: &reqwest::Client, base: &str, code: &str, now: i64) -> Guarded {
    let key = SigningKey::make().expect("key");
    let unlock = SigningKey::make().expect("key");
    let confirm = SigningKey::make().expect("key");
    let nonce: NonceResponse = read(
        http.post(format!("{base}{PATH_ENROL_NONCE}"))
            .send()
            .await
            .expect("nonce"),
    )
    .await
    .expect("nonce");
    let req = EnrolRequest {
        activation_code: code.to_owned(),
        public_key: key.public_key().to_jwk(),
        proof: proof(&key, &nonce.nonce, base, now),
        device_name: "Pixel 9 test".to_owned(),
        device_attestation: None,
        key_storage: Some(KeyStorage::Software),
        pin_guard: Some(PinGuardKeys {
            unlock_key: unlock.public_key().to_jwk(),
            confirm_key: confirm.public_key().to_jwk(),
        }),
    };
    let enrolled: EnrolResponse = read(
        http.post(format!("{base}{PATH_ENROL}"))
            .json(&req)
            .send()
            .await
            .expect("enrol"),
    )
    .await
    .expect("enrol");
    let oprf = enrolled.oprf.clone().expect("an OPRF key");
    Guarded {
        device_id: enrolled.device_id.clone(),
        key_id: oprf.key_id,
        public: OprfPublicKey::from_base64url(&oprf.public_key).expect("point"),
        unlock,
        confirm,
        enrolled,
    }
}

/// A request id made of `n`.
pub fn jti(n: u8) -> String {
    B64URL.encode([n; 16])
}

/// A valid blinded element, base64url, with the state that finalizes it.
pub fn element() -> (oprf::BlindState, String) {
    let (state, blinded) = oprf::blind(&[5u8; 32]).expect("blind");
    (state, B64URL.encode(blinded.to_bytes()))
}

impl Guarded {
    pub fn claims(&self, element: &str, jti: String, iat: i64) -> PinGuessClaims {
        PinGuessClaims {
            device_id: self.device_id.clone(),
            key_id: self.key_id.clone(),
            blinded_element: element.to_owned(),
            jti,
            iat,
        }
    }

    pub fn body(&self, token: String) -> Value {
        json!(PinGuardRequest {
            device_id: self.device_id.clone(),
            request: token,
        })
    }

    pub fn guess_body(&self, claims: &PinGuessClaims) -> Value {
        self.body(jws::sign_json(&self.unlock, TYP_PIN_GUESS, claims).expect("sign"))
    }

    pub fn confirm_body(&self, key: &SigningKey, jti: String, iat: i64) -> Value {
        let claims = PinConfirmClaims {
            device_id: self.device_id.clone(),
            key_id: self.key_id.clone(),
            jti,
            iat,
        };
        self.body(jws::sign_json(key, TYP_PIN_CONFIRM, &claims).expect("sign"))
    }
}
