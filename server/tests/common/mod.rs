// SPDX-License-Identifier: Apache-2.0
//! Test helpers: a server on loopback with a temporary SQLite file, a relying party, and a
//! device that plays the wallet with core's keys, JWS and protocol types.
#![allow(dead_code, unreachable_pub)]

pub mod guarded;
pub mod hardware;
pub mod instances;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use vistalid_core::clock::{Clock, ManualClock};
use vistalid_core::jws;
use vistalid_core::keys::{PublicKey, SigningKey};
use vistalid_core::protocol::{
    AnswerClaims, AnswerRequest, ChallengeClaims, ChallengesResponse, CibaResponse, CodeMode,
    Decision, EnrolProofClaims, EnrolRequest, EnrolResponse, ErrorBody, KeyStorage, NonceResponse,
    PATH_CHALLENGES, PATH_ENROL, PATH_ENROL_NONCE, TYP_ANSWER, TYP_CHALLENGE, TYP_ENROL_PROOF,
};
use vistalid_server::relying_party::{RelyingParty, RpError, TokenResponse};
use vistalid_server::{start, Admin, RunningServer, ServerConfig};

/// A fixed start time for manual clocks.
pub const T0: i64 = 1_800_000_000;

/// A server with its temp dir, clock and HTTP client.
pub struct Harness {
    pub server: RunningServer,
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
}

impl Harness {
    /// Starts a server with test settings (poll interval 0); `tweak` may change the config.
    pub async fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Arc::new(ManualClock::new(T0));
        let config = test_config(&dir, &clock, tweak);
        let server = start(config).await.expect("server starts");
        Self {
            server,
            dir,
            clock,
            http: reqwest::Client::new(),
        }
    }

    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Stops the server and starts a new one on the same database file.
    pub async fn restart(self) -> Self {
        self.restart_with(|_| {}).await
    }

    /// [`Self::restart`], with `tweak` applied to the new configuration.
    pub async fn restart_with(self, tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let Harness {
            server,
            dir,
            clock,
            http,
        } = self;
        let addr = server.addr();
        server.shutdown().await;
        // Same address and database file: clients keep their base URL.
        let config = test_config(&dir, &clock, |c| {
            c.bind = addr;
            tweak(c);
        });
        let server = start(config).await.expect("server restarts");
        Self {
            server,
            dir,
            clock,
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.base_url(), path)
    }

    pub fn admin(&self) -> Admin {
        self.server.admin()
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Registers a client.
    pub async fn client(&self, mode: CodeMode) -> Rp {
        let (id, secret) = self
            .admin()
            .add_client("Dossier patient test", mode)
            .expect("client");
        Rp {
            id,
            secret: secret.to_string(),
        }
    }

    /// Creates a practitioner and enrols one device for it.
    pub async fn practitioner(&self, rpps: &str) -> Device {
        let code = self
            .admin()
            .add_practitioner(rpps, "Jeanne", "Martin", "10")
            .expect("account");
        Device::enrol(self, &code).await.expect("enrol")
    }

    /// A fresh enrolment nonce.
    pub async fn nonce(&self) -> String {
        let r = self
            .http
            .post(self.url(PATH_ENROL_NONCE))
            .send()
            .await
            .expect("nonce");
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<NonceResponse>().await.expect("nonce json").nonce
    }

    /// The server key from the JWKS.
    pub async fn server_key(&self) -> PublicKey {
        let jwks: Value = self
            .http
            .get(self.url(vistalid_core::protocol::PATH_JWKS))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("jwks json");
        let jwk = serde_json::from_value(jwks["keys"][0].clone()).expect("jwk");
        PublicKey::from_jwk(&jwk).expect("valid key")
    }
}

/// For a test that reads or writes the SQLite file itself (or runs the binary on it): keeps
/// it on SQLite whatever `VL_TEST_DATABASE_URL` says.
#[allow(dead_code)]
pub fn sqlite_only(c: &mut ServerConfig) {
    c.database_url = Some(format!("sqlite:{}", c.db_path.display()).into());
}

fn test_config(
    dir: &tempfile::TempDir,
    clock: &Arc<ManualClock>,
    tweak: impl FnOnce(&mut ServerConfig),
) -> ServerConfig {
    let mut c = ServerConfig::new(dir.path().join("server.sqlite"));
    c.poll_interval_secs = 0;
    c.clock = Arc::clone(clock).into();
    tweak(&mut c);
    // VL_TEST_DATABASE_URL set (scripts/test.sh's PostgreSQL suites): a schema of its own.
    c.use_test_database().expect("test database");
    c
}

/// An HTTP error answer.
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub body: ErrorBody,
}

/// Reads a JSON success or an `ErrorBody` failure.
pub async fn read<T: serde::de::DeserializeOwned>(r: reqwest::Response) -> Result<T, Failure> {
    let status = r.status();
    let bytes = r.bytes().await.expect("body");
    if status.is_success() {
        Ok(serde_json::from_slice(&bytes).expect("success body parses"))
    } else {
        let body: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "error body is not ErrorBody JSON ({status}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        Err(Failure { status, body })
    }
}

/// Asserts a failure's status and error code.
#[track_caller]
pub fn expect_err<T: std::fmt::Debug>(r: Result<T, Failure>, status: u16, error: &str) -> Failure {
    let f = r.expect_err("expected an error");
    assert_eq!(f.status.as_u16(), status, "{f:?}");
    assert_eq!(f.body.error, error, "{f:?}");
    f
}

/// A relying party's credentials (registered or not), spoken through the shared relying
/// party (`vistalid_server::relying_party`), its refusals read as [`Failure`]s.
#[derive(Clone)]
pub struct Rp {
    pub id: String,
    pub secret: String,
}

impl Rp {
    /// The shared relying party with these credentials, on `h`'s connection pool and clock.
    pub fn on(&self, h: &Harness) -> RelyingParty {
        RelyingParty::new(h.server.base_url(), &self.id, &self.secret)
            .with_http(h.http.clone())
            .with_clock(Arc::clone(&h.clock) as Arc<dyn Clock>)
    }

    pub async fn ciba(&self, h: &Harness, login_hint: &str) -> Result<CibaResponse, Failure> {
        self.ciba_form(
            h,
            &[
                ("scope", "openid"),
                ("login_hint", login_hint),
                ("binding_message", "Connexion au DMP"),
                ("acr_values", "eidas1"),
                ("vistalid_ip", "192.0.2.10"),
                ("vistalid_user_agent", "Firefox 140"),
                ("vistalid_place", "Lyon, FR"),
            ],
        )
        .await
    }

    pub async fn ciba_form(
        &self,
        h: &Harness,
        form: &[(&str, &str)],
    ) -> Result<CibaResponse, Failure> {
        self.on(h).ciba_form(form).await.map_err(failure)
    }

    /// One token poll; the answer as JSON.
    pub async fn token(&self, h: &Harness, auth_req_id: &str) -> Result<Value, Failure> {
        self.on(h)
            .token(auth_req_id)
            .await
            .map(|t: TokenResponse| serde_json::to_value(t).expect("token JSON"))
            .map_err(failure)
    }
}

/// A refusal of the relying party as a [`Failure`]; any other error fails the test.
#[track_caller]
fn failure(e: RpError) -> Failure {
    match e {
        RpError::Refused { status, body } => Failure {
            status: StatusCode::from_u16(status).expect("HTTP status"),
            body,
        },
        other => panic!("relying party: {other}"),
    }
}

/// A device playing the wallet.
pub struct Device {
    pub key: SigningKey,
    pub enrolment: EnrolResponse,
}

impl Device {
    /// Enrols a new key with `code`.
    pub async fn enrol(h: &Harness, code: &str) -> Result<Self, Failure> {
        let key = SigningKey::make().expect("key");
        let nonce = h.nonce().await;
        let proof = proof(&key, &nonce, h.server.base_url(), h.now());
        let r = enrol_raw(h, &key, code, &proof).await;
        r.map(|enrolment| Self { key, enrolment })
    }

    pub fn id(&self) -> &str {
        &self.enrolment.device_id
    }

    /// Fetches the pending challenges (raw JWS).
    pub async fn fetch(&self, h: &Harness, wait: u64) -> Result<Vec<String>, Failure> {
        let r = h
            .http
            .get(format!("{}?wait={wait}", h.url(PATH_CHALLENGES)))
            .bearer_auth(&self.enrolment.poll_token)
            .send()
            .await
            .expect("challenges");
        read::<ChallengesResponse>(r).await.map(|c| c.challenges)
    }

    /// Fetches the single pending challenge and verifies it with the pinned server key.
    pub async fn one_challenge(&self, h: &Harness) -> ChallengeClaims {
        let list = self.fetch(h, 0).await.expect("fetch");
        assert_eq!(list.len(), 1, "one pending challenge");
        self.verify(&list[0])
    }

    pub fn verify(&self, token: &str) -> ChallengeClaims {
        let key = PublicKey::from_jwk(&self.enrolment.server_key).expect("server key");
        let c: ChallengeClaims =
            jws::verify_json(token, &key, Some(TYP_CHALLENGE)).expect("challenge verifies");
        assert_eq!(c.device_id, self.enrolment.device_id);
        assert_eq!(c.account_id, self.enrolment.account_id);
        c
    }

    /// Signs an answer with this device's key.
    pub fn sign(
        &self,
        challenge_id: &str,
        decision: Decision,
        code: Option<&str>,
        now: i64,
    ) -> String {
        let claims = AnswerClaims {
            challenge_id: challenge_id.to_owned(),
            device_id: self.enrolment.device_id.clone(),
            decision,
            code: code.map(str::to_owned),
            iat: now,
            scan_mac: None,
        };
        jws::sign_json(&self.key, TYP_ANSWER, &claims).expect("sign")
    }

    /// Posts an answer JWS for `challenge_id`.
    pub async fn post_answer(
        &self,
        h: &Harness,
        challenge_id: &str,
        answer: String,
    ) -> Result<String, Failure> {
        post_answer_request(
            h,
            challenge_id,
            &AnswerRequest {
                answer,
                hardware_signature: None,
            },
        )
        .await
    }

    pub async fn answer(
        &self,
        h: &Harness,
        challenge_id: &str,
        decision: Decision,
        code: Option<&str>,
    ) -> Result<String, Failure> {
        let jws = self.sign(challenge_id, decision, code, h.now());
        self.post_answer(h, challenge_id, jws).await
    }
}

/// Posts an answer request for `challenge_id`; the status on success.
pub async fn post_answer_request(
    h: &Harness,
    challenge_id: &str,
    req: &AnswerRequest,
) -> Result<String, Failure> {
    let r = h
        .http
        .post(h.url(&format!("/device/challenges/{challenge_id}/answer")))
        .json(req)
        .send()
        .await
        .expect("answer");
    read::<vistalid_core::protocol::AnswerResponse>(r)
        .await
        .map(|a| a.status.as_str().to_owned())
}

/// An enrolment proof.
pub fn proof(key: &SigningKey, nonce: &str, aud: &str, iat: i64) -> String {
    let claims = EnrolProofClaims {
        nonce: nonce.to_owned(),
        aud: aud.to_owned(),
        iat,
    };
    jws::sign_json(key, TYP_ENROL_PROOF, &claims).expect("sign")
}

/// Posts an enrolment request, as a phone wallet whose keystore reports hardware.
pub async fn enrol_raw(
    h: &Harness,
    key: &SigningKey,
    code: &str,
    proof: &str,
) -> Result<EnrolResponse, Failure> {
    enrol_reporting(h, key, code, proof, Some(KeyStorage::Hardware)).await
}

/// Posts an enrolment request that reports `key_storage` (`None`: a wallet older than the
/// field).
pub async fn enrol_reporting(
    h: &Harness,
    key: &SigningKey,
    code: &str,
    proof: &str,
    key_storage: Option<KeyStorage>,
) -> Result<EnrolResponse, Failure> {
    let req = EnrolRequest {
        activation_code: code.to_owned(),
        public_key: key.public_key().to_jwk(),
        proof: proof.to_owned(),
        device_name: "Pixel 9 test".to_owned(),
        device_attestation: None,
        key_storage,
        pin_guard: None,
    };
    read(post_enrol(h, &req).await).await
}

/// Posts an enrolment request; the raw answer.
pub async fn post_enrol(h: &Harness, req: &EnrolRequest) -> reqwest::Response {
    h.http
        .post(h.url(PATH_ENROL))
        .json(req)
        .send()
        .await
        .expect("enrol")
}

/// Runs one SQL statement on the server's database (the SQLite file, or the PostgreSQL
/// schema of `VL_TEST_DATABASE_URL`), beside the running server; panics unless it
/// changed a row.
pub fn edit_database(h: &Harness, sql: &str) {
    let mut config = vistalid_server::ServerConfig::new(h.dir.path().join("server.sqlite"));
    config.use_test_database().expect("test database");
    if let Some(url) = config.database_url.map(|u| u.expose().to_owned()) {
        let owned = sql.to_owned();
        let changed = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
                tokio::spawn(conn);
                client.execute(owned.as_str(), &[]).await.expect("edit")
            })
        })
        .join()
        .expect("edit thread");
        assert!(changed > 0, "{sql} changed nothing");
        return;
    }
    let conn = rusqlite::Connection::open(h.dir.path().join("server.sqlite")).expect("open");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    let changed = conn.execute(sql, []).expect("edit");
    assert!(changed > 0, "{sql} changed nothing");
}
