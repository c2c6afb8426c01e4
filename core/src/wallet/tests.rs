// SPDX-License-Identifier: Apache-2.0
//! Unit tests of the facade's rules, against a canned server behind the [`Transport`] trait:
//! what is checked before the activation code is spent or an answer is sent, what the replay
//! cache refuses, what a pick-mode code must be. (The end-to-end flows against the real server
//! are in the `vistalid-e2e` crate.)

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;

use super::*;
use crate::client::ClientError;
use crate::clock::ManualClock;
use crate::jws;
use crate::keys::{PublicKey, SigningKey};
use crate::keystore::{BadLengthKeystore, KeystoreError, MemoryKeystore};
use crate::oprf::{BlindedElement, OprfServerKey};
use crate::protocol::{
    AnswerClaims, AnswerRequest, ChallengeClaims, CodeMode, Decision, EnrolRequest, EnrolResponse,
    OprfInfo, PinConfirmClaims, PinGuardRequest, PinGuessClaims, RequestContext, TYP_ANSWER,
    TYP_CHALLENGE, TYP_PIN_CONFIRM, TYP_PIN_GUESS,
};
use crate::qr::CredentialClaims;
use crate::transport::{BoxFuture, HttpRequest, HttpResponse, Method, TransportError};
use crate::vault::PinRefusal;
use crate::vault::{Argon2Params, PinPolicy};
use std::collections::HashSet;

pub(super) const BASE: &str = "https://idp.example.fr";
const NOW: i64 = 1_800_000_000;
pub(super) const PIN: &str = "482915";
pub(super) const WRONG_PIN: &str = "730164";

/// What the canned server answers to a device's answer.
#[derive(Clone)]
enum AnswerReply {
    Status(&'static str),
    Error(u16, &'static str),
    Unreachable,
}

pub(super) struct ServerState {
    /// Method and path (with query) of every request, in order.
    requests: Vec<(Method, String)>,
    /// The account id (and kind) the next enrolment returns.
    pub(super) next_account: (String, AccountKind),
    /// Challenge tokens served by every long-poll.
    challenges: Vec<String>,
    /// The reply to answers.
    answer: AnswerReply,
    /// The answer claims received.
    answers: Vec<AnswerClaims>,
    /// The device keys enrolled, by account id.
    pub(super) device_keys: HashMap<String, PublicKey>,
    /// Enrolments answered so far (each gets its own family name).
    enrolments: usize,
    /// Whether enrolment credentials are signed by another key than the issuer key sent.
    forge_credential: bool,
    /// The PIN guard of every enrolled device, by device id.
    guards: HashMap<String, FakeGuard>,
    /// Guesses allowed between successful unlocks.
    guess_limit: u32,
    /// Whether the PIN-guard endpoints are unreachable.
    guard_down: bool,
    /// Whether enrolment answers leave out the OPRF key (a server that counts no guesses).
    no_oprf: bool,
    /// Every `jti` seen.
    jtis: HashSet<String>,
    /// Guards replaced by an enrolment under a device id already known.
    replaced: Vec<FakeGuard>,
    /// The device attestation of every enrolment, in order.
    pub(super) attestations: Vec<Option<crate::protocol::DeviceAttestation>>,
    /// Every answer received: its JWS and hardware signature.
    pub(super) answer_requests: Vec<AnswerRequest>,
}

impl ServerState {
    /// Puts back the PIN guard that a re-enrolment under `device_id` replaced (the canned
    /// server keeps the last one; a test whose wallet refused the re-enrolment needs the first).
    pub(super) fn restore_first_guard(&mut self, device_id: &str) {
        let first = self.replaced.pop().expect("a replaced guard");
        self.guards.insert(device_id.to_owned(), first);
    }
}

/// One device's server-side PIN guard.
struct FakeGuard {
    key: Option<OprfServerKey>,
    used: u32,
    unlock: PublicKey,
    confirm: PublicKey,
}

/// A canned identity server: real signatures (server key, issuer key), no HTTP.
pub(super) struct FakeServer {
    server_key: SigningKey,
    issuer_key: SigningKey,
    state: Mutex<ServerState>,
}

impl FakeServer {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            server_key: SigningKey::make().expect("key"),
            issuer_key: SigningKey::make().expect("key"),
            state: Mutex::new(ServerState {
                requests: Vec::new(),
                next_account: ("acc-1".into(), AccountKind::Practitioner),
                challenges: Vec::new(),
                answer: AnswerReply::Status("approved"),
                answers: Vec::new(),
                device_keys: HashMap::new(),
                enrolments: 0,
                forge_credential: false,
                guards: HashMap::new(),
                guess_limit: 10,
                guard_down: false,
                no_oprf: false,
                jtis: HashSet::new(),
                replaced: Vec::new(),
                attestations: Vec::new(),
                answer_requests: Vec::new(),
            }),
        })
    }

    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, ServerState> {
        self.state.lock().expect("lock")
    }

    fn requests(&self) -> Vec<(Method, String)> {
        self.state().requests.clone()
    }

    pub(super) fn answers_sent(&self) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|(_, p)| p.ends_with("/answer"))
            .count()
    }

    /// A challenge for `account`, signed by the server key, issued now.
    fn challenge(&self, account: &str, id: &str, mode: CodeMode, candidates: &[&str]) -> String {
        let claims = ChallengeClaims {
            id: id.into(),
            account_id: account.into(),
            device_id: format!("dev-{account}"),
            service: "Dossier patient".into(),
            binding_message: "Connexion".into(),
            context: RequestContext::default(),
            mode,
            candidates: candidates.iter().map(|c| c.to_string()).collect(),
            iat: NOW,
            exp: NOW + 120,
            scan: None,
        };
        jws::sign_json(&self.server_key, TYP_CHALLENGE, &claims).expect("sign")
    }

    fn json<T: Serialize>(status: u16, body: &T) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse {
            status,
            body: serde_json::to_vec(body).expect("json"),
        })
    }

    fn enrol(&self, body: &[u8]) -> Result<HttpResponse, TransportError> {
        let req: EnrolRequest = serde_json::from_slice(body).expect("enrol request");
        let device = PublicKey::from_jwk(&req.public_key).expect("device key");
        let keys = req.pin_guard.expect("the wallet sends its PIN-guard keys");
        let unlock = PublicKey::from_jwk(&keys.unlock_key).expect("unlock key");
        let confirm = PublicKey::from_jwk(&keys.confirm_key).expect("confirm key");
        self.state()
            .attestations
            .push(req.device_attestation.clone());
        let (account, kind) = self.state().next_account.clone();
        let n = {
            let mut state = self.state();
            state.enrolments += 1;
            state.enrolments
        };
        let identity = Identity {
            subject_name_id: format!("sub-{account}"),
            given_name: "Camille".into(),
            family_name: format!("Martin {n}"),
            profession: (kind == AccountKind::Practitioner).then(|| "10".into()),
        };
        let (issuer_key, credential) = match kind {
            AccountKind::Practitioner => (None, None),
            AccountKind::Insured => {
                let claims = CredentialClaims {
                    issuer: BASE.into(),
                    subject: identity.subject_name_id.clone(),
                    given_name: identity.given_name.clone(),
                    family_name: identity.family_name.clone(),
                    credential_id: vec![7u8; 8],
                    issued_at: NOW,
                    expires_at: NOW + 365 * 86_400,
                };
                let forger = SigningKey::make().expect("key");
                let signer = if self.state().forge_credential {
                    &forger
                } else {
                    &self.issuer_key
                };
                // The credential binds the device-tier key, which signs the presentations.
                let cred = qr::credential::issue(signer, &claims, &unlock).expect("issue");
                (
                    Some(self.issuer_key.public_key().to_jwk()),
                    Some(B64URL.encode(cred)),
                )
            }
        };
        self.state().device_keys.insert(account.clone(), device);
        let oprf_key = OprfServerKey::make().expect("key");
        let oprf = OprfInfo {
            suite: "P256-SHA256".into(),
            mode: "voprf".into(),
            key_id: "k-1".into(),
            public_key: oprf_key.public_key().to_base64url(),
            guess_limit: self.state().guess_limit,
        };
        let mut state = self.state();
        let replaced = state.guards.insert(
            format!("dev-{account}"),
            FakeGuard {
                key: Some(oprf_key),
                used: 0,
                unlock,
                confirm,
            },
        );
        state.replaced.extend(replaced);
        drop(state);
        let oprf = (!self.state().no_oprf).then_some(oprf);
        Self::json(
            200,
            &EnrolResponse {
                account_id: account.clone(),
                device_id: format!("dev-{account}"),
                kind,
                identity,
                server_key: self.server_key.public_key().to_jwk(),
                issuer_key,
                poll_token: format!("poll-{account}"),
                credential,
                oprf,
                login_id: None,
                offline_otp: None,
            },
        )
    }

    /// The claims of a PIN-guard request, its signature checked with `key_of`'s key and its
    /// `jti` single-use (as the real server does).
    fn guard_claims<T: serde::de::DeserializeOwned>(
        &self,
        body: &[u8],
        typ: &str,
        key_of: impl Fn(&FakeGuard) -> PublicKey,
    ) -> (T, String) {
        let req: PinGuardRequest = serde_json::from_slice(body).expect("guard request");
        let state = self.state();
        let (claims, device): (serde_json::Value, String) = state
            .guards
            .iter()
            .find_map(|(d, g)| {
                jws::verify_json(&req.request, &key_of(g), Some(typ))
                    .ok()
                    .map(|c| (c, d.clone()))
            })
            .expect("signed by an enrolled device's key");
        assert_eq!(claims["device_id"], device.as_str());
        drop(state);
        let jti = claims["jti"].as_str().expect("jti").to_owned();
        assert!(self.state().jtis.insert(jti), "a jti is never sent twice");
        (serde_json::from_value(claims).expect("claims"), device)
    }

    fn pin_guess(&self, body: &[u8]) -> Result<HttpResponse, TransportError> {
        if self.state().guard_down {
            return Err(TransportError::Connect);
        }
        let (claims, device): (PinGuessClaims, _) =
            self.guard_claims(body, TYP_PIN_GUESS, |g| g.unlock);
        let mut state = self.state();
        let limit = state.guess_limit;
        let guard = state.guards.get_mut(&device).expect("guard");
        if guard.used >= limit {
            guard.key = None;
        }
        let Some(key) = &guard.key else {
            return Self::json(403, &serde_json::json!({ "error": "pin_guard_blocked" }));
        };
        guard.used += 1;
        let blinded =
            BlindedElement::from_bytes(&B64URL.decode(&claims.blinded_element).expect("b64"))
                .expect("point");
        let eval = key.evaluate(&blinded).expect("eval");
        let left = limit - guard.used;
        Self::json(
            200,
            &serde_json::json!({
                "evaluated_element": B64URL.encode(eval.element_bytes()),
                "proof": B64URL.encode(eval.proof_bytes()),
                "guesses_left": left,
            }),
        )
    }

    fn pin_confirm(&self, body: &[u8]) -> Result<HttpResponse, TransportError> {
        if self.state().guard_down {
            return Err(TransportError::Connect);
        }
        let (_claims, device): (PinConfirmClaims, _) =
            self.guard_claims(body, TYP_PIN_CONFIRM, |g| g.confirm);
        let mut state = self.state();
        let limit = state.guess_limit;
        state.guards.get_mut(&device).expect("guard").used = 0;
        Self::json(200, &serde_json::json!({ "guesses_left": limit }))
    }

    /// Guesses the server still allows for `account`'s device.
    fn guesses_left(&self, account: &str) -> u32 {
        let state = self.state();
        let g = &state.guards[&format!("dev-{account}")];
        match g.key {
            Some(_) => state.guess_limit - g.used,
            None => 0,
        }
    }

    /// The requests that spend or use an activation code.
    fn enrol_requests(&self) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|(_, p)| p.starts_with("/device/enrol"))
            .count()
    }

    fn answer(&self, body: &[u8]) -> Result<HttpResponse, TransportError> {
        let req: AnswerRequest = serde_json::from_slice(body).expect("answer request");
        let mut state = self.state();
        // Check the device signature as the real server does, with the enrolled key.
        let claims: AnswerClaims = state
            .device_keys
            .values()
            .find_map(|k| jws::verify_json(&req.answer, k, Some(TYP_ANSWER)).ok())
            .expect("an answer signed by an enrolled device key");
        state.answers.push(claims);
        state.answer_requests.push(req);
        match state.answer.clone() {
            AnswerReply::Status(s) => Self::json(200, &serde_json::json!({ "status": s })),
            AnswerReply::Error(status, code) => {
                Self::json(status, &serde_json::json!({ "error": code }))
            }
            AnswerReply::Unreachable => Err(TransportError::Connect),
        }
    }
}

impl Transport for FakeServer {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        let path = request
            .url
            .strip_prefix(BASE)
            .expect("requests go to the enrolled server")
            .to_owned();
        self.state().requests.push((request.method, path.clone()));
        let reply = match (request.method, path.split('?').next().unwrap_or("")) {
            (Method::Post, "/device/enrol/nonce") => Self::json(
                200,
                &serde_json::json!({ "nonce": "n-1", "expires_in": 60 }),
            ),
            (Method::Post, "/device/enrol") => self.enrol(&request.body),
            (Method::Get, "/device/challenges") => {
                let challenges = self.state().challenges.clone();
                Self::json(200, &serde_json::json!({ "challenges": challenges }))
            }
            (Method::Post, p) if p.ends_with("/answer") => self.answer(&request.body),
            (Method::Post, "/device/pin-guard/evaluate") => self.pin_guess(&request.body),
            (Method::Post, "/device/pin-guard/confirm") => self.pin_confirm(&request.body),
            _ => Self::json(404, &serde_json::json!({ "error": "not_found" })),
        };
        Box::pin(async move { reply })
    }
}

pub(super) struct Fixture {
    pub(super) dir: tempfile::TempDir,
    pub(super) server: Arc<FakeServer>,
    clock: Arc<ManualClock>,
    pub(super) wallet: Wallet,
}

fn config() -> WalletConfig {
    WalletConfig {
        vault: VaultConfig {
            argon2: Argon2Params::insecure_fast_for_tests(),
            max_attempts: 5,
            pin_policy: PinPolicy::default(),
            backoff: false,
        },
        device_name: "unit test".into(),
    }
}

pub(super) fn fixture_with(keystore: Arc<dyn PlatformKeystore>) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FakeServer::new();
    let clock = Arc::new(ManualClock::new(NOW));
    let wallet = Wallet::open_with(
        &dir.path().join("wallet"),
        keystore,
        config(),
        server.clone(),
        clock.clone(),
    )
    .expect("open");
    Fixture {
        dir,
        server,
        clock,
        wallet,
    }
}

fn fixture() -> Fixture {
    fixture_with(Arc::new(MemoryKeystore::new()))
}

/// A fixture with one practitioner account (`acc-1`) enrolled.
async fn enrolled() -> Fixture {
    let f = fixture();
    f.wallet
        .enrol(BASE, "ACTIVATION1", Pin::new(PIN))
        .await
        .expect("enrol");
    f
}

/// Serves one pick-mode challenge for `acc-1` and fetches it.
pub(super) async fn fetched_pick(f: &Fixture, id: &str) -> Challenge {
    let token = f
        .server
        .challenge("acc-1", id, CodeMode::Pick, &["12", "34", "56"]);
    f.server.state().challenges = vec![token];
    let mut fetched = f.wallet.fetch_challenges(0).await.expect("fetch");
    assert!(fetched.rejected.is_empty(), "{:?}", fetched.rejected);
    fetched.challenges.remove(0)
}

#[tokio::test]
async fn a_weak_first_pin_is_refused_before_the_server_is_contacted() {
    let f = fixture();
    let r = f
        .wallet
        .enrol(BASE, "ACTIVATION1", Pin::new("123456"))
        .await;
    assert!(
        matches!(r, Err(WalletError::Pin(PinRefusal::WeakPin(_)))),
        "{r:?}"
    );
    assert!(
        f.server.requests().is_empty(),
        "the activation code is not spent"
    );
    assert_eq!(f.wallet.accounts(), Ok(Vec::new()));
}

#[tokio::test]
async fn a_later_enrolment_checks_the_pin_before_spending_the_code() {
    let f = enrolled().await;
    let before = f.server.enrol_requests();
    f.server.state().next_account = ("acc-2".into(), AccountKind::Practitioner);
    assert_eq!(
        f.wallet
            .enrol(BASE, "ACTIVATION2", Pin::new(WRONG_PIN))
            .await
            .err(),
        Some(WalletError::Pin(PinRefusal::WrongPin { tries_left: 4 }))
    );
    assert_eq!(f.server.enrol_requests(), before, "the code was not spent");
    let info = f
        .wallet
        .enrol(BASE, "ACTIVATION2", Pin::new(PIN))
        .await
        .expect("the right PIN enrols");
    assert_eq!(info.account_id, "acc-2");
    assert_eq!(f.wallet.accounts().expect("accounts").len(), 2);
}

#[tokio::test]
async fn an_account_id_the_wallet_already_has_is_refused_and_nothing_changes() {
    let f = enrolled().await;
    let before = f.wallet.accounts().expect("accounts");
    let first_key = f.server.state().device_keys["acc-1"];
    // The server answers the next enrolment with the same account id (a bug, or a server
    // that wants the wallet to drop the device key it holds for that account).
    let r = f.wallet.enrol(BASE, "ACTIVATION2", Pin::new(PIN)).await;
    assert_eq!(r, Err(WalletError::AccountAlreadyEnrolled));
    assert_eq!(f.wallet.accounts().expect("accounts"), before);
    // The device key kept is still the first one: the server verifies an approval with it.
    f.server
        .state()
        .device_keys
        .insert("acc-1".into(), first_key);
    f.server.state().restore_first_guard("dev-acc-1");
    let ch = fetched_pick(&f, "ch-1").await;
    f.wallet
        .approve(&ch.id, Pin::new(PIN), "34")
        .await
        .expect("the first device key still signs");
}

#[tokio::test]
async fn a_keystore_with_a_short_prf_output_is_refused_before_the_code_is_spent() {
    let f = fixture_with(Arc::new(BadLengthKeystore::new(31, None)));
    let r = f.wallet.enrol(BASE, "ACTIVATION1", Pin::new(PIN)).await;
    assert_eq!(
        r,
        Err(WalletError::Keystore(KeystoreError::BadOutputLength(31)))
    );
    assert!(
        f.server.requests().is_empty(),
        "the activation code is not spent"
    );
    assert_eq!(f.wallet.accounts(), Ok(Vec::new()));
}

#[tokio::test]
async fn a_bad_first_enrolment_answer_creates_no_vault() {
    let f = fixture();
    {
        let mut state = f.server.state();
        state.next_account = ("ins-1".into(), AccountKind::Insured);
        state.forge_credential = true;
    }
    assert_eq!(
        f.wallet
            .enrol(BASE, "ACTIVATION1", Pin::new(PIN))
            .await
            .err(),
        Some(WalletError::Client(ClientError::BadResponse))
    );
    assert!(!Vault::exists(&f.dir.path().join("wallet")));
    assert_eq!(f.wallet.attempts_left(), Err(WalletError::NotEnrolled));
    // The next (sound) enrolment sets the PIN afresh.
    f.server.state().forge_credential = false;
    f.wallet
        .enrol(BASE, "ACTIVATION2", Pin::new(WRONG_PIN))
        .await
        .expect("enrol");
}

#[tokio::test]
async fn a_pick_mode_code_must_be_one_of_the_candidates_and_costs_no_try() {
    let f = enrolled().await;
    let ch = fetched_pick(&f, "ch-1").await;
    for bad in ["78", "3", "345", "a4", ""] {
        assert_eq!(
            f.wallet.approve(&ch.id, Pin::new(PIN), bad).await,
            Err(WalletError::InvalidCode),
            "{bad:?}"
        );
    }
    assert_eq!(
        f.wallet.attempts_left(),
        Ok(5),
        "a bad code costs no PIN try"
    );
    assert_eq!(f.server.answers_sent(), 0, "nothing was sent");
    assert_eq!(
        f.wallet.approve(&ch.id, Pin::new(PIN), "34").await,
        Ok(AnswerOutcome::Approved)
    );
    let sent = f.server.state().answers.clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].code.as_deref(), Some("34"));
    assert_eq!(sent[0].decision, Decision::Approve);
}

#[tokio::test]
async fn a_type_mode_code_may_be_any_well_formed_code() {
    let f = enrolled().await;
    let token = f.server.challenge("acc-1", "ch-t", CodeMode::Type, &[]);
    f.server.state().challenges = vec![token];
    let ch = f
        .wallet
        .fetch_challenges(0)
        .await
        .expect("fetch")
        .challenges[0]
        .clone();
    assert_eq!(
        f.wallet.approve(&ch.id, Pin::new(PIN), "5").await,
        Err(WalletError::InvalidCode)
    );
    assert_eq!(
        f.wallet.approve(&ch.id, Pin::new(PIN), "77").await,
        Ok(AnswerOutcome::Approved)
    );
}

#[tokio::test]
async fn a_wrong_pin_never_sends_an_answer() {
    let f = enrolled().await;
    let ch = fetched_pick(&f, "ch-1").await;
    assert_eq!(
        f.wallet.approve(&ch.id, Pin::new(WRONG_PIN), "34").await,
        Err(WalletError::Pin(PinRefusal::WrongPin { tries_left: 4 }))
    );
    assert_eq!(
        f.wallet.deny(&ch.id, Pin::new(WRONG_PIN)).await,
        Err(WalletError::Pin(PinRefusal::WrongPin { tries_left: 3 }))
    );
    assert_eq!(
        f.wallet.report_not_me(&ch.id, Pin::new(WRONG_PIN)).await,
        Err(WalletError::Pin(PinRefusal::WrongPin { tries_left: 2 }))
    );
    assert_eq!(f.server.answers_sent(), 0, "nothing was sent");
    // The challenge is still pending: the right PIN answers it.
    f.server.state().answer = AnswerReply::Status("reported");
    assert_eq!(
        f.wallet.report_not_me(&ch.id, Pin::new(PIN)).await,
        Ok(AnswerOutcome::Reported)
    );
    assert_eq!(f.server.state().answers[0].decision, Decision::NotMe);
    assert_eq!(f.server.state().answers[0].code, None);
}

#[tokio::test]
async fn an_answered_challenge_is_refused_when_it_comes_again() {
    let f = enrolled().await;
    let ch = fetched_pick(&f, "ch-1").await;
    f.server.state().answer = AnswerReply::Status("denied");
    assert_eq!(
        f.wallet.deny(&ch.id, Pin::new(PIN)).await,
        Ok(AnswerOutcome::Denied)
    );
    // The server (or someone replaying its traffic) serves the same challenge again.
    let again = f.wallet.fetch_challenges(0).await.expect("fetch");
    assert!(again.challenges.is_empty());
    assert_eq!(
        again.rejected,
        vec![RejectedChallenge {
            account_id: "acc-1".into(),
            reason: ChallengeError::Replayed,
        }]
    );
    assert_eq!(
        f.wallet.approve(&ch.id, Pin::new(PIN), "34").await,
        Err(WalletError::NoSuchChallenge)
    );
    assert_eq!(f.server.answers_sent(), 1);
}

#[tokio::test]
async fn a_network_failure_leaves_the_challenge_answerable() {
    let f = enrolled().await;
    let ch = fetched_pick(&f, "ch-1").await;
    f.server.state().answer = AnswerReply::Unreachable;
    assert_eq!(
        f.wallet.approve(&ch.id, Pin::new(PIN), "34").await,
        Err(WalletError::Client(ClientError::Network {
            retryable: true
        }))
    );
    f.server.state().answer = AnswerReply::Status("approved");
    assert_eq!(
        f.wallet.approve(&ch.id, Pin::new(PIN), "34").await,
        Ok(AnswerOutcome::Approved)
    );
}

#[tokio::test]
async fn a_server_fault_leaves_the_challenge_answerable() {
    for status in [500, 502, 503] {
        let f = enrolled().await;
        let ch = fetched_pick(&f, "ch-1").await;
        f.server.state().answer = AnswerReply::Error(status, "server_error");
        assert_eq!(
            f.wallet.approve(&ch.id, Pin::new(PIN), "34").await,
            Err(WalletError::Client(ClientError::Server {
                status,
                code: "server_error".into(),
            })),
            "{status}"
        );
        f.server.state().answer = AnswerReply::Status("approved");
        assert_eq!(
            f.wallet.approve(&ch.id, Pin::new(PIN), "34").await,
            Ok(AnswerOutcome::Approved),
            "{status}: answerable again"
        );
    }
}

#[tokio::test]
async fn the_servers_verdicts_map_to_typed_errors_and_burn_the_challenge() {
    for (status, code, want) in [
        (403, "wrong_code", WalletError::WrongCode),
        (410, "challenge_expired", WalletError::ChallengeExpired),
        (
            409,
            "challenge_already_answered",
            WalletError::ChallengeReplayed,
        ),
        (
            400,
            "invalid_request",
            WalletError::Client(ClientError::Server {
                status: 400,
                code: "invalid_request".into(),
            }),
        ),
    ] {
        let f = enrolled().await;
        let ch = fetched_pick(&f, "ch-1").await;
        f.server.state().answer = AnswerReply::Error(status, code);
        assert_eq!(
            f.wallet.approve(&ch.id, Pin::new(PIN), "34").await,
            Err(want),
            "{code}"
        );
        assert_eq!(
            f.wallet.approve(&ch.id, Pin::new(PIN), "34").await,
            Err(WalletError::NoSuchChallenge),
            "{code}: the server saw the answer; it is not sent again"
        );
    }
    let f = enrolled().await;
    let ch = fetched_pick(&f, "ch-1").await;
    f.server.state().answer = AnswerReply::Status("something new");
    assert_eq!(
        f.wallet.approve(&ch.id, Pin::new(PIN), "34").await,
        Err(WalletError::Client(ClientError::BadResponse))
    );
}

#[tokio::test]
async fn an_expired_challenge_is_refused_before_the_pin() {
    let f = enrolled().await;
    let ch = fetched_pick(&f, "ch-1").await;
    f.clock.advance(120 + challenge::CLOCK_SKEW_SECS + 1);
    assert_eq!(
        f.wallet.approve(&ch.id, Pin::new(WRONG_PIN), "34").await,
        Err(WalletError::ChallengeExpired)
    );
    assert_eq!(f.wallet.attempts_left(), Ok(5));
    assert_eq!(f.server.answers_sent(), 0);
    assert_eq!(
        f.wallet.approve("never-fetched", Pin::new(PIN), "34").await,
        Err(WalletError::NoSuchChallenge)
    );
}

#[tokio::test]
async fn a_qr_presentation_near_the_end_of_time_does_not_overflow() {
    let f = fixture();
    f.server.state().next_account = ("ins-1".into(), AccountKind::Insured);
    f.wallet
        .enrol(BASE, "ACTIVATION1", Pin::new(PIN))
        .await
        .expect("enrol");
    let validity = i64::from(qr::presentation::DEFAULT_VALIDITY_SECS);
    f.clock.set(i64::MAX - validity);
    // The credential has long expired by then, but the device signs what it is asked to.
    let shown = f
        .wallet
        .present_qr("ins-1", Pin::new(PIN), qr::Mode::Online, None)
        .await
        .expect("the window still fits in an i64");
    assert_eq!(shown.expires_at, i64::MAX);
    for now in [i64::MAX - validity + 1, i64::MAX - 1, i64::MAX] {
        f.clock.set(now);
        let r = f
            .wallet
            .present_qr("ins-1", Pin::new(PIN), qr::Mode::Online, None)
            .await;
        assert!(r.is_err(), "{now}: a window past the end of time: {r:?}");
    }
}

#[tokio::test]
async fn every_pin_try_is_a_guess_counted_by_the_server_and_a_right_pin_resets_it() {
    let f = enrolled().await;
    assert_eq!(
        f.server.guesses_left("acc-1"),
        10,
        "enrolment's guess confirmed"
    );
    let ch = fetched_pick(&f, "ch-1").await;
    assert_eq!(
        f.wallet.approve(&ch.id, Pin::new(WRONG_PIN), "34").await,
        Err(WalletError::Pin(PinRefusal::WrongPin { tries_left: 4 }))
    );
    assert_eq!(f.server.guesses_left("acc-1"), 9);
    f.wallet
        .approve(&ch.id, Pin::new(PIN), "34")
        .await
        .expect("approve");
    assert_eq!(f.server.guesses_left("acc-1"), 10);
}

#[tokio::test]
async fn the_servers_limit_is_a_typed_error_that_no_right_pin_lifts() {
    let f = fixture();
    f.server.state().guess_limit = 3;
    f.wallet
        .enrol(BASE, "ACTIVATION1", Pin::new(PIN))
        .await
        .expect("enrol");
    let ch = fetched_pick(&f, "ch-1").await;
    // The fewer tries left of the phone's (5) and the server's (3).
    for left in [2, 1, 0] {
        assert_eq!(
            f.wallet.deny(&ch.id, Pin::new(WRONG_PIN)).await,
            Err(WalletError::Pin(PinRefusal::WrongPin { tries_left: left }))
        );
    }
    for pin in [WRONG_PIN, PIN] {
        assert_eq!(
            f.wallet.deny(&ch.id, Pin::new(pin)).await,
            Err(WalletError::BlockedByServer)
        );
    }
    assert_eq!(f.server.answers_sent(), 0);
}

#[tokio::test]
async fn an_unreachable_pin_guard_is_a_network_error_that_costs_no_try() {
    let f = enrolled().await;
    let ch = fetched_pick(&f, "ch-1").await;
    f.server.state().guard_down = true;
    assert_eq!(
        f.wallet.approve(&ch.id, Pin::new(WRONG_PIN), "34").await,
        Err(WalletError::Client(ClientError::Network {
            retryable: true
        }))
    );
    assert_eq!(f.wallet.attempts_left(), Ok(5));
    assert_eq!(
        f.wallet.change_pin(Pin::new(PIN), Pin::new("918273")).await,
        Err(WalletError::Client(ClientError::Network {
            retryable: true
        }))
    );
    f.server.state().guard_down = false;
    f.wallet
        .change_pin(Pin::new(PIN), Pin::new("918273"))
        .await
        .expect("change");
    f.wallet
        .approve(&ch.id, Pin::new("918273"), "34")
        .await
        .expect("the new PIN approves");
}

#[tokio::test]
async fn an_offline_qr_works_without_the_server_but_an_online_one_does_not() {
    let f = fixture();
    f.server.state().next_account = ("ins-1".into(), AccountKind::Insured);
    f.wallet
        .enrol(BASE, "ACTIVATION1", Pin::new(PIN))
        .await
        .expect("enrol");
    let issuer = f.server.issuer_key.public_key();
    // Reachable: the PIN is checked with the server, a wrong one makes no QR.
    assert_eq!(
        f.wallet
            .present_qr("ins-1", Pin::new(WRONG_PIN), qr::Mode::Offline, None)
            .await
            .err(),
        Some(WalletError::Pin(PinRefusal::WrongPin { tries_left: 4 }))
    );
    f.server.state().guard_down = true;
    let shown = f
        .wallet
        .present_qr("ins-1", Pin::new(PIN), qr::Mode::Offline, None)
        .await
        .expect("offline QR without the server");
    let verified = qr::Verifier::new(vec![issuer], f.clock.clone())
        .verify(&shown.text)
        .expect("the professional's software accepts it");
    let qr::Verified::Offline(p) = verified else {
        panic!("a presentation, not a bare credential")
    };
    assert_eq!(p.credential.claims.subject, "sub-ins-1");
    assert_eq!(
        f.wallet
            .present_qr("ins-1", Pin::new(PIN), qr::Mode::Online, None)
            .await
            .err(),
        Some(WalletError::Client(ClientError::Network {
            retryable: true
        }))
    );
}

#[tokio::test]
async fn a_server_that_counts_no_pin_guesses_is_refused() {
    let f = fixture();
    f.server.state().no_oprf = true;
    assert_eq!(
        f.wallet
            .enrol(BASE, "ACTIVATION1", Pin::new(PIN))
            .await
            .err(),
        Some(WalletError::Client(ClientError::BadResponse))
    );
    assert_eq!(f.wallet.accounts(), Ok(Vec::new()));
}

#[tokio::test]
async fn a_format_2_vault_is_reported_as_outdated_not_as_corrupt() {
    // A vault written before the server-counted PIN guesses: the format-2 header's layout
    // (magic, version 2, vault id, generation, Argon2 parameters, salt, wrapped data key, key
    // check value, MAC: 162 bytes). The wallet tells the user to enrol again (no migration,
    // docs/pin-guard.md) instead of calling the files damaged.
    let dir = tempfile::tempdir().expect("tempdir");
    let wallet_dir = dir.path().join("wallet");
    std::fs::create_dir_all(&wallet_dir).expect("mkdir");
    let mut v2 = b"VLTH".to_vec();
    v2.extend_from_slice(&2u16.to_be_bytes());
    v2.resize(162, 7);
    std::fs::write(wallet_dir.join("vault.hdr"), &v2).expect("write");
    let open = Wallet::open_with(
        &wallet_dir,
        Arc::new(MemoryKeystore::new()),
        config(),
        FakeServer::new(),
        Arc::new(ManualClock::new(NOW)),
    );
    assert_eq!(open.err(), Some(WalletError::VaultOutdated));
    // A version this build does not know yet stays `Corrupt` (nothing to tell the user to do).
    v2[5] = 9;
    std::fs::write(wallet_dir.join("vault.hdr"), &v2).expect("write");
    let open = Wallet::open_with(
        &wallet_dir,
        Arc::new(MemoryKeystore::new()),
        config(),
        FakeServer::new(),
        Arc::new(ManualClock::new(NOW)),
    );
    assert_eq!(open.err(), Some(WalletError::Corrupt));
}
