// SPDX-License-Identifier: Apache-2.0
//! The wallet facade: one PIN-protected vault holding one or more accounts (practitioner or
//! insured), each enrolled with an identity server.
//!
//! Guarantees:
//! - The PIN is checked (and counted) before anything irreversible: a wrong PIN never burns
//!   an activation code, never sends an answer.
//! - Account public data (server URL, pinned server key, poll token, replay cache) lives in
//!   the vault's device tier, readable without the PIN but only with this device's keystore;
//!   private keys and credentials live in the PIN tier.
//! - A challenge is shown only after [`crate::challenge::verify_challenge`] accepted it; an
//!   answered challenge id is recorded and never answered again.
//! - Blocking work (Argon2, file I/O) runs on tokio's blocking pool, never on the async
//!   executor; no lock is held across an `.await`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::challenge::{self, Challenge, ChallengeError};
use crate::client::{ClientError, ServerClient};
use crate::clock::Clock;
#[cfg(feature = "reqwest")]
use crate::clock::SystemClock;
use crate::jws;
use crate::keys::{Jwk, PublicKey, SigningKey};
use crate::keystore::{KeystoreError, PlatformKeystore};
use crate::protocol::{
    AccountKind, AnswerRequest, Decision, EnrolProofClaims, EnrolRequest, Identity, TYP_ENROL_PROOF,
};
use crate::qr;
use crate::secret::Pin;
#[cfg(feature = "reqwest")]
use crate::transport::ReqwestTransport;
use crate::transport::Transport;
use crate::vault::{Unlocked, Vault, VaultConfig, VaultError};

/// How long an answered challenge id stays in the replay cache after its expiry, in seconds.
const REPLAY_CACHE_GRACE_SECS: i64 = 3600;
/// Longest long-poll wait the wallet asks for, in seconds.
pub const MAX_WAIT_SECS: u32 = 30;

/// Errors of the wallet, each naming what the user or integrator can do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// Wrong PIN; `tries_left` more tries before the vault locks.
    #[error("wrong PIN ({tries_left} tries left)")]
    WrongPin {
        /// Tries left before lockout.
        tries_left: u32,
    },
    /// Too many wrong PINs: the vault is locked; wipe and enrol again.
    #[error("locked after too many wrong PINs; enrol again")]
    Locked,
    /// A PIN was tried too soon after a wrong one; wait and retry.
    #[error("wait {retry_after_secs} s before the next try")]
    Backoff {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The new PIN does not meet the policy (the reason names the rule, not the digits).
    #[error("PIN refused: {0}")]
    WeakPin(&'static str),
    /// No vault yet: enrol an account first.
    #[error("no account enrolled yet")]
    NotEnrolled,
    /// No account with that id in this wallet.
    #[error("no such account")]
    NoSuchAccount,
    /// The challenge id is not among the fetched pending challenges.
    #[error("no such pending challenge; fetch challenges again")]
    NoSuchChallenge,
    /// The challenge expired; the user must start the login again.
    #[error("the request expired; start the login again")]
    ChallengeExpired,
    /// The challenge was already answered (replay).
    #[error("this request was already answered")]
    ChallengeReplayed,
    /// The code given is not well-formed or not one of the choices.
    #[error("that code is not one of the choices")]
    InvalidCode,
    /// The server says the code was wrong; the login was refused.
    #[error("wrong code: the login was refused")]
    WrongCode,
    /// A server message was not signed by the pinned server key.
    #[error("server signature invalid")]
    BadServerSignature,
    /// The server's answer is malformed (e.g. an invalid key).
    #[error("unexpected answer from the server")]
    BadServerResponse,
    /// The server URL is not https (http is allowed on loopback only).
    #[error("server URL must be https")]
    InsecureServerUrl,
    /// The server could not be reached; `retryable` when trying again later may help.
    #[error("network error (retryable: {retryable})")]
    Network {
        /// Whether a retry may succeed.
        retryable: bool,
    },
    /// The server refused the request.
    #[error("server error {status}: {code}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error code.
        code: String,
    },
    /// The account has no QR credential (a practitioner account, or enrolment without one).
    #[error("this account has no QR credential")]
    NoCredential,
    /// Stored data is damaged or was tampered with.
    #[error("stored data is corrupt")]
    Corrupt,
    /// The vault belongs to another device or the platform key was lost: enrol again.
    #[error("the vault cannot be opened with this device's key; enrol again")]
    KeystoreMismatch,
    /// The platform keystore failed.
    #[error("platform keystore error: {0}")]
    Keystore(KeystoreError),
    /// A file operation failed.
    #[error("storage error: {0:?}")]
    Storage(std::io::ErrorKind),
    /// An internal invariant failed (a bug); the message has no secrets.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl From<VaultError> for WalletError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::WrongPin { tries_left } => Self::WrongPin { tries_left },
            VaultError::Locked => Self::Locked,
            VaultError::Backoff { retry_after_secs } => Self::Backoff { retry_after_secs },
            VaultError::WeakPin(why) => Self::WeakPin(why),
            VaultError::NotFound => Self::NotEnrolled,
            VaultError::KeystoreMismatch => Self::KeystoreMismatch,
            VaultError::Keystore(k) => Self::Keystore(k),
            VaultError::Io(kind) => Self::Storage(kind),
            VaultError::Corrupt | VaultError::UnsupportedVersion(_) => Self::Corrupt,
            VaultError::AlreadyExists => Self::Internal("vault already exists"),
            VaultError::Random => Self::Internal("random generator failure"),
            VaultError::InvalidConfig(why) => Self::Internal(why),
        }
    }
}

impl From<ClientError> for WalletError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::InsecureUrl => Self::InsecureServerUrl,
            ClientError::Network { retryable } => Self::Network { retryable },
            ClientError::Server { status, code } => Self::Server { status, code },
            ClientError::BadResponse => Self::BadServerResponse,
        }
    }
}

impl From<ChallengeError> for WalletError {
    fn from(e: ChallengeError) -> Self {
        match e {
            ChallengeError::BadServerSignature | ChallengeError::WrongRecipient => {
                Self::BadServerSignature
            }
            ChallengeError::Expired | ChallengeError::BadTime => Self::ChallengeExpired,
            ChallengeError::Replayed => Self::ChallengeReplayed,
            ChallengeError::BadCandidates => Self::BadServerResponse,
            ChallengeError::InvalidCode => Self::InvalidCode,
            ChallengeError::Signing => Self::Internal("signing failed"),
            ChallengeError::UnsafeText => Self::BadServerResponse,
        }
    }
}

/// What the wallet shows about an enrolled account (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// Server-side account id.
    pub account_id: String,
    /// Server-side device id.
    pub device_id: String,
    /// Practitioner or insured.
    pub kind: AccountKind,
    /// Identity claims.
    pub identity: Identity,
    /// The server the account is enrolled with.
    pub server_url: String,
}

/// A challenge the wallet received but refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedChallenge {
    /// The account it came for.
    pub account_id: String,
    /// Why it was refused.
    pub reason: ChallengeError,
}

/// The result of fetching challenges: the verified ones to show, and the refused ones.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fetched {
    /// Verified challenges, ready to show.
    pub challenges: Vec<Challenge>,
    /// Challenges that failed verification (never shown).
    pub rejected: Vec<RejectedChallenge>,
}

/// The outcome the server confirmed for an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerOutcome {
    /// Login approved.
    Approved,
    /// Login denied by the user.
    Denied,
    /// Reported as "not me".
    Reported,
}

/// A QR presentation ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrPresentation {
    /// The `VL1:` text to encode in the QR code (alphanumeric mode).
    pub text: String,
    /// Offline (whole credential) or online (credential id only).
    pub mode: qr::Mode,
    /// When the presentation expires (seconds since the epoch).
    pub expires_at: i64,
}

/// Options of a wallet.
#[derive(Debug, Clone)]
pub struct WalletConfig {
    /// Vault parameters (Argon2, tries, PIN policy).
    pub vault: VaultConfig,
    /// Device name sent at enrolment.
    pub device_name: String,
}

impl Default for WalletConfig {
    fn default() -> Self {
        Self {
            vault: VaultConfig::default(),
            device_name: "Vistalid device".to_owned(),
        }
    }
}

/// Non-secret account data, kept in the vault's device tier.
#[derive(Clone, Serialize, Deserialize)]
struct AccountRecord {
    info: AccountInfo,
    server_key: Jwk,
    #[serde(default)]
    issuer_key: Option<Jwk>,
    poll_token: String,
    #[serde(default)]
    credential_id: Option<String>,
}

/// The device tier's content.
#[derive(Default, Serialize, Deserialize)]
struct DeviceState {
    accounts: Vec<AccountRecord>,
    /// Answered challenge ids with their expiry (the replay cache).
    answered: Vec<(String, i64)>,
}

/// One account's secrets in the PIN tier.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct AccountSecrets {
    account_id: String,
    /// PKCS#8 DER of the device key, base64url.
    device_key: String,
    /// Issuer credential (insured accounts), base64url.
    #[serde(default)]
    credential: Option<String>,
}

/// The PIN tier's content.
#[derive(Default, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct Secrets {
    accounts: Vec<AccountSecrets>,
}

/// A Vistalid wallet stored in one directory.
pub struct Wallet {
    dir: PathBuf,
    keystore: Arc<dyn PlatformKeystore>,
    config: WalletConfig,
    clock: Arc<dyn Clock>,
    transport: Arc<dyn Transport>,
    vault: Mutex<Option<Arc<Vault>>>,
    pending: Mutex<HashMap<String, Challenge>>,
    /// Serialises read-modify-write of the device tier.
    state_lock: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Wallet {
    /// Opens the wallet in `dir` (created at first enrolment) with the platform keystore,
    /// talking to servers through a new [`ReqwestTransport`].
    #[cfg(feature = "reqwest")]
    pub fn open(
        dir: &Path,
        keystore: Arc<dyn PlatformKeystore>,
        config: WalletConfig,
    ) -> Result<Self, WalletError> {
        Self::open_with_clock(dir, keystore, config, Arc::new(SystemClock))
    }

    /// Like [`Wallet::open`] with a given clock (tests, simulations).
    #[cfg(feature = "reqwest")]
    pub fn open_with_clock(
        dir: &Path,
        keystore: Arc<dyn PlatformKeystore>,
        config: WalletConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, WalletError> {
        let transport = ReqwestTransport::new().map_err(ClientError::from)?;
        Self::open_with(dir, keystore, config, Arc::new(transport), clock)
    }

    /// Opens the wallet in `dir` (created at first enrolment) with the platform keystore,
    /// the app's HTTP `transport` and a `clock`. Nothing is sent to the network.
    pub fn open_with(
        dir: &Path,
        keystore: Arc<dyn PlatformKeystore>,
        config: WalletConfig,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, WalletError> {
        let vault = if Vault::exists(dir) {
            let v =
                Vault::open(dir, keystore.clone(), config.vault.clone())?.with_clock(clock.clone());
            Some(Arc::new(v))
        } else {
            None
        };
        Ok(Self {
            dir: dir.to_owned(),
            keystore,
            config,
            clock,
            transport,
            vault: Mutex::new(vault),
            pending: Mutex::new(HashMap::new()),
            state_lock: Arc::new(Mutex::new(())),
        })
    }

    /// A client for `server_url` over the wallet's transport.
    fn client(&self, server_url: &str) -> Result<ServerClient, ClientError> {
        ServerClient::with_transport(server_url, Arc::clone(&self.transport))
    }

    /// The enrolled accounts.
    pub fn accounts(&self) -> Result<Vec<AccountInfo>, WalletError> {
        let Some(vault) = self.vault() else {
            return Ok(Vec::new());
        };
        Ok(read_state(&vault)?
            .accounts
            .into_iter()
            .map(|a| a.info)
            .collect())
    }

    /// Wrong-PIN tries left before lockout.
    pub fn attempts_left(&self) -> Result<u32, WalletError> {
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        Ok(vault.attempts_left()?)
    }

    /// Enrols a new account with `server_url` using the one-time `activation_code`. The first
    /// enrolment creates the vault with `pin` (checked against the PIN policy); later ones
    /// must give the wallet's PIN, which is checked before the server is contacted.
    pub async fn enrol(
        &self,
        server_url: &str,
        activation_code: &str,
        pin: Pin,
    ) -> Result<AccountInfo, WalletError> {
        let client = self.client(server_url)?;
        // The PIN is checked before the activation code is spent: unlocked for a later
        // account, checked against the policy for the first (the vault is created only once
        // the server has accepted, so a failed first enrolment leaves nothing behind).
        let existing = match self.vault() {
            Some(vault) => {
                let unlocked = self.unlock(&vault, pin).await?;
                Ok((vault, unlocked))
            }
            None => {
                self.config.vault.pin_policy.check(&pin)?;
                Err(pin)
            }
        };

        let device_key = SigningKey::make().map_err(|_| WalletError::Internal("keygen"))?;
        let nonce = client.enrol_nonce().await?;
        let proof_claims = EnrolProofClaims {
            nonce: nonce.nonce,
            aud: client.base_url().to_owned(),
            iat: self.clock.now(),
        };
        let proof = jws::sign_json(&device_key, TYP_ENROL_PROOF, &proof_claims)
            .map_err(|_| WalletError::Internal("signing failed"))?;
        let attestation = self
            .keystore
            .attestation()
            .map_err(WalletError::Keystore)?
            .map(|a| B64URL.encode(a));
        let request = EnrolRequest {
            activation_code: activation_code.trim().to_owned(),
            public_key: device_key.public_key().to_jwk(),
            proof,
            device_name: self.config.device_name.clone(),
            attestation,
        };
        let resp = client.enrol(&request).await?;
        let (vault, unlocked) = match existing {
            Ok(pair) => pair,
            Err(pin) => self.create_vault(pin).await?,
        };

        PublicKey::from_jwk(&resp.server_key).map_err(|_| WalletError::BadServerResponse)?;
        let credential_id = match (&resp.issuer_key, &resp.credential) {
            (Some(issuer), Some(cred)) => {
                Some(self.check_credential(issuer, cred, &device_key.public_key())?)
            }
            (None, None) => None,
            _ => return Err(WalletError::BadServerResponse),
        };
        let info = AccountInfo {
            account_id: resp.account_id.clone(),
            device_id: resp.device_id.clone(),
            kind: resp.kind,
            identity: resp.identity.clone(),
            server_url: client.base_url().to_owned(),
        };
        let record = AccountRecord {
            info: info.clone(),
            server_key: resp.server_key.clone(),
            issuer_key: resp.issuer_key.clone(),
            poll_token: resp.poll_token.clone(),
            credential_id,
        };
        let pkcs8 = B64URL.encode(device_key.to_pkcs8().as_slice());
        let credential = resp.credential.clone();
        let account_id = resp.account_id.clone();
        let state_lock = self.state_lock.clone();
        blocking(move || {
            // Secrets first: a crash in between leaves an orphan key, never an account
            // without its key.
            let mut secrets = read_secrets(&unlocked)?;
            secrets.accounts.retain(|a| a.account_id != account_id);
            secrets.accounts.push(AccountSecrets {
                account_id,
                device_key: pkcs8,
                credential,
            });
            write_secrets(&unlocked, &secrets)?;
            let _guard = state_lock
                .lock()
                .map_err(|_| WalletError::Internal("lock"))?;
            let mut state = read_state(&vault)?;
            state
                .accounts
                .retain(|a| a.info.account_id != record.info.account_id);
            state.accounts.push(record);
            write_state(&vault, &state)
        })
        .await?;
        Ok(info)
    }

    /// Fetches pending challenges for every account, waiting up to `wait_secs` (capped at
    /// [`MAX_WAIT_SECS`]) for one to arrive. Verified challenges are kept for
    /// [`Wallet::approve`], [`Wallet::deny`] and [`Wallet::report_not_me`].
    pub async fn fetch_challenges(&self, wait_secs: u32) -> Result<Fetched, WalletError> {
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        let state = read_state(&vault)?;
        let answered: HashSet<String> = state.answered.iter().map(|(id, _)| id.clone()).collect();
        let wait = wait_secs.min(MAX_WAIT_SECS);
        let mut tasks = tokio::task::JoinSet::new();
        for account in state.accounts.clone() {
            let client = self.client(&account.info.server_url);
            tasks.spawn(async move {
                let client = client?;
                let resp = client.challenges(&account.poll_token, wait).await?;
                Ok::<_, WalletError>((account, resp.challenges))
            });
        }
        let mut fetched = Fetched::default();
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let (account, tokens) = match joined {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                    continue;
                }
                Err(_) => {
                    first_error.get_or_insert(WalletError::Internal("fetch task failed"));
                    continue;
                }
            };
            let server_key =
                PublicKey::from_jwk(&account.server_key).map_err(|_| WalletError::Corrupt)?;
            let now = self.clock.now();
            for token in tokens {
                match challenge::verify_challenge(
                    &token,
                    &server_key,
                    &account.info.account_id,
                    &account.info.device_id,
                    &answered,
                    now,
                ) {
                    Ok(ch) => fetched.challenges.push(ch),
                    Err(reason) => fetched.rejected.push(RejectedChallenge {
                        account_id: account.info.account_id.clone(),
                        reason,
                    }),
                }
            }
        }
        if fetched.challenges.is_empty() && fetched.rejected.is_empty() {
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        fetched.challenges.sort_by_key(|c| c.issued_at);
        let mut pending = self
            .pending
            .lock()
            .map_err(|_| WalletError::Internal("lock"))?;
        let now = self.clock.now();
        pending.retain(|_, ch| !ch.is_expired(now));
        for ch in &fetched.challenges {
            pending.insert(ch.id.clone(), ch.clone());
        }
        Ok(fetched)
    }

    /// Approves challenge `id` with the PIN and the chosen (pick) or typed code.
    pub async fn approve(
        &self,
        id: &str,
        pin: Pin,
        code: &str,
    ) -> Result<AnswerOutcome, WalletError> {
        self.answer(id, pin, Decision::Approve, Some(code)).await
    }

    /// Declines challenge `id` (signed with the device key, so the PIN is needed).
    pub async fn deny(&self, id: &str, pin: Pin) -> Result<AnswerOutcome, WalletError> {
        self.answer(id, pin, Decision::Deny, None).await
    }

    /// Reports challenge `id` as "this was not me": declined and flagged to the server.
    pub async fn report_not_me(&self, id: &str, pin: Pin) -> Result<AnswerOutcome, WalletError> {
        self.answer(id, pin, Decision::NotMe, None).await
    }

    async fn answer(
        &self,
        id: &str,
        pin: Pin,
        decision: Decision,
        code: Option<&str>,
    ) -> Result<AnswerOutcome, WalletError> {
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        let ch = self
            .pending
            .lock()
            .map_err(|_| WalletError::Internal("lock"))?
            .get(id)
            .cloned()
            .ok_or(WalletError::NoSuchChallenge)?;
        let state = read_state(&vault)?;
        if state.answered.iter().any(|(seen, _)| seen == id) {
            return Err(WalletError::ChallengeReplayed);
        }
        if ch.is_expired(self.clock.now()) {
            return Err(WalletError::ChallengeExpired);
        }
        if decision == Decision::Approve {
            let code = code.ok_or(WalletError::InvalidCode)?;
            let listed = ch
                .candidates
                .iter()
                .any(|c| challenge::codes_match(c, code));
            if !challenge::is_code(code) || (ch.mode == crate::protocol::CodeMode::Pick && !listed)
            {
                return Err(WalletError::InvalidCode);
            }
        }
        let record = state
            .accounts
            .iter()
            .find(|a| a.info.account_id == ch.account_id)
            .cloned()
            .ok_or(WalletError::NoSuchAccount)?;

        let unlocked = self.unlock(&vault, pin).await?;
        let key = device_key(&unlocked, &ch.account_id)?;
        let token = challenge::sign_answer(&key, &ch, decision, code, self.clock.now())?;
        drop(key);

        let client = self.client(&record.info.server_url)?;
        let result = client
            .answer(&ch.id, &AnswerRequest { answer: token })
            .await;
        if !matches!(result, Err(ClientError::Network { .. })) {
            self.remember_answered(&vault, &ch).await?;
        }
        match result {
            Ok(resp) => match resp.status.as_str() {
                "approved" => Ok(AnswerOutcome::Approved),
                "denied" => Ok(AnswerOutcome::Denied),
                "reported" => Ok(AnswerOutcome::Reported),
                _ => Err(WalletError::BadServerResponse),
            },
            Err(ClientError::Server { code, .. }) if code == "wrong_code" => {
                Err(WalletError::WrongCode)
            }
            Err(ClientError::Server { code, .. }) if code == "challenge_expired" => {
                Err(WalletError::ChallengeExpired)
            }
            Err(ClientError::Server { code, .. }) if code == "challenge_already_answered" => {
                Err(WalletError::ChallengeReplayed)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Builds a QR presentation for insured account `account_id`: unlocks with the PIN, then
    /// signs with the device key a fresh presentation valid for
    /// [`qr::presentation::DEFAULT_VALIDITY_SECS`], carrying the whole credential
    /// ([`qr::Mode::Offline`]) or only its id ([`qr::Mode::Online`]), optionally addressed to
    /// `audience`. Returns the `VL1:` text to put in the QR code (see [`qr::QrMatrix`]).
    pub async fn present_qr(
        &self,
        account_id: &str,
        pin: Pin,
        mode: qr::Mode,
        audience: Option<&str>,
    ) -> Result<QrPresentation, WalletError> {
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        let state = read_state(&vault)?;
        let record = state
            .accounts
            .iter()
            .find(|a| a.info.account_id == account_id)
            .ok_or(WalletError::NoSuchAccount)?;
        let credential_id = record
            .credential_id
            .clone()
            .ok_or(WalletError::NoCredential)?;
        let unlocked = self.unlock(&vault, pin).await?;
        let key = device_key(&unlocked, account_id)?;
        let secrets = read_secrets(&unlocked)?;
        let credential = secrets
            .accounts
            .iter()
            .find(|a| a.account_id == account_id)
            .and_then(|a| a.credential.as_deref())
            .ok_or(WalletError::NoCredential)?;
        let credential = Zeroizing::new(
            B64URL
                .decode(credential)
                .map_err(|_| WalletError::Corrupt)?,
        );
        let credential_id = B64URL
            .decode(credential_id)
            .map_err(|_| WalletError::Corrupt)?;
        let source = match mode {
            qr::Mode::Offline => qr::PresentationSource::Offline(&credential),
            qr::Mode::Online => qr::PresentationSource::Online(&credential_id),
        };
        let now = self.clock.now();
        let validity = qr::presentation::DEFAULT_VALIDITY_SECS;
        let text = qr::present(&key, source, now, validity, audience)
            .map_err(|_| WalletError::Internal("QR presentation failed"))?;
        Ok(QrPresentation {
            text,
            mode,
            expires_at: now + i64::from(validity),
        })
    }

    fn check_credential(
        &self,
        issuer: &Jwk,
        credential_b64: &str,
        device_key: &PublicKey,
    ) -> Result<String, WalletError> {
        let bad = |_| WalletError::BadServerResponse;
        let issuer = PublicKey::from_jwk(issuer).map_err(|_| WalletError::BadServerResponse)?;
        let bytes = B64URL
            .decode(credential_b64)
            .map_err(|_| WalletError::BadServerResponse)?;
        let skew = u32::try_from(challenge::CLOCK_SKEW_SECS).unwrap_or(30);
        let cred =
            qr::credential::verify(&bytes, &[issuer], self.clock.now(), skew).map_err(bad)?;
        if cred.device_key != *device_key {
            return Err(WalletError::BadServerResponse);
        }
        Ok(B64URL.encode(&cred.claims.credential_id))
    }

    /// Changes the PIN. The old PIN counts as a try; the new one must meet the policy.
    pub async fn change_pin(&self, old: Pin, new: Pin) -> Result<(), WalletError> {
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        blocking(move || Ok(vault.change_pin(&old, &new)?)).await
    }

    /// Erases the wallet: the platform key first (crypto-erase), then the files. Pending
    /// challenges are forgotten.
    pub async fn wipe(&self) -> Result<(), WalletError> {
        let taken = self
            .vault
            .lock()
            .map_err(|_| WalletError::Internal("lock"))?
            .take();
        if let Some(vault) = taken {
            let vault = Arc::try_unwrap(vault)
                .map_err(|_| WalletError::Internal("vault busy: retry the wipe"))?;
            blocking(move || Ok(vault.wipe()?)).await?;
        }
        self.pending
            .lock()
            .map_err(|_| WalletError::Internal("lock"))?
            .clear();
        Ok(())
    }

    fn vault(&self) -> Option<Arc<Vault>> {
        self.vault.lock().ok().and_then(|v| v.clone())
    }

    async fn unlock(&self, vault: &Arc<Vault>, pin: Pin) -> Result<Unlocked, WalletError> {
        let vault = vault.clone();
        blocking(move || Ok(vault.unlock(&pin)?)).await
    }

    async fn create_vault(&self, pin: Pin) -> Result<(Arc<Vault>, Unlocked), WalletError> {
        let dir = self.dir.clone();
        let keystore = self.keystore.clone();
        let config = self.config.vault.clone();
        let clock = self.clock.clone();
        let (vault, unlocked) = blocking(move || {
            let vault = Vault::create(&dir, keystore, config, &pin)?.with_clock(clock);
            let unlocked = vault.unlock(&pin)?;
            Ok((Arc::new(vault), unlocked))
        })
        .await?;
        *self
            .vault
            .lock()
            .map_err(|_| WalletError::Internal("lock"))? = Some(vault.clone());
        Ok((vault, unlocked))
    }

    async fn remember_answered(
        &self,
        vault: &Arc<Vault>,
        ch: &Challenge,
    ) -> Result<(), WalletError> {
        let vault = vault.clone();
        let (id, exp) = (ch.id.clone(), ch.expires_at);
        let now = self.clock.now();
        let state_lock = self.state_lock.clone();
        self.pending
            .lock()
            .map_err(|_| WalletError::Internal("lock"))?
            .remove(&id);
        blocking(move || {
            let _guard = state_lock
                .lock()
                .map_err(|_| WalletError::Internal("lock"))?;
            let mut state = read_state(&vault)?;
            state
                .answered
                .retain(|(_, e)| e.saturating_add(REPLAY_CACHE_GRACE_SECS) >= now);
            state.answered.push((id, exp));
            write_state(&vault, &state)
        })
        .await
    }
}

/// Runs blocking work (Argon2, file I/O) off the async executor.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, WalletError> + Send + 'static,
) -> Result<T, WalletError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| WalletError::Internal("blocking task failed"))?
}

fn read_state(vault: &Vault) -> Result<DeviceState, WalletError> {
    let bytes = vault.device_state()?;
    if bytes.is_empty() {
        return Ok(DeviceState::default());
    }
    serde_json::from_slice(&bytes).map_err(|_| WalletError::Corrupt)
}

fn write_state(vault: &Vault, state: &DeviceState) -> Result<(), WalletError> {
    let bytes = serde_json::to_vec(state).map_err(|_| WalletError::Internal("encode"))?;
    Ok(vault.set_device_state(&bytes)?)
}

fn read_secrets(unlocked: &Unlocked) -> Result<Secrets, WalletError> {
    let bytes = unlocked.secrets()?;
    if bytes.is_empty() {
        return Ok(Secrets::default());
    }
    serde_json::from_slice(&bytes).map_err(|_| WalletError::Corrupt)
}

fn write_secrets(unlocked: &Unlocked, secrets: &Secrets) -> Result<(), WalletError> {
    let bytes =
        Zeroizing::new(serde_json::to_vec(secrets).map_err(|_| WalletError::Internal("encode"))?);
    Ok(unlocked.set_secrets(&bytes)?)
}

fn device_key(unlocked: &Unlocked, account_id: &str) -> Result<SigningKey, WalletError> {
    let secrets = read_secrets(unlocked)?;
    let entry = secrets
        .accounts
        .iter()
        .find(|a| a.account_id == account_id)
        .ok_or(WalletError::NoSuchAccount)?;
    let der = Zeroizing::new(
        B64URL
            .decode(&entry.device_key)
            .map_err(|_| WalletError::Corrupt)?,
    );
    SigningKey::from_pkcs8(&der).map_err(|_| WalletError::Corrupt)
}
