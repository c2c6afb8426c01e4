// SPDX-License-Identifier: Apache-2.0
//! Wire types shared by the wallet and the reference server, so the two sides cannot drift.
//!
//! Every signed message is a compact JWS (see [`crate::jws`]) whose payload is one of the
//! `*Claims` structs here; the JWS `typ` constants name which. Paths are relative to the
//! server's base URL.

use serde::{Deserialize, Serialize};

use crate::keys::Jwk;

/// Path: enrolment nonce (POST, no body).
pub const PATH_ENROL_NONCE: &str = "/device/enrol/nonce";
/// Path: enrolment (POST [`EnrolRequest`]).
pub const PATH_ENROL: &str = "/device/enrol";
/// Path: device long-poll for pending challenges (GET, bearer poll token, `?wait=seconds`).
pub const PATH_CHALLENGES: &str = "/device/challenges";
/// Path: answer a challenge (POST [`AnswerRequest`]); `{id}` is the challenge id.
pub const PATH_ANSWER: &str = "/device/challenges/{id}/answer";
/// Path: one counted PIN guess, the server's VOPRF evaluation (POST [`PinGuardRequest`] of
/// [`PinGuessClaims`], signed by the account's device-tier key; answer [`PinGuessResponse`]).
pub const PATH_PIN_GUESS: &str = "/device/pin-guard/evaluate";
/// Path: the proof of a successful unlock (POST [`PinGuardRequest`] of [`PinConfirmClaims`],
/// signed by the account's confirmation key; answer [`PinConfirmResponse`]).
pub const PATH_PIN_CONFIRM: &str = "/device/pin-guard/confirm";
/// Path: QR redemption by a professional's software (POST [`RedeemRequest`]).
pub const PATH_REDEEM: &str = "/qr/redeem";
/// Path: the QR credential issuer's public keys (GET, JWKS shape), for verifiers.
pub const PATH_ISSUER_KEYS: &str = "/qr/issuer-keys";
/// `GET` the statement, signed by the challenge key `{kid}`, naming its successor (issue 19,
/// see [`crate::rollover`]).
pub const PATH_KEY_ROLLOVER: &str = "/device/key-rollover/{kid}";
/// Path: CIBA backchannel authentication (Pro Santé Connect's Keycloak path shape).
pub const PATH_CIBA: &str = "/protocol/openid-connect/ext/ciba/auth";
/// Path: the authorization endpoint (GET and POST): the browser login, authorization code
/// with PKCE S256 (ADR 0002).
pub const PATH_AUTHORIZE: &str = "/protocol/openid-connect/auth";
/// Path: token endpoint (CIBA, `authorization_code` and `refresh_token` grants).
pub const PATH_TOKEN: &str = "/protocol/openid-connect/token";
/// Path: userinfo (GET and POST, bearer access token).
pub const PATH_USERINFO: &str = "/protocol/openid-connect/userinfo";
/// Path: RP-initiated logout (`end_session_endpoint`, GET and POST).
pub const PATH_END_SESSION: &str = "/protocol/openid-connect/logout";
/// Path: the login page of one attempt (GET: its current state; POST: the identifier form).
pub const PATH_LOGIN: &str = "/login/{attempt}";
/// Path: the JSON state of one attempt for the page's script (GET, long-poll `?wait=`
/// seconds, at most 25).
pub const PATH_LOGIN_STATUS: &str = "/login/{attempt}/status";
/// Path: a new phone challenge after a wrong code or an expiry (POST, at most 3 per attempt).
pub const PATH_LOGIN_RETRY: &str = "/login/{attempt}/retry";
/// Path: after approval, back to the client with the code (GET).
pub const PATH_LOGIN_CONTINUE: &str = "/login/{attempt}/continue";
/// The offline-code form of a login attempt (issue 16): GET shows it, POST checks a code.
pub const PATH_LOGIN_OFFLINE: &str = "/login/{attempt}/offline";
/// Path: the login page's static files (`mire.css`, `mire.js`, and hashed names).
pub const PATH_LOGIN_STATIC: &str = "/login/static/{file}";
/// Path: JWKS.
pub const PATH_JWKS: &str = "/protocol/openid-connect/certs";
/// Path: OIDC discovery.
pub const PATH_DISCOVERY: &str = "/.well-known/openid-configuration";

/// JWS `typ` of an enrolment proof of possession signed by the new device key.
pub const TYP_ENROL_PROOF: &str = "vistalid-enrol+jwt";
/// JWS `typ` of a challenge signed by the server.
pub const TYP_CHALLENGE: &str = "vistalid-challenge+jwt";
/// JWS `typ` of an answer signed by the device key.
pub const TYP_ANSWER: &str = "vistalid-answer+jwt";

/// JWS `typ` of a PIN guess (an OPRF evaluation request) signed by the device-tier key.
pub const TYP_PIN_GUESS: &str = "vistalid-pin-guess+jwt";
/// JWS `typ` of the proof of a successful unlock, signed by the confirmation key.
pub const TYP_PIN_CONFIRM: &str = "vistalid-pin-confirm+jwt";

/// The suite of [`OprfInfo::suite`] (RFC 9497).
pub const OPRF_SUITE: &str = "P256-SHA256";
/// The mode of [`OprfInfo::mode`].
pub const OPRF_MODE: &str = "voprf";
/// How far a PIN-guard request's `iat` may be from the server's clock, in seconds.
pub const PIN_GUARD_MAX_SKEW_SECS: i64 = 120;

/// The CIBA grant type (OpenID CIBA core 1.0, section 10.1).
pub const CIBA_GRANT_TYPE: &str = "urn:openid:params:grant-type:ciba";
/// The authorization code grant type (RFC 6749 §4.1.3).
pub const AUTHORIZATION_CODE_GRANT_TYPE: &str = "authorization_code";
/// The refresh token grant type (RFC 6749 §6).
pub const REFRESH_TOKEN_GRANT_TYPE: &str = "refresh_token";

/// Answer to [`PATH_ENROL_NONCE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceResponse {
    /// Random single-use nonce, base64url.
    pub nonce: String,
    /// Seconds the nonce stays valid.
    pub expires_in: u64,
}

/// Kind of account: a health professional (e-CPS role) or an insured citizen (ApCV role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// Health professional identified by an RPPS number.
    Practitioner,
    /// Insured citizen identified by a pseudonymous id.
    Insured,
}

/// Claims of the enrolment proof of possession, signed by the new device key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolProofClaims {
    /// The nonce from [`NonceResponse`].
    pub nonce: String,
    /// The server's base URL (audience), so a proof cannot be replayed to another server.
    pub aud: String,
    /// Seconds since the epoch at signing time.
    pub iat: i64,
}

/// Body of [`PATH_ENROL`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    /// One-time activation code given out of band.
    pub activation_code: String,
    /// The new device public key.
    pub public_key: Jwk,
    /// Compact JWS of [`EnrolProofClaims`] by the device key.
    pub proof: String,
    /// Human name of the device, shown in device lists.
    pub device_name: String,
    /// Evidence that the device's hardware key is genuine, made for
    /// [`crate::attestation::attestation_challenge`] of this enrolment's nonce and
    /// `public_key` (ADR 0001). Absent when the platform keystore cannot attest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_attestation: Option<DeviceAttestation>,
    /// Where the wallet's platform keystore keeps its key (`PlatformKeystore::
    /// is_hardware_backed`); absent (a wallet older than this field) counts as software. It
    /// sets the ID token's `amr` (`hwk` or `swk`) until an attestation proves more (ADR 0001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_storage: Option<KeyStorage>,
    /// The keys of the server-counted PIN guesses (ADR 0001, issue 18): with them the server
    /// creates an OPRF key for the device and answers [`EnrolResponse::oprf`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_guard: Option<PinGuardKeys>,
}

/// Where a wallet's platform keystore keeps its key, as the wallet reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStorage {
    /// Secure hardware (Android Keystore with TEE or StrongBox, Secure Enclave).
    Hardware,
    /// Software (a key file: the CLI, desktops, tests).
    Software,
}

/// The device's keys for the server-counted PIN guesses, sent at enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinGuardKeys {
    /// The device-tier key (usable without the PIN): signs every PIN guess and, for insured
    /// accounts, the QR presentations (the credential binds it).
    pub unlock_key: Jwk,
    /// The confirmation key, sealed in the account's PIN tier: only a right PIN reaches it,
    /// and its signature proves a successful unlock.
    pub confirm_key: Jwk,
}

/// The server's OPRF key for this device ([`EnrolResponse::oprf`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OprfInfo {
    /// [`OPRF_SUITE`].
    pub suite: String,
    /// [`OPRF_MODE`].
    pub mode: String,
    /// The server's id of the key, sent back with every guess.
    pub key_id: String,
    /// The public key, base64url of the compressed SEC1 point, pinned by the wallet.
    pub public_key: String,
    /// Guesses allowed between two successful unlocks.
    pub guess_limit: u32,
}

/// The device's offline-code secret ([`EnrolResponse::offline_otp`], issue 16): RFC 6238
/// TOTP, generated by the server and sent once, over the enrolment channel (TLS), in the
/// enrolment answer. The wallet keeps it masked by its PIN (docs/offline-code.md).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineOtpInfo {
    /// The 32-byte secret, base64url without padding.
    pub secret: String,
    /// `"SHA256"` ([`crate::totp::ALGORITHM`]).
    pub algorithm: String,
    /// Digits of a code (8, [`crate::totp::DIGITS`]).
    pub digits: u32,
    /// Seconds of a step (30, [`crate::totp::PERIOD_SECS`]).
    pub period: u64,
}

impl std::fmt::Debug for OfflineOtpInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineOtpInfo")
            .field("secret", &"<redacted>")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("period", &self.period)
            .finish()
    }
}

/// A platform's evidence that the device's hardware key was generated in secure hardware by
/// the genuine app (ADR 0001). Binary fields travel as base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "platform", rename_all = "snake_case")]
pub enum DeviceAttestation {
    /// Android Key Attestation: `{"platform": "android_key", "chain": [...]}`.
    AndroidKey {
        /// The hardware key's certificate chain, DER, leaf first (as
        /// `KeyStore.getCertificateChain` returns it).
        #[serde(with = "b64url_list")]
        chain: Vec<Vec<u8>>,
    },
    /// Apple App Attest: `{"platform": "apple_app_attest", "key_id": ..., "object": ...}`.
    AppleAppAttest {
        /// The App Attest key id (SHA-256 of the key's uncompressed point, 32 bytes).
        #[serde(with = "b64url")]
        key_id: Vec<u8>,
        /// The CBOR attestation object `attestKey` returned.
        #[serde(with = "b64url")]
        object: Vec<u8>,
    },
}

/// The hardware key's signature over an answer (ADR 0001), beside the account key's JWS.
/// Binary fields travel as base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "platform", rename_all = "snake_case")]
pub enum HardwareSignature {
    /// Android: `{"platform": "android_key", "signature": ...}`, a DER ECDSA-SHA256
    /// signature by the attested key over the ASCII of the answer's compact JWS.
    AndroidKey {
        /// DER `ECDSA-Sig-Value`.
        #[serde(with = "b64url")]
        signature: Vec<u8>,
    },
    /// Apple: `{"platform": "apple_app_attest", "assertion": ...}`, an App Attest assertion
    /// with `clientDataHash = SHA-256(answer JWS)`; its counter must exceed the last one.
    AppleAppAttest {
        /// The CBOR assertion `generateAssertion` returned.
        #[serde(with = "b64url")]
        assertion: Vec<u8>,
    },
}

/// Serde of bytes as base64url without padding (the encoding of every binary wire field).
mod b64url {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64URL.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        B64URL
            .decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("not base64url without padding"))
    }
}

/// Serde of a list of byte strings as a JSON array of base64url texts.
mod b64url_list {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine as _;
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(items: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(items.len()))?;
        for item in items {
            seq.serialize_element(&B64URL.encode(item))?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let texts = Vec::<std::borrow::Cow<'de, str>>::deserialize(d)?;
        texts
            .iter()
            .map(|t| {
                B64URL
                    .decode(t.as_bytes())
                    .map_err(|_| serde::de::Error::custom("not base64url without padding"))
            })
            .collect()
    }
}

/// Identity claims of an account, as Pro Santé Connect names them where it has a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// RPPS number (practitioners) or pseudonymous id (insured); PSC's `SubjectNameID`.
    #[serde(rename = "SubjectNameID")]
    pub subject_name_id: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Profession code (e.g. `10` doctor, `21` pharmacist, `60` nurse); practitioners only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profession: Option<String>,
}

/// Answer to [`PATH_ENROL`]: what the wallet stores for the new account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolResponse {
    /// Server-side account id.
    pub account_id: String,
    /// Server-side id of this device.
    pub device_id: String,
    /// Practitioner or insured.
    pub kind: AccountKind,
    /// Identity claims.
    pub identity: Identity,
    /// The server's challenge-signing key, pinned by the wallet from now on.
    pub server_key: Jwk,
    /// The issuer's QR-credential key (insured accounts), as a JWK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_key: Option<Jwk>,
    /// Bearer token for the device long-poll (not a signing secret; see DESIGN.md).
    pub poll_token: String,
    /// Issuer-signed credential (COSE_Sign1, base64url) binding identity to the device key
    /// (to [`PinGuardKeys::unlock_key`] when the request had one); insured accounts only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// The device's OPRF key, when the server counts PIN guesses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oprf: Option<OprfInfo>,
    /// The identifier the user types on the login page (and a relying party gives as CIBA
    /// `login_hint`): the national id `8` + RPPS for practitioners, a random identifier for
    /// insured citizens that no QR code carries. Absent from servers older than the browser
    /// login (ADR 0002).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_id: Option<String>,
    /// The device's offline-code secret (issue 16), when the server offers the fallback;
    /// absent from older servers and from servers without an offline-code key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_otp: Option<OfflineOtpInfo>,
}

/// How the user proves they see the login page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeMode {
    /// Pick the code shown on the login page among candidates (e-CPS: 3 candidates).
    Pick,
    /// Type the 2-digit code shown on the login page (1 in 100 for a blind guess).
    Type,
}

/// Where and how the login was requested, shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RequestContext {
    /// IP address of the browser, as the relying party reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Browser user agent, as the relying party reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Approximate place (city, country), as the relying party reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
}

/// Claims of a challenge, signed by the server's pinned key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeClaims {
    /// Unique challenge id (also the replay-cache key).
    pub id: String,
    /// The account the challenge is for.
    pub account_id: String,
    /// The device the challenge was queued for.
    pub device_id: String,
    /// Name of the service (relying party) asking.
    pub service: String,
    /// The relying party's binding message.
    pub binding_message: String,
    /// Request context.
    pub context: RequestContext,
    /// Pick or type.
    pub mode: CodeMode,
    /// Candidate codes (pick mode), already shuffled; empty in type mode.
    pub candidates: Vec<String>,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Scan mode (issue 16): the id of the browser login attempt whose QR code the user must
    /// scan; the answer must then carry [`AnswerClaims::scan_mac`]. The QR code's secret is
    /// never here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<String>,
}

/// Answer to [`PATH_CHALLENGES`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChallengesResponse {
    /// Pending challenges as compact JWS of [`ChallengeClaims`].
    pub challenges: Vec<String>,
}

/// The user's decision on a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The user approves and gives the code.
    Approve,
    /// The user declines.
    Deny,
    /// The user reports that the request was not theirs (fraud signal).
    NotMe,
}

/// Claims of an answer, signed by the device key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerClaims {
    /// The challenge id.
    pub challenge_id: String,
    /// The answering device.
    pub device_id: String,
    /// The decision.
    pub decision: Decision,
    /// The chosen or typed code (approve only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Seconds since the epoch at signing time.
    pub iat: i64,
    /// Scan mode (issue 16): the MAC over the challenge id and the decision, keyed with the
    /// scanned secret ([`crate::scan::answer_mac`]); required for a challenge with
    /// [`ChallengeClaims::scan`], refused on any other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_mac: Option<String>,
}

/// Body of [`PATH_ANSWER`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerRequest {
    /// Compact JWS of [`AnswerClaims`].
    pub answer: String,
    /// The device's hardware key over the same bytes (the ASCII of [`AnswerRequest::answer`]);
    /// required from a device that enrolled with a [`DeviceAttestation`] (ADR 0001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_signature: Option<HardwareSignature>,
}

/// What the server recorded for an answer (the body of a successful [`PATH_ANSWER`]). A
/// wrong code is not a status: it is the error [`ErrorCode::WrongCode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerStatus {
    /// Approved with the right code: the relying party gets its token.
    Approved,
    /// Declined: the relying party gets `access_denied`.
    Denied,
    /// Reported as "this was not me": denied, and the account's logins are held.
    Reported,
}

impl AnswerStatus {
    /// Every status, in wire order.
    pub const ALL: [Self; 3] = [Self::Approved, Self::Denied, Self::Reported];

    /// The wire text (`approved`, `denied`, `reported`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Reported => "reported",
        }
    }
}

/// Answer to [`PATH_ANSWER`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerResponse {
    /// What was recorded.
    pub status: AnswerStatus,
}

/// Body of [`PATH_PIN_GUESS`] and [`PATH_PIN_CONFIRM`] (checked by
/// [`crate::pin_guard`] on the server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinGuardRequest {
    /// The device, so the server knows which key to check the signature with; the signed
    /// claims must name the same device.
    pub device_id: String,
    /// Compact JWS of [`PinGuessClaims`] or [`PinConfirmClaims`].
    pub request: String,
}

/// Claims of a PIN guess, signed by the device-tier key ([`TYP_PIN_GUESS`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinGuessClaims {
    /// The guessing device.
    pub device_id: String,
    /// The OPRF key the wallet pinned ([`OprfInfo::key_id`]).
    pub key_id: String,
    /// The blinded element, base64url of the compressed SEC1 point.
    pub blinded_element: String,
    /// Single-use request id (16+ random bytes, base64url).
    pub jti: String,
    /// Seconds since the epoch at signing time.
    pub iat: i64,
}

/// Answer to [`PATH_PIN_GUESS`]: the evaluation and its DLEQ proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinGuessResponse {
    /// The evaluated element, base64url of the compressed SEC1 point.
    pub evaluated_element: String,
    /// The proof (`c || s`, 64 bytes), base64url.
    pub proof: String,
    /// Guesses left after this one.
    pub guesses_left: u32,
}

/// Claims of the proof of a successful unlock, signed by the confirmation key
/// ([`TYP_PIN_CONFIRM`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinConfirmClaims {
    /// The device.
    pub device_id: String,
    /// The OPRF key the unlock used.
    pub key_id: String,
    /// Single-use request id (16+ random bytes, base64url).
    pub jti: String,
    /// Seconds since the epoch at signing time.
    pub iat: i64,
}

/// Answer to [`PATH_PIN_CONFIRM`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinConfirmResponse {
    /// Guesses allowed from now on (the limit).
    pub guesses_left: u32,
}

/// Body of [`PATH_REDEEM`]; the professional's software authenticates as a registered client
/// with HTTP Basic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemRequest {
    /// The QR text (`VL1:` …).
    pub qr: String,
}

/// Answer to [`PATH_REDEEM`]: the insured's identity, given once per presentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemResponse {
    /// Identity of the insured.
    pub identity: Identity,
    /// The credential id the presentation referred to (base64url).
    pub credential_id: String,
}

/// Answer to the CIBA endpoint (CIBA core 1.0, section 7.3), plus the code for the login page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CibaResponse {
    /// Handle for the token poll.
    pub auth_req_id: String,
    /// Seconds until the request expires.
    pub expires_in: u64,
    /// Minimum seconds between token polls.
    pub interval: u64,
    /// The *code dynamique* the login page shows.
    pub dynamic_code: String,
}

/// OAuth-style JSON error body used by every endpoint (RFC 6749 section 5.2 shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `invalid_request`, `access_denied`, `challenge_expired`.
    pub error: String,
    /// Human-readable explanation (never secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl ErrorBody {
    /// The error code, if it is one this protocol defines.
    pub fn code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(&self.error)
    }
}

/// Writes [`ErrorCode`] with each variant's wire text, once.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $text:literal,)+) => {
        /// The error codes (`ErrorBody::error`) of the reference server: OAuth 2.0, OIDC and
        /// CIBA codes where those specifications have one, Vistalid's own otherwise. The
        /// server answers only these; the wallet tells them apart through this enum, never
        /// through string literals. A server may answer a code this enum does not know (a
        /// newer version): [`ErrorCode::from_code`] gives `None` then.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The wire text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// The code whose wire text is `text`.
            pub fn from_code(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// Malformed request: a field is missing, too long, or not allowed (RFC 6749).
    InvalidRequest => "invalid_request",
    /// Client authentication failed (RFC 6749).
    InvalidClient => "invalid_client",
    /// The scope lacks `openid` (RFC 6749).
    InvalidScope => "invalid_scope",
    /// The grant is unknown, another client's, or already used (RFC 6749).
    InvalidGrant => "invalid_grant",
    /// The grant type is not one this server supports (RFC 6749).
    UnsupportedGrantType => "unsupported_grant_type",
    /// The authorization endpoint supports only `response_type=code` (RFC 6749).
    UnsupportedResponseType => "unsupported_response_type",
    /// `prompt=none` and no session that can answer without the user (OIDC Core §3.1.2.6).
    LoginRequired => "login_required",
    /// The authentication level asked (`acr_values`) is one this server cannot give (OpenID
    /// Connect Core Error Code `unmet_authentication_requirements`).
    UnmetAuthenticationRequirements => "unmet_authentication_requirements",
    /// The `request` parameter (request objects) is not supported (OIDC Core §3.1.2.6).
    RequestNotSupported => "request_not_supported",
    /// The `request_uri` parameter is not supported (OIDC Core §3.1.2.6).
    RequestUriNotSupported => "request_uri_not_supported",
    /// The user or the server refused the login (RFC 6749, CIBA).
    AccessDenied => "access_denied",
    /// No answer yet (CIBA).
    AuthorizationPending => "authorization_pending",
    /// Poll or ask more slowly (CIBA).
    SlowDown => "slow_down",
    /// The login request expired (CIBA).
    ExpiredToken => "expired_token",
    /// No account can be asked with this hint (CIBA).
    UnknownUserId => "unknown_user_id",
    /// The binding message is too long or not display-safe (CIBA).
    InvalidBindingMessage => "invalid_binding_message",
    /// A bearer token is missing, unknown or revoked (RFC 6750).
    InvalidToken => "invalid_token",
    /// The server failed (database, random generator); try later.
    ServerError => "server_error",
    /// No such endpoint.
    NotFound => "not_found",
    /// The endpoint does not take this HTTP method.
    MethodNotAllowed => "method_not_allowed",
    /// The body is over the server's limit.
    RequestTooLarge => "request_too_large",
    /// Too many requests from this address; retry after `Retry-After`.
    TooManyRequests => "too_many_requests",
    /// The enrolment proof of possession is wrong.
    InvalidProof => "invalid_proof",
    /// The enrolment nonce is unknown, used or expired.
    InvalidNonce => "invalid_nonce",
    /// The activation code is wrong (unknown, or a wrong secret).
    InvalidActivationCode => "invalid_activation_code",
    /// The activation code has expired.
    ActivationCodeExpired => "activation_code_expired",
    /// The activation code ran out of tries.
    ActivationCodeLocked => "activation_code_locked",
    /// The activation code was used.
    ActivationCodeUsed => "activation_code_used",
    /// No device has this id.
    UnknownDevice => "unknown_device",
    /// The device was revoked.
    DeviceRevoked => "device_revoked",
    /// A signature (answer, presentation) does not verify.
    InvalidSignature => "invalid_signature",
    /// The challenge was queued for another device.
    WrongDevice => "wrong_device",
    /// The approval's code is not the login page's: the login is denied.
    WrongCode => "wrong_code",
    /// No such challenge.
    UnknownChallenge => "unknown_challenge",
    /// The challenge was answered before.
    ChallengeAlreadyAnswered => "challenge_already_answered",
    /// The challenge has expired.
    ChallengeExpired => "challenge_expired",
    /// The text is not a Vistalid QR code.
    InvalidQr => "invalid_qr",
    /// The QR presentation is dated in the future.
    PresentationNotYetValid => "presentation_not_yet_valid",
    /// The QR presentation has expired.
    PresentationExpired => "presentation_expired",
    /// The QR presentation is addressed to another audience.
    WrongAudience => "wrong_audience",
    /// No such credential.
    UnknownCredential => "unknown_credential",
    /// The credential has expired.
    CredentialExpired => "credential_expired",
    /// The QR presentation was redeemed before.
    AlreadyRedeemed => "already_redeemed",
    /// The device's PIN-guess limit was reached and its OPRF key erased: the vault can never
    /// be opened again; enrol again.
    PinGuardBlocked => "pin_guard_blocked",
    /// A PIN-guard request reused its `jti`.
    ReplayedRequest => "replayed_request",
    /// A PIN-guard request's `iat` is too far from the server's clock.
    StaleRequest => "stale_request",
    /// A PIN-guard request names an OPRF key the device does not have.
    UnknownOprfKey => "unknown_oprf_key",
    /// A PIN guess's blinded element is not a valid P-256 point other than the identity.
    InvalidElement => "invalid_element",
    /// The server's policy needs what the device did not send: an attestation at enrolment
    /// (unattested keystores are not let in here), the hardware key's co-signature on an
    /// answer, or (CIBA) a device of the account that meets the relying party's policy
    /// (ADR 0001).
    AttestationRequired => "attestation_required",
    /// The device's attestation or hardware co-signature does not verify; the description
    /// names the check that failed (ADR 0001).
    AttestationInvalid => "attestation_invalid",
    /// Scan mode (issue 16): the answer to a scan-mode challenge carries no MAC (it was not
    /// answered from the login page's QR code).
    ScanMacRequired => "scan_mac_required",
    /// Scan mode: the answer's MAC does not verify (another secret, challenge or decision).
    ScanMacInvalid => "scan_mac_invalid",
    /// Scan mode: the answer carries a MAC but its challenge is not in scan mode.
    ScanMacUnexpected => "scan_mac_unexpected",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_one_text_and_parses_back() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(c.as_str()), Some(*c));
            assert!(seen.insert(c.as_str()), "{c:?}");
            assert!(c
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        assert_eq!(ErrorCode::from_code("a_code_of_a_newer_server"), None);
        let body = ErrorBody {
            error: "wrong_code".into(),
            error_description: None,
        };
        assert_eq!(body.code(), Some(ErrorCode::WrongCode));
    }

    #[test]
    fn answer_statuses_keep_their_wire_text() {
        for s in AnswerStatus::ALL {
            let json = serde_json::to_string(&AnswerResponse { status: s }).expect("json");
            assert_eq!(json, format!("{{\"status\":\"{}\"}}", s.as_str()));
            let back: AnswerResponse = serde_json::from_str(&json).expect("parse");
            assert_eq!(back.status, s);
        }
        assert!(serde_json::from_str::<AnswerResponse>(r#"{"status":"maybe"}"#).is_err());
    }

    use serde_json::json;

    #[test]
    fn device_attestations_have_the_adr_wire_shape() {
        let android = DeviceAttestation::AndroidKey {
            chain: vec![vec![0x30, 0x82], vec![0xff]],
        };
        let wire = json!({"platform": "android_key", "chain": ["MII", "_w"]});
        assert_eq!(serde_json::to_value(&android).expect("json"), wire);
        assert_eq!(
            serde_json::from_value::<DeviceAttestation>(wire).expect("parse"),
            android
        );
        let apple = DeviceAttestation::AppleAppAttest {
            key_id: vec![1, 2, 3],
            object: vec![0xa3],
        };
        let wire = json!({"platform": "apple_app_attest", "key_id": "AQID", "object": "ow"});
        assert_eq!(serde_json::to_value(&apple).expect("json"), wire);
        assert_eq!(
            serde_json::from_value::<DeviceAttestation>(wire).expect("parse"),
            apple
        );
    }

    #[test]
    fn hardware_signatures_have_the_adr_wire_shape() {
        let android = HardwareSignature::AndroidKey {
            signature: vec![0x30, 0x44],
        };
        let wire = json!({"platform": "android_key", "signature": "MEQ"});
        assert_eq!(serde_json::to_value(&android).expect("json"), wire);
        assert_eq!(
            serde_json::from_str::<HardwareSignature>(&wire.to_string()).expect("parse"),
            android
        );
        let apple = HardwareSignature::AppleAppAttest {
            assertion: vec![0xa2],
        };
        let wire = json!({"platform": "apple_app_attest", "assertion": "og"});
        assert_eq!(serde_json::to_value(&apple).expect("json"), wire);
        assert_eq!(
            serde_json::from_str::<HardwareSignature>(&wire.to_string()).expect("parse"),
            apple
        );
    }

    #[test]
    fn bad_binary_fields_and_platforms_are_refused() {
        for bad in [
            json!({"platform": "android_key", "chain": ["MII="]}),
            json!({"platform": "android_key", "chain": ["M+I"]}),
            json!({"platform": "android_key", "chain": "MII"}),
            json!({"platform": "android_key"}),
            json!({"platform": "tpm", "chain": []}),
            json!({"chain": ["MII"]}),
            json!({"platform": "apple_app_attest", "key_id": "AQID"}),
        ] {
            assert!(
                serde_json::from_value::<DeviceAttestation>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        assert!(serde_json::from_value::<HardwareSignature>(
            json!({"platform": "android_key", "signature": "a b"})
        )
        .is_err());
    }

    #[test]
    fn optional_fields_are_left_out_and_default_to_none() {
        let answer = AnswerRequest {
            answer: "a.b.c".into(),
            hardware_signature: None,
        };
        assert_eq!(
            serde_json::to_value(&answer).expect("json"),
            json!({"answer": "a.b.c"})
        );
        let parsed: AnswerRequest =
            serde_json::from_value(json!({"answer": "a.b.c"})).expect("parse");
        assert_eq!(parsed, answer);
    }
}
