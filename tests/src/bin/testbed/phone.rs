// SPDX-License-Identifier: Apache-2.0
//! The phone of the browser tests: TEST-ONLY infrastructure, never part of a product.
//!
//! A browser test drives the login page in Chromium, reads the *code dynamique* on the page,
//! and needs a phone that answers. This module holds one real [`Wallet`] per account it
//! provisions on each of the testbed's servers ([`Target`]: `main`, `strict`; core's wallet, [`SoftwareKeystore`] in a temporary folder, the test-only fast
//! Argon2 parameters of [`vistalid_e2e::fast_config`], the PIN [`PHONE_PIN`]), enrolled with
//! the testbed's server at start-up, and lets the test steer them over a small HTTP API:
//!
//! | request | what the phone does |
//! |---|---|
//! | `GET /phone` | lists the accounts it holds |
//! | `GET /phone/{login}/pending[?wait=S]` | fetches the challenges, as the phone shows them |
//! | `POST /phone/{login}/approve` `{"code":"42"}` | picks (pick mode) or types (type mode) that code |
//! | `POST /phone/{login}/wrong` `{"code":"42"}` | picks or types a code other than that one |
//! | `POST /phone/{login}/deny` | declines |
//! | `POST /phone/{login}/not-me` | reports "this was not me" |
//! | `POST /phone/{login}/qr` `{"online":false}` | shows the insured's QR presentation |
//! | `POST /phone/{login}/code` | shows the offline code (issue 16): `{"code","valid_for_secs"}` |
//!
//! `{login}` is the RPPS number of a practitioner or the id of an insured person. Every body
//! field is optional: `code` (what the test read on the page), `pin` (to try a wrong PIN),
//! `challenge_id` (default: the newest pending challenge), `wait` (seconds to long-poll for a
//! challenge, default [`DEFAULT_WAIT_SECS`]); unknown fields are refused, so a typo in a test
//! fails. Answers are JSON: `200` with the wallet's outcome, `409` with the wallet's error
//! (`{"error":"wrong_code","message":…}`), `404` for an unknown account or no pending
//! challenge, `400` for a malformed request.
//!
//! Guarantees: the server listens on `127.0.0.1` only (a random port); the phone does what
//! the real wallet does (every answer is signed by the wallet, checked by the server); the
//! PIN and the accounts are test data, written in clear into the fixture file.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use vistalid_core::challenge::{codes_match, Challenge};
use vistalid_core::client::ClientError;
use vistalid_core::keystore::SoftwareKeystore;
use vistalid_core::protocol::{AccountKind, CodeMode};
use vistalid_core::qr::{self, QrMatrix};
use vistalid_core::secret::Pin;
use vistalid_core::vault::PinRefusal;
use vistalid_core::wallet::{AnswerOutcome, Wallet, WalletConfig, WalletError};
use vistalid_server::RunningServer;

/// The PIN of every wallet the phone holds (test data; it meets the PIN policy).
pub(crate) const PHONE_PIN: &str = "204862";
/// How long an answer waits for a challenge to arrive when none is pending, in seconds.
const DEFAULT_WAIT_SECS: u32 = 10;
/// Pixels per QR module in the PNG of `/qr`.
const QR_PNG_SCALE: u32 = 8;
/// The running phone: its base URL and what the fixture file says about it.
pub(crate) struct Phone {
    url: String,
    accounts: Vec<Value>,
    /// The wallets' folders, deleted when the phone is dropped.
    _dirs: tempfile::TempDir,
}

impl Phone {
    /// The fields the testbed adds to its fixture file.
    pub(crate) fn fixture_fields(&self) -> [(&'static str, Value); 3] {
        [
            ("phone_url", json!(self.url)),
            ("phone_pin", json!(PHONE_PIN)),
            ("phone_accounts", json!(self.accounts)),
        ]
    }
}

/// One account held by the phone.
struct Held {
    wallet: Wallet,
    kind: AccountKind,
    account_id: String,
    device_name: String,
}

type Accounts = Arc<BTreeMap<String, Held>>;

/// One server the phone holds accounts on.
pub(crate) struct Target<'a> {
    /// The server.
    pub(crate) server: &'a RunningServer,
    /// Its name in the fixture (`main`, `strict`).
    pub(crate) name: &'static str,
    /// How many practitioners and how many insured people.
    pub(crate) count: usize,
    /// The first practitioner's RPPS number (apart from the testbed's other accounts).
    pub(crate) first_rpps: u64,
}

/// Provisions `count` practitioners and `count` insured people on each target's server,
/// enrols each in its own wallet, and serves the control API on a random loopback port until
/// the process ends.
pub(crate) async fn start(targets: &[Target<'_>]) -> Result<Phone, Box<dyn std::error::Error>> {
    let dirs = tempfile::tempdir()?;
    let mut accounts = BTreeMap::new();
    let mut fixture = Vec::new();
    for target in targets {
        let admin = target.server.admin();
        let mut held = BTreeMap::new();
        for i in 0..target.count {
            let rpps = (target.first_rpps + i as u64).to_string();
            let code = admin.add_practitioner(&rpps, "Camille", "Martin", "10")?;
            held.insert(rpps, (AccountKind::Practitioner, code));
            let id = match target.name {
                "main" => format!("insured-phone-{i:04}"),
                other => format!("insured-{other}-{i:04}"),
            };
            let code = admin.add_insured(&id, "Louise", "Bernard")?;
            held.insert(id, (AccountKind::Insured, code));
        }
        for (login, (kind, code)) in held {
            let n = accounts.len();
            let dir = dirs.path().join(format!("wallet-{n}"));
            let device_name = format!("Pixel 8 de test n° {n}");
            let config = WalletConfig {
                device_name: device_name.clone(),
                ..vistalid_e2e::fast_config()
            };
            // The software keystore keeps its key file in the wallet's folder, which must exist
            // before the wallet probes the keystore at its first enrolment.
            std::fs::create_dir_all(&dir)?;
            let keystore = Arc::new(SoftwareKeystore::open(dir.join("keystore")));
            let wallet = Wallet::open(&dir, keystore, config)?;
            let info = wallet
                .enrol(target.server.base_url(), &code, Pin::new(PHONE_PIN))
                .await?;
            fixture.push(json!({
                "login": login,
                "kind": kind,
                "account_id": info.account_id,
                "device_name": device_name,
                "server": target.name,
            }));
            accounts.insert(
                login,
                Held {
                    wallet,
                    kind,
                    account_id: info.account_id,
                    device_name,
                },
            );
        }
    }
    let router = Router::new()
        .route("/phone", get(list))
        .route("/phone/{login}/pending", get(pending))
        .route("/phone/{login}/{action}", post(act))
        .with_state(Arc::new(accounts));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("vistalid-testbed: the phone stopped: {e}");
        }
    });
    Ok(Phone {
        url,
        accounts: fixture,
        _dirs: dirs,
    })
}

/// A JSON answer with its status.
type Reply = (StatusCode, Json<Value>);

fn reply(status: StatusCode, body: Value) -> Reply {
    (status, Json(body))
}

fn refused(status: StatusCode, error: &str, message: impl Into<String>) -> Reply {
    reply(status, json!({ "error": error, "message": message.into() }))
}

/// The wallet's error as JSON: a stable snake_case code, its message, and its details.
fn wallet_error(e: &WalletError) -> Reply {
    let mut body = json!({ "error": wallet_error_code(e), "message": e.to_string() });
    match e {
        WalletError::Pin(PinRefusal::WrongPin { tries_left }) => {
            body["tries_left"] = json!(tries_left)
        }
        WalletError::Client(ClientError::Server { status, code }) => {
            body["server_status"] = json!(status);
            body["server_code"] = json!(code);
        }
        _ => {}
    }
    reply(StatusCode::CONFLICT, body)
}

/// A stable name for each wallet error, for the tests to match on.
fn wallet_error_code(e: &WalletError) -> &'static str {
    match e {
        WalletError::Pin(PinRefusal::WrongPin { .. }) => "wrong_pin",
        WalletError::Pin(PinRefusal::Locked) => "locked",
        WalletError::Pin(PinRefusal::Backoff { .. }) => "backoff",
        WalletError::Pin(PinRefusal::WeakPin(_)) => "weak_pin",
        WalletError::NotEnrolled => "not_enrolled",
        WalletError::NoSuchAccount => "no_such_account",
        WalletError::NoSuchChallenge => "no_such_challenge",
        WalletError::ChallengeExpired => "challenge_expired",
        WalletError::ChallengeReplayed => "challenge_replayed",
        WalletError::InvalidCode => "invalid_code",
        WalletError::WrongCode => "wrong_code",
        WalletError::BadServerSignature => "bad_server_signature",
        WalletError::KeyRolloverRefused(_) => "key_rollover_refused",
        WalletError::Client(ClientError::BadResponse) => "bad_server_response",
        WalletError::Client(ClientError::InsecureUrl) => "insecure_server_url",
        WalletError::Client(ClientError::Network { .. }) => "network",
        WalletError::Client(ClientError::Server { .. }) => "server",
        WalletError::NoCredential => "no_credential",
        WalletError::Corrupt => "corrupt",
        WalletError::KeystoreMismatch => "keystore_mismatch",
        WalletError::Keystore(_) => "keystore",
        WalletError::Storage(_) => "storage",
        WalletError::Internal(_) => "internal",
        WalletError::NoOfflineCode => "no_offline_code",
        _ => "other",
    }
}

async fn list(State(accounts): State<Accounts>) -> Reply {
    let list: Vec<Value> = accounts
        .iter()
        .map(|(login, h)| {
            json!({ "login": login, "kind": h.kind, "account_id": h.account_id,
                    "device_name": h.device_name })
        })
        .collect();
    reply(StatusCode::OK, json!({ "accounts": list }))
}

/// Query of `GET /phone/{login}/pending`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PendingQuery {
    wait: Option<u32>,
}

async fn pending(
    State(accounts): State<Accounts>,
    Path(login): Path<String>,
    Query(query): Query<PendingQuery>,
) -> Reply {
    let Some(held) = accounts.get(&login) else {
        return unknown_account(&login);
    };
    match held
        .wallet
        .fetch_challenges(query.wait.unwrap_or(DEFAULT_WAIT_SECS))
        .await
    {
        Ok(fetched) => {
            let rejected: Vec<String> = fetched
                .rejected
                .iter()
                .map(|r| r.reason.to_string())
                .collect();
            reply(
                StatusCode::OK,
                json!({ "device_name": held.device_name, "challenges": fetched.challenges,
                        "rejected": rejected }),
            )
        }
        Err(e) => wallet_error(&e),
    }
}

fn unknown_account(login: &str) -> Reply {
    refused(
        StatusCode::NOT_FOUND,
        "unknown_account",
        format!("the phone holds no account {login:?} (see GET /phone)"),
    )
}

/// Body of the `POST` requests; every field is optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActBody {
    code: Option<String>,
    pin: Option<String>,
    challenge_id: Option<String>,
    wait: Option<u32>,
    online: Option<bool>,
    audience: Option<String>,
}

/// What a `POST /phone/{login}/{action}` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Answer the pending challenge.
    Answer(Answer),
    /// Show the insured's QR presentation.
    Qr,
    /// Show the offline code (no network needed).
    Code,
}

/// How the phone answers a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Approve,
    Wrong,
    Deny,
    NotMe,
}

impl Action {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "approve" => Self::Answer(Answer::Approve),
            "wrong" => Self::Answer(Answer::Wrong),
            "deny" => Self::Answer(Answer::Deny),
            "not-me" => Self::Answer(Answer::NotMe),
            "qr" => Self::Qr,
            "code" => Self::Code,
            _ => return None,
        })
    }
}

async fn act(
    State(accounts): State<Accounts>,
    Path((login, action)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let Some(action) = Action::parse(&action) else {
        return refused(
            StatusCode::NOT_FOUND,
            "unknown_action",
            format!("no action {action:?}: approve, wrong, deny, not-me, qr or code"),
        );
    };
    let Some(held) = accounts.get(&login) else {
        return unknown_account(&login);
    };
    let body: ActBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => return refused(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
        }
    };
    match action {
        Action::Qr => show_qr(held, &body).await,
        Action::Code => show_offline_code(held, &body).await,
        Action::Answer(answer) => answer_challenge(held, answer, &body).await,
    }
}

/// Answers the chosen challenge as `answer` says, with the body's PIN or [`PHONE_PIN`].
async fn answer_challenge(held: &Held, answer: Answer, body: &ActBody) -> Reply {
    let pin = Pin::new(body.pin.as_deref().unwrap_or(PHONE_PIN));
    let ch = match choose(held, body).await {
        Ok(ch) => ch,
        Err(reply) => return reply,
    };
    let (result, sent) = match answer {
        Answer::Approve | Answer::Wrong => {
            let Some(code) = body.code.as_deref() else {
                return refused(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "give the code read on the page: {\"code\":\"42\"}",
                );
            };
            let sent = if answer == Answer::Wrong {
                let Some(wrong) = wrong_code(&ch, code) else {
                    return refused(
                        StatusCode::BAD_REQUEST,
                        "code_not_offered",
                        format!("the phone offers {:?}, not {code:?}", ch.candidates),
                    );
                };
                wrong
            } else {
                code.to_owned()
            };
            (held.wallet.approve(&ch.id, pin, &sent).await, Some(sent))
        }
        Answer::Deny => (held.wallet.deny(&ch.id, pin).await, None),
        Answer::NotMe => (held.wallet.report_not_me(&ch.id, pin).await, None),
    };
    let (status, Json(mut out)) = match result {
        Ok(outcome) => reply(StatusCode::OK, json!({ "outcome": outcome_name(outcome) })),
        Err(e) => wallet_error(&e),
    };
    out["challenge_id"] = json!(ch.id);
    out["code"] = json!(sent);
    (status, Json(out))
}

/// The challenge to answer: the one named by `challenge_id`, else the newest pending one.
async fn choose(held: &Held, body: &ActBody) -> Result<Challenge, Reply> {
    let wait = body.wait.unwrap_or(DEFAULT_WAIT_SECS);
    let fetched = held
        .wallet
        .fetch_challenges(wait)
        .await
        .map_err(|e| wallet_error(&e))?;
    let found = match &body.challenge_id {
        Some(id) => fetched.challenges.into_iter().find(|c| &c.id == id),
        // Sorted by issue time: the last one is the login the test just started.
        None => fetched.challenges.into_iter().last(),
    };
    found.ok_or_else(|| {
        refused(
            StatusCode::NOT_FOUND,
            "no_pending_challenge",
            format!("no pending challenge within {wait} s"),
        )
    })
}

/// A code other than `right` that the phone can send: another candidate in pick mode, the
/// next 2-digit number in type mode. `None` when `right` is not a code this challenge offers.
fn wrong_code(ch: &Challenge, right: &str) -> Option<String> {
    match ch.mode {
        CodeMode::Pick => {
            if !ch.candidates.iter().any(|c| codes_match(c, right)) {
                return None;
            }
            ch.candidates
                .iter()
                .find(|c| !codes_match(c, right))
                .cloned()
        }
        CodeMode::Type => {
            let n: u8 = right.parse().ok().filter(|_| right.len() == 2)?;
            Some(format!("{:02}", (n + 1) % 100))
        }
    }
}

fn outcome_name(outcome: AnswerOutcome) -> &'static str {
    match outcome {
        AnswerOutcome::Approved => "approved",
        AnswerOutcome::Denied => "denied",
        AnswerOutcome::Reported => "reported",
    }
}

/// `POST /phone/{login}/qr`: the insured's presentation, its text and its PNG (core's renderer).
async fn show_qr(held: &Held, body: &ActBody) -> Reply {
    let pin = Pin::new(body.pin.as_deref().unwrap_or(PHONE_PIN));
    let mode = if body.online.unwrap_or(false) {
        qr::Mode::Online
    } else {
        qr::Mode::Offline
    };
    let p = match held
        .wallet
        .present_qr(&held.account_id, pin, mode, body.audience.as_deref())
        .await
    {
        Ok(p) => p,
        Err(e) => return wallet_error(&e),
    };
    let png = match QrMatrix::encode(&p.text) {
        Ok(m) => m.to_png(QR_PNG_SCALE),
        Err(e) => return refused(StatusCode::INTERNAL_SERVER_ERROR, "qr", e.to_string()),
    };
    reply(
        StatusCode::OK,
        json!({
            "text": p.text,
            "mode": if mode == qr::Mode::Online { "online" } else { "offline" },
            "expires_at": p.expires_at,
            "png_base64": B64.encode(png),
        }),
    )
}

/// `POST /phone/{login}/code`: the account's offline code after the PIN (the body's, else
/// [`PHONE_PIN`]), computed by the wallet without the network, and the seconds it stays valid.
async fn show_offline_code(held: &Held, body: &ActBody) -> Reply {
    let pin = Pin::new(body.pin.as_deref().unwrap_or(PHONE_PIN));
    match held.wallet.offline_code(&held.account_id, pin).await {
        Ok(c) => reply(
            StatusCode::OK,
            json!({ "code": c.code, "valid_for_secs": c.valid_for_secs }),
        ),
        Err(e) => wallet_error(&e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use vistalid_core::protocol::RequestContext;

    fn challenge(mode: CodeMode, candidates: &[&str]) -> Challenge {
        Challenge {
            id: "c1".into(),
            account_id: "a".into(),
            device_id: "d".into(),
            service: "Dossier Médical Partagé".into(),
            binding_message: "Connexion".into(),
            context: RequestContext::default(),
            mode,
            candidates: candidates.iter().map(|c| (*c).to_owned()).collect(),
            issued_at: 0,
            expires_at: 120,
            scan_attempt: None,
        }
    }

    #[test]
    fn a_wrong_pick_is_another_candidate() {
        let ch = challenge(CodeMode::Pick, &["42", "17", "08"]);
        for right in ["42", "17", "08"] {
            let wrong = wrong_code(&ch, right).unwrap();
            assert_ne!(wrong, right);
            assert!(ch.candidates.contains(&wrong));
        }
        // A code the phone does not offer cannot be avoided: the test misread the page.
        assert_eq!(wrong_code(&ch, "99"), None);
    }

    #[test]
    fn a_wrong_typed_code_is_another_two_digit_code() {
        let ch = challenge(CodeMode::Type, &[]);
        assert_eq!(wrong_code(&ch, "42").as_deref(), Some("43"));
        assert_eq!(wrong_code(&ch, "99").as_deref(), Some("00"));
        assert_eq!(wrong_code(&ch, "4"), None);
        assert_eq!(wrong_code(&ch, "ab"), None);
        assert_eq!(wrong_code(&ch, "420"), None);
    }

    #[test]
    fn actions_parse_and_unknown_ones_are_refused() {
        assert_eq!(
            Action::parse("approve"),
            Some(Action::Answer(Answer::Approve))
        );
        assert_eq!(Action::parse("not-me"), Some(Action::Answer(Answer::NotMe)));
        assert_eq!(Action::parse("wrong"), Some(Action::Answer(Answer::Wrong)));
        assert_eq!(Action::parse("deny"), Some(Action::Answer(Answer::Deny)));
        assert_eq!(Action::parse("qr"), Some(Action::Qr));
        assert_eq!(Action::parse("code"), Some(Action::Code));
        assert_eq!(Action::parse("approve "), None);
        assert_eq!(Action::parse("pending"), None);
    }

    #[test]
    fn wallet_errors_have_stable_names_and_details() {
        let (status, Json(body)) =
            wallet_error(&WalletError::Pin(PinRefusal::WrongPin { tries_left: 3 }));
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["error"], "wrong_pin");
        assert_eq!(body["tries_left"], 3);
        let (_, Json(body)) = wallet_error(&WalletError::Client(ClientError::Server {
            status: 403,
            code: "access_denied".into(),
        }));
        assert_eq!(
            (&body["server_status"], &body["server_code"]),
            (&json!(403), &json!("access_denied"))
        );
        assert_eq!(wallet_error_code(&WalletError::WrongCode), "wrong_code");
    }

    #[test]
    fn a_body_with_an_unknown_field_is_refused() {
        assert!(serde_json::from_str::<ActBody>(r#"{"cod":"42"}"#).is_err());
        let b: ActBody = serde_json::from_str(r#"{"code":"42","wait":0}"#).unwrap();
        assert_eq!((b.code.as_deref(), b.wait), (Some("42"), Some(0)));
    }
}
