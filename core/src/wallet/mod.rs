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
//!
//! Where things are:
//! - this file: the [`Wallet`] facade (open, accounts, fetch, QR presentation, PIN change,
//!   wipe) and the types it returns;
//! - `enrol.rs`: enrolment ([`Wallet::enrol`]);
//! - `answer.rs`: the answer protocol ([`Wallet::approve`], [`Wallet::deny`],
//!   [`Wallet::report_not_me`]) and the replay cache's updates;
//! - `offline_code.rs`: the offline code ([`Wallet::offline_code`], issue 16);
//! - `push.rs`: push wake-ups ([`Wallet::register_push_token`], [`Wallet::handle_push`]);
//! - `present.rs`: the QR presentation ([`Wallet::present_qr`]) and its offline rule;
//! - `guard.rs`: the vault's PIN guard over HTTP (the server-counted guesses);
//! - `hardware.rs`: the accounts' hardware keys (ADR 0001): attested at enrolment, co-signing
//!   answers, deleted with the wallet;
//! - `rollover.rs`: the challenge key's rollover (issue 19): re-pinning without re-enrolment;
//! - `records.rs`: the persisted schema of both vault tiers;
//! - `scan.rs`: scan mode ([`Wallet::scan_login`]): the login page's QR code and the MAC of
//!   its answer;
//! - `error.rs`: [`WalletError`] and the mappings from the layers below.

mod answer;
mod enrol;
mod error;
mod guard;
mod hardware;
mod offline_code;
mod present;
mod push;
mod records;
mod rollover;
mod scan;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::challenge::{self, Challenge, ChallengeError};
use crate::client::{ClientError, ServerClient};
use crate::clock::Clock;
#[cfg(feature = "reqwest")]
use crate::clock::SystemClock;
use crate::keystore::PlatformKeystore;
use crate::protocol::{AccountKind, Identity};
use crate::qr;
use crate::secret::Pin;
#[cfg(feature = "reqwest")]
use crate::transport::ReqwestTransport;
use crate::transport::Transport;
use crate::vault::{Unlocked, Vault, VaultConfig};
use guard::{HttpGuard, Target};
use records::{read_state, DeviceState};

pub use error::WalletError;
pub use offline_code::OfflineCode;

/// Longest long-poll wait the wallet asks for, in seconds.
pub const MAX_WAIT_SECS: u32 = 30;

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
    /// The identifier the user types on the login page (ADR 0002): the national id
    /// (`8` + RPPS) for a practitioner; for an insured citizen an identifier of their own that
    /// their QR code never shows. `None` for an account enrolled with a server older than the
    /// browser login.
    #[serde(default)]
    pub login_id: Option<String>,
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

/// A Vistalid wallet stored in one directory.
pub struct Wallet {
    dir: PathBuf,
    keystore: Arc<dyn PlatformKeystore>,
    config: WalletConfig,
    clock: Arc<dyn Clock>,
    transport: Arc<dyn Transport>,
    vault: Mutex<Option<Arc<Vault>>>,
    pending: Mutex<HashMap<String, Challenge>>,
    /// Scan mode: the scanned secret of each scan-mode challenge, by challenge id.
    scanned: Mutex<HashMap<String, crate::scan::ScanSecret>>,
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
            scanned: Mutex::new(HashMap::new()),
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
        // Only the accounts whose PIN tier the vault holds (a record left by a kill in the
        // middle of an enrolment is not an account).
        let held = vault.account_ids()?;
        Ok(read_state(&vault)?
            .accounts
            .into_iter()
            .filter(|a| held.contains(&a.info.account_id))
            .map(|a| a.info)
            .collect())
    }

    /// Wrong-PIN tries left before lockout.
    pub fn attempts_left(&self) -> Result<u32, WalletError> {
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        Ok(vault.attempts_left()?)
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
            let mut account = account;
            let mut tried = HashSet::new();
            for token in tokens {
                let verified = match self.challenge_key(&mut account, &token, &mut tried).await {
                    Ok(server_key) => challenge::verify_challenge(
                        &token,
                        &server_key,
                        &account.info.account_id,
                        &account.info.device_id,
                        &answered,
                        self.clock.now(),
                    ),
                    Err(reason) => Err(reason),
                };
                match verified {
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

    /// Changes the PIN. The old PIN counts as a try; the new one must meet the policy. Every
    /// account's server takes part (it evaluates the old and the new PIN's guesses), so the
    /// change needs them all reachable; otherwise nothing changes.
    pub async fn change_pin(&self, old: Pin, new: Pin) -> Result<(), WalletError> {
        let vault = self.vault().ok_or(WalletError::NotEnrolled)?;
        let state = read_state(&vault)?;
        let ids = vault.account_ids()?;
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let guard = self.guard(&state, &ids)?;
        blocking(move || Ok(vault.change_pin(&old, &new, &guard)?)).await
    }

    /// Erases the wallet: the push token at every account's server (best effort, so the
    /// phone is no longer woken), the accounts' hardware keys (best effort), the platform
    /// key (crypto-erase), then the files. Pending challenges are forgotten.
    pub async fn wipe(&self) -> Result<(), WalletError> {
        // Offline: the token stays at the server until the device is revoked or the push
        // service answers it unregistered; the wipe goes on either way.
        let _offline_is_fine = self.unregister_push_token().await;
        let taken = self
            .vault
            .lock()
            .map_err(|_| WalletError::Internal("lock"))?
            .take();
        if let Some(vault) = taken {
            // The device tier names the hardware keys; read it before the files go.
            let aliases: Vec<String> = read_state(&vault)
                .map(|s| {
                    s.accounts
                        .into_iter()
                        .filter_map(|a| a.hardware_key)
                        .collect()
                })
                .unwrap_or_default();
            let vault = Arc::try_unwrap(vault)
                .map_err(|_| WalletError::Internal("vault busy: retry the wipe"))?;
            let keystore = Arc::clone(&self.keystore);
            blocking(move || {
                hardware::delete_hardware_keys(&*keystore, &aliases);
                Ok(vault.wipe()?)
            })
            .await?;
        }
        self.pending
            .lock()
            .map_err(|_| WalletError::Internal("lock"))?
            .clear();
        self.scanned
            .lock()
            .map_err(|_| WalletError::Internal("lock"))?
            .clear();
        Ok(())
    }

    fn vault(&self) -> Option<Arc<Vault>> {
        self.vault.lock().ok().and_then(|v| v.clone())
    }

    /// Opens account `account_id`'s PIN tier: a counted try, checked with its server.
    async fn unlock(
        &self,
        vault: &Arc<Vault>,
        account_id: &str,
        pin: Pin,
    ) -> Result<Unlocked, WalletError> {
        let state = read_state(vault)?;
        let guard = self.guard(&state, &[account_id])?;
        let vault = vault.clone();
        let id = account_id.to_owned();
        blocking(move || Ok(vault.unlock(&id, &pin, &guard)?)).await
    }

    /// The PIN guard of `accounts`, each over its server with its device-tier key.
    fn guard(&self, state: &DeviceState, accounts: &[&str]) -> Result<HttpGuard, WalletError> {
        let mut targets = Vec::with_capacity(accounts.len());
        for id in accounts {
            let record = state.account(id).ok_or(WalletError::NoSuchAccount)?;
            targets.push(Target {
                account_id: (*id).to_owned(),
                device_id: record.info.device_id.clone(),
                client: self.client(&record.info.server_url)?,
                unlock_key: state.unlock_key(id)?,
            });
        }
        HttpGuard::new(self.clock.clone(), targets)
    }

    /// Creates the vault (no account yet) and keeps its handle.
    async fn create_vault(&self) -> Result<Arc<Vault>, WalletError> {
        let dir = self.dir.clone();
        let keystore = self.keystore.clone();
        let config = self.config.vault.clone();
        let clock = self.clock.clone();
        let vault = blocking(move || {
            Ok(Arc::new(
                Vault::create(&dir, keystore, config)?.with_clock(clock),
            ))
        })
        .await?;
        *self
            .vault
            .lock()
            .map_err(|_| WalletError::Internal("lock"))? = Some(vault.clone());
        Ok(vault)
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

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hardware;
