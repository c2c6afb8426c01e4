// SPDX-License-Identifier: Apache-2.0
//! Administration: relying parties, accounts with their activation codes, devices (with
//! what their attestation showed), and the counts of attestation refusals.
//!
//! Guarantees: names shown to people are display-safe (`vistalid_core::text`). Client
//! secrets and activation codes are returned once, in [`Zeroizing`]
//! strings, and only their SHA-256 hashes are stored. An activation code is
//! `XXXX-XXXX-XXXX` in Crockford base32: the first 4 characters (20 bits, not secret) find
//! the code, the last 8 (40 bits) are the secret; it is valid `activation_ttl_secs`, dies
//! after `activation_tries` wrong tries and works once. Issuing a new code for an account
//! kills its previous unused codes.
//!
//! The methods are synchronous: each is one short SQLite transaction (under a millisecond)
//! and blocks the calling thread until it is committed, so they suit tests, the CLI and
//! admin tools. From async server code, call them inside `spawn_blocking`.

use std::sync::Arc;

use vistalid_core::keys::PublicKey;
use vistalid_core::protocol::{AccountKind, CodeMode, Identity, KeyStorage};
use vistalid_core::qr::presentation::MAX_AUDIENCE_LEN;
use zeroize::Zeroizing;

use crate::attestation::{DeviceAttestation, HardwareKeyRecord};
use crate::domain::activation::NewCode;
use crate::domain::{secs, Stored as _};
use crate::error::ServerError;
use crate::keyring::Purpose as KeyPurpose;
use crate::secrets;
use crate::state::Shared;
use crate::store::{
    Added, ClientRecord, CodeIssue, DeviceRecord, NewAccount, NewClient, Revocation, StoreError,
};

/// Fresh codes drawn per issue: the first whose lookup is free is stored (a collision needs
/// a live code with the same 20-bit lookup).
const CODE_DRAWS: usize = 32;

/// A device as the admin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Device id.
    pub device_id: String,
    /// Account id.
    pub account_id: String,
    /// The account's RPPS number or pseudonymous id.
    pub subject_name_id: String,
    /// Name the wallet gave.
    pub name: String,
    /// Key id (RFC 7638 thumbprint) of the device key.
    pub key_thumbprint: String,
    /// Enrolment time, seconds since the epoch.
    pub created_at: i64,
    /// Revocation time, if revoked.
    pub revoked_at: Option<i64>,
    /// PIN guesses the device's guard still allows before it erases its key (0: erased, the
    /// device's vault is gone); `None` for a device enrolled without a guard.
    pub guesses_left: Option<u32>,
    /// Where its keystore keeps its key, as the wallet reported it at enrolment (not proof).
    pub key_storage: KeyStorage,
    /// What its verified attestation showed (ADR 0001), if it enrolled with one: only such a
    /// device co-signs its approvals with a hardware key, and only its logins say `hwk`.
    pub attestation: Option<DeviceAttestation>,
    /// The attestation in one line (`android_key tee fr.example.app boot=verified locked
    /// patch=202511`), or `unattested`.
    pub attestation_text: String,
}

/// The count of one kind of attestation refusal, as the admin sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalInfo {
    /// Where: `enrolment`, `answer` or `login`.
    pub stage: &'static str,
    /// `attestation_required` or `attestation_invalid`.
    pub code: &'static str,
    /// The check that failed (`missing`, `challenge_mismatch`, `security_level`, ...).
    pub reason: String,
    /// How many.
    pub count: i64,
    /// The last one's time, seconds since the epoch.
    pub last_at: i64,
}

/// Administration handle (cheap to clone).
#[derive(Clone)]
pub struct Admin {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("db", &self.shared.store.describe())
            .finish()
    }
}

/// Names shown to people (client names in challenges, account names, audiences): not blank,
/// at most `max` characters, and display-safe (`vistalid_core::text`: no control, format,
/// bidirectional control, line or paragraph separator).
fn check_field(name: &str, v: &str, max: usize) -> Result<(), ServerError> {
    if v.trim().is_empty() || v.chars().count() > max || !vistalid_core::text::is_display_safe(v) {
        return Err(ServerError::InvalidInput(format!(
            "{name} must be 1 to {max} characters, without control, format or line-separator \
             characters"
        )));
    }
    Ok(())
}

/// Longest redirect URI registered (bytes).
const MAX_REDIRECT_URI: usize = 512;

/// How a relying party is registered: its *code dynamique* mode, for professionals who
/// redeem QR codes the audience their patients address them to, and for the browser login
/// its redirect URIs and userinfo format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    mode: CodeMode,
    audience: Option<String>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    userinfo_signed: bool,
    scan_login: bool,
    no_offline_code: bool,
}

impl ClientOptions {
    /// Options with `mode`, no audience (the client redeems only QR codes that name no
    /// audience), no redirect URI (no browser login) and plain JSON userinfo.
    pub fn new(mode: CodeMode) -> Self {
        Self {
            mode,
            audience: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            userinfo_signed: false,
            scan_login: false,
            no_offline_code: false,
        }
    }

    /// The client refuses the offline code (issue 16): its users log in with the phone's
    /// approval only, and an SSO session opened by the offline code does not answer it.
    pub fn no_offline_code(mut self, refuses: bool) -> Self {
        self.no_offline_code = refuses;
        self
    }

    /// Registers `audience`: the client then redeems only QR codes addressed to exactly this
    /// text (1 to 64 bytes, display-safe), as the insured's wallet writes it.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Registers a `redirect_uri` for the browser login (repeatable; matched exactly): an
    /// absolute `https` URL, or `http` on a loopback host, without a fragment, at most 512
    /// bytes.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Registers a `post_logout_redirect_uri` (repeatable; matched exactly; same rules as
    /// [`Self::redirect_uri`]).
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uris.push(uri.into());
        self
    }

    /// Userinfo answers this client with an ES256-signed JWT
    /// (`userinfo_signed_response_alg=ES256`) instead of JSON.
    pub fn userinfo_signed(mut self, signed: bool) -> Self {
        self.userinfo_signed = signed;
        self
    }

    /// Scan mode (issue 16): this client's browser logins show a QR code that the phone
    /// must scan; an answer without the code's MAC is refused (`add-client --login-mode
    /// scan`).
    pub fn scan_login(mut self, scan: bool) -> Self {
        self.scan_login = scan;
        self
    }
}

/// Checks a redirect URI to register (see [`ClientOptions::redirect_uri`]).
fn check_redirect_uri(name: &str, uri: &str) -> Result<(), ServerError> {
    let bad = || {
        ServerError::InvalidInput(format!(
            "{name} must be an absolute https URL (http only on a loopback host), without a \
             fragment, at most {MAX_REDIRECT_URI} bytes"
        ))
    };
    if uri.len() > MAX_REDIRECT_URI || uri.contains('#') {
        return Err(bad());
    }
    let url = url::Url::parse(uri).map_err(|_| bad())?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(bad()),
    }
}

/// The account an admin argument names: an 11-digit RPPS number stands for its national id.
fn account_name(account: &str) -> String {
    crate::domain::identifier::national_id(account).unwrap_or_else(|| account.to_owned())
}

impl Admin {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Registers a relying party with its *code dynamique* mode and no QR audience; returns
    /// `(client_id, client_secret)`. The secret (256 random bits) is shown only here.
    pub fn add_client(
        &self,
        name: &str,
        mode: CodeMode,
    ) -> Result<(String, Zeroizing<String>), ServerError> {
        self.add_client_with(name, &ClientOptions::new(mode))
    }

    /// Registers a relying party with `options` (mode, optional QR audience); returns
    /// `(client_id, client_secret)`. The secret (256 random bits) is shown only here.
    pub fn add_client_with(
        &self,
        name: &str,
        options: &ClientOptions,
    ) -> Result<(String, Zeroizing<String>), ServerError> {
        check_field("client name", name, 100)?;
        if let Some(a) = &options.audience {
            check_field("audience", a, MAX_AUDIENCE_LEN)?;
            if a.len() > MAX_AUDIENCE_LEN {
                return Err(ServerError::InvalidInput(format!(
                    "audience must be at most {MAX_AUDIENCE_LEN} bytes"
                )));
            }
        }
        for uri in &options.redirect_uris {
            check_redirect_uri("redirect URI", uri)?;
        }
        for uri in &options.post_logout_redirect_uris {
            check_redirect_uri("post-logout redirect URI", uri)?;
        }
        let client_id = secrets::make_id()?;
        let secret = Zeroizing::new(secrets::make_token()?);
        self.shared.store.clients().add(NewClient {
            record: ClientRecord {
                client_id: client_id.clone(),
                name: name.to_owned(),
                secret_hash: secrets::hash(secret.as_bytes()),
                mode: options.mode,
                audience: options.audience.clone(),
                redirect_uris: options.redirect_uris.clone(),
                post_logout_redirect_uris: options.post_logout_redirect_uris.clone(),
                userinfo_signed: options.userinfo_signed,
                scan_login: options.scan_login,
            },
            created_at: self.shared.clock.now(),
        })?;
        if options.no_offline_code {
            self.shared
                .store
                .offline()
                .set_client_refuses(&client_id, true)?;
        }
        tracing::info!(%client_id, "client registered");
        Ok((client_id, secret))
    }

    /// Re-seals every offline-code secret that is not under the current key (the first of
    /// `offline_code_keys`) with it: `(moved, already current)`. A secret under a key that is
    /// no longer configured cannot be opened and is an error naming its device (nothing is
    /// lost: the others are moved, and that one waits for its key to come back).
    pub fn reseal_offline_secrets(&self) -> Result<(usize, usize), ServerError> {
        let keys = &self.shared.config.offline_code_keys;
        let current = keys
            .current_id()
            .ok_or_else(|| ServerError::InvalidInput("no offline_code_keys configured".into()))?
            .to_owned();
        let store = &self.shared.store;
        let all = store.offline().all()?;
        let (mut moved, mut kept) = (0, 0);
        for row in all {
            if row.key_id == current {
                kept += 1;
                continue;
            }
            let secret = keys
                .open(&row.key_id, &row.device_id, &row.sealed)
                .ok_or_else(|| {
                    ServerError::InvalidInput(format!(
                        "device {}: its offline secret is sealed under key {}, which is not configured",
                        row.device_id, row.key_id
                    ))
                })?;
            let (key_id, sealed) = keys
                .seal(&row.device_id, &secret)
                .map_err(|e| ServerError::InvalidInput(e.to_string()))?;
            let new = crate::store::offline::NewOfflineSecret { key_id, sealed };
            if store.offline().reseal(&row.device_id, &row.key_id, new)? {
                moved += 1;
            }
        }
        Ok((moved, kept))
    }

    /// Gives a client a new secret (shown only here); the old one stops working at once in
    /// this server, and within `client_cache_secs` in other servers on the same database.
    pub fn rotate_secret(&self, client_id: &str) -> Result<Zeroizing<String>, ServerError> {
        let secret = Zeroizing::new(secrets::make_token()?);
        let hash = secrets::hash(secret.as_bytes());
        let changed = self.shared.store.clients().set_secret(client_id, hash)?;
        self.shared.clients.forget(client_id);
        if !changed {
            return Err(ServerError::NotFound("client"));
        }
        tracing::info!(%client_id, "client secret rotated");
        Ok(secret)
    }

    /// Removes a client: its secret stops working at once in this server, and within
    /// `client_cache_secs` in other servers on the same database. Its pending login requests
    /// can no longer be redeemed (the token endpoint needs the client).
    pub fn remove_client(&self, client_id: &str) -> Result<(), ServerError> {
        let removed = self.shared.store.clients().remove(client_id)?;
        self.shared.clients.forget(client_id);
        if !removed {
            return Err(ServerError::NotFound("client"));
        }
        tracing::info!(%client_id, "client removed");
        Ok(())
    }

    /// Ends the login guard's holds on an account (by RPPS number, pseudonymous id or account
    /// id): the "not me" hold and the wrong-pick back-off, e.g. after support has checked
    /// that the user pressed "not me" by mistake.
    pub fn clear_login_hold(&self, account: &str) -> Result<(), ServerError> {
        if !self
            .shared
            .store
            .accounts()
            .clear_holds(&account_name(account))?
        {
            return Err(ServerError::NotFound("account"));
        }
        Ok(())
    }

    /// Creates a practitioner account (RPPS number, names, profession code such as `10`
    /// doctor) and returns its first activation code. Its `SubjectNameID` and login
    /// identifier are the national id, `8` + the RPPS number.
    pub fn add_practitioner(
        &self,
        rpps: &str,
        given_name: &str,
        family_name: &str,
        profession: &str,
    ) -> Result<Zeroizing<String>, ServerError> {
        let national = crate::domain::identifier::national_id(rpps)
            .ok_or_else(|| ServerError::InvalidInput("the RPPS number must be 11 digits".into()))?;
        check_field("profession", profession, 10)?;
        self.add_account(
            AccountKind::Practitioner,
            (&national, &national),
            given_name,
            family_name,
            Some(profession),
        )
    }

    /// Creates an insured account (pseudonymous id, names) and returns its first activation
    /// code.
    pub fn add_insured(
        &self,
        pseudonymous_id: &str,
        given_name: &str,
        family_name: &str,
    ) -> Result<Zeroizing<String>, ServerError> {
        check_field("pseudonymous id", pseudonymous_id, 64)?;
        let login_id = crate::domain::identifier::make_insured()?;
        self.add_account(
            AccountKind::Insured,
            (pseudonymous_id, &login_id),
            given_name,
            family_name,
            None,
        )
    }

    /// The login identifier of an account (by national id or RPPS number, pseudonymous id,
    /// login identifier or account id): what its user types on the login page, given to the
    /// wallet at enrolment.
    pub fn login_id(&self, account: &str) -> Result<String, ServerError> {
        self.shared
            .store
            .accounts()
            .login_id(&account_name(account))?
            .ok_or(ServerError::NotFound("account"))
    }

    /// Creates an account named `(SubjectNameID, login identifier)`.
    fn add_account(
        &self,
        kind: AccountKind,
        (subject, login_id): (&str, &str),
        given_name: &str,
        family_name: &str,
        profession: Option<&str>,
    ) -> Result<Zeroizing<String>, ServerError> {
        check_field("given name", given_name, 100)?;
        check_field("family name", family_name, 100)?;
        let account = NewAccount {
            id: secrets::make_id()?,
            kind,
            identity: Identity {
                subject_name_id: subject.to_owned(),
                given_name: given_name.to_owned(),
                family_name: family_name.to_owned(),
                profession: profession.map(str::to_owned),
            },
            login_id: login_id.to_owned(),
            created_at: self.shared.clock.now(),
        };
        let (mut codes, issue) = self.draw_codes()?;
        match self.shared.store.accounts().add(account, issue)? {
            Added::Created { code } => Ok(codes.swap_remove(code).text),
            Added::Duplicate => Err(ServerError::DuplicateAccount),
        }
    }

    /// Issues a new activation code for an existing account (by RPPS number, pseudonymous
    /// id or account id), e.g. after a revocation or a dead code; earlier unused codes die.
    pub fn new_activation_code(&self, account: &str) -> Result<Zeroizing<String>, ServerError> {
        let (mut codes, issue) = self.draw_codes()?;
        match self
            .shared
            .store
            .codes()
            .issue(&account_name(account), issue)?
        {
            Some(code) => Ok(codes.swap_remove(code).text),
            None => Err(ServerError::NotFound("account")),
        }
    }

    /// Devices of an account (by RPPS number, pseudonymous id or account id), revoked ones
    /// included, oldest first.
    pub fn list_devices(&self, account: &str) -> Result<Vec<DeviceInfo>, ServerError> {
        self.shared
            .store
            .accounts()
            .devices(&account_name(account))?
            .into_iter()
            .map(device_info)
            .collect()
    }

    /// The counts of attestation refusals (ADR 0001) since the database was created, by
    /// stage, code and failed check.
    pub fn attestation_refusals(&self) -> Result<Vec<RefusalInfo>, ServerError> {
        let tallies = self.shared.store.refusals().tallies()?;
        Ok(tallies
            .into_iter()
            .map(|t| RefusalInfo {
                stage: t.stage.as_stored(),
                code: t.code.as_str(),
                reason: t.reason,
                count: t.count,
                last_at: t.last_at,
            })
            .collect())
    }

    /// Revokes a device: its poll token and its answers stop working at once, and its
    /// pending challenges are closed. Returns `false` if it was already revoked.
    pub fn revoke_device(&self, device_id: &str) -> Result<bool, ServerError> {
        let now = self.shared.clock.now();
        match self.shared.store.accounts().revoke_device(device_id, now)? {
            Revocation::Revoked => {
                tracing::info!(%device_id, "device revoked");
                Ok(true)
            }
            Revocation::AlreadyRevoked => Ok(false),
            Revocation::Unknown => Err(ServerError::NotFound("device")),
        }
    }

    /// Counts of "not me" reports and wrong codes on an account (for monitoring).
    pub fn account_alerts(&self, account: &str) -> Result<(u32, u32), ServerError> {
        let alerts = self
            .shared
            .store
            .accounts()
            .alerts(&account_name(account))?
            .ok_or(ServerError::NotFound("account"))?;
        Ok((alerts.fraud_reports, alerts.wrong_codes))
    }

    /// Fresh activation codes and the issue that stores the first free one, valid
    /// `activation_ttl_secs` for `activation_tries` wrong tries.
    fn draw_codes(&self) -> Result<(Vec<NewCode>, CodeIssue), ServerError> {
        let codes = (0..CODE_DRAWS)
            .map(|_| NewCode::make())
            .collect::<Result<Vec<_>, _>>()?;
        let c = &self.shared.config;
        let now = self.shared.clock.now();
        let issue = CodeIssue {
            candidates: codes.iter().map(|c| c.key.clone()).collect(),
            now,
            expires_at: now.saturating_add(secs(c.activation_ttl_secs)),
            tries: c.activation_tries,
        };
        Ok((codes, issue))
    }
}

/// The admin's view of a stored device (its key's thumbprint computed here).
fn device_info(d: DeviceRecord) -> Result<DeviceInfo, ServerError> {
    let key = PublicKey::from_sec1(&d.public_key)
        .map_err(|_| StoreError::Corrupt("devices.public_key"))?;
    Ok(DeviceInfo {
        device_id: d.device_id,
        account_id: d.account_id,
        subject_name_id: d.subject_name_id,
        name: d.name,
        key_thumbprint: key.thumbprint(),
        created_at: d.created_at,
        revoked_at: d.revoked_at,
        guesses_left: d.guesses_left,
        key_storage: d.key_storage,
        attestation_text: d
            .hardware_key
            .as_ref()
            .map_or_else(|| "unattested".to_owned(), attestation_text),
        attestation: d.hardware_key.as_ref().map(|k| k.attested.clone()),
    })
}

/// One line for a hardware key: platform, level, app, then what Android attests.
fn attestation_text(k: &HardwareKeyRecord) -> String {
    let k = &k.attested;
    let mut out = format!(
        "{} {} {}",
        k.platform.as_stored(),
        k.security_level.as_stored(),
        k.app_id
    );
    if let Some(boot) = k.boot_state {
        out.push_str(&format!(" boot={}", boot.as_stored()));
    }
    match k.device_locked {
        Some(true) => out.push_str(" locked"),
        Some(false) => out.push_str(" unlocked"),
        None => {}
    }
    if let Some(patch) = k.os_patch_level {
        out.push_str(&format!(" patch={patch}"));
    }
    out
}

// ---- The signing keys and their rotation (issue 19, branch keys19). ----

/// One signing key as the admin sees it (no private part).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// What it signs.
    pub purpose: KeyPurpose,
    /// Its id (RFC 7638 thumbprint), the `kid` of everything it signs.
    pub kid: String,
    /// Published from then on (seconds since the epoch).
    pub published_at: i64,
    /// Signs from then on.
    pub active_at: i64,
    /// Signs no more from then on (`None`: current or waiting).
    pub retired_at: Option<i64>,
    /// Published until then (`None`: no end yet).
    pub expires_at: Option<i64>,
}

/// What [`Admin::rotate_key`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRotation {
    /// The purpose rotated.
    pub purpose: KeyPurpose,
    /// The key retired.
    pub old_kid: String,
    /// Its successor, published now.
    pub new_kid: String,
    /// The successor signs (and the old key stops) from then on.
    pub active_at: i64,
    /// The old key is published until then.
    pub old_expires_at: i64,
}

impl Admin {
    /// The default pre-publication of a rotation of `purpose`, in seconds: an hour for the
    /// ID-token key (relying parties' JWKS caches), a day for the QR issuer key (verifiers'
    /// key caches, refreshed daily), five minutes for the challenge key (wallets move by
    /// rollover statements; only the instances must have it).
    pub fn default_prepublish_secs(purpose: KeyPurpose) -> i64 {
        match purpose {
            KeyPurpose::IdToken => 3600,
            KeyPurpose::Challenge => 300,
            KeyPurpose::Issuer => 24 * 3600,
        }
    }

    /// The longest lifetime of what a `purpose` key signs, in seconds: the configured token
    /// lifetime (ID tokens, signed userinfo), challenge lifetime, or the credential validity.
    pub fn signed_lifetime_secs(&self, purpose: KeyPurpose) -> i64 {
        let c = &self.shared.config;
        let secs = match purpose {
            KeyPurpose::IdToken => c.token_ttl_secs.max(c.access_token_ttl_secs),
            KeyPurpose::Challenge => c.challenge_ttl_secs,
            KeyPurpose::Issuer => {
                u64::try_from(crate::credentials::VALIDITY_SECS).unwrap_or(u64::MAX)
            }
        };
        i64::try_from(secs).unwrap_or(i64::MAX)
    }

    /// Rotates the `purpose` key: a successor is published now and signs after
    /// `prepublish_secs` (at least `MIN_PREPUBLISH_SECS`); the old key then stops signing and
    /// stays published for [`Self::signed_lifetime_secs`] plus `EXPIRY_MARGIN_SECS`. Every
    /// instance on the database picks the successor up within a reload period.
    pub fn rotate_key(
        &self,
        purpose: KeyPurpose,
        prepublish_secs: i64,
    ) -> Result<KeyRotation, ServerError> {
        let s = &self.shared;
        let r = s.keys.rotate(
            &s.store,
            purpose,
            s.clock.now(),
            prepublish_secs,
            self.signed_lifetime_secs(purpose),
        )?;
        tracing::info!(purpose = ?r.purpose, old_kid = %r.old_kid, new_kid = %r.new_kid,
            published_at = r.published_at, active_at = r.active_at, "signing key rotated");
        Ok(KeyRotation {
            purpose: r.purpose,
            old_kid: r.old_kid,
            new_kid: r.new_kid,
            active_at: r.active_at,
            old_expires_at: r.old_expires_at,
        })
    }

    /// Every signing key, by purpose then age (re-read from the database).
    pub fn signing_keys(&self) -> Result<Vec<KeyInfo>, ServerError> {
        let s = &self.shared;
        s.keys.reload_blocking(&s.store)?;
        Ok(KeyPurpose::ALL
            .into_iter()
            .flat_map(|p| s.keys.all(p))
            .map(|k| KeyInfo {
                purpose: k.purpose,
                kid: k.kid.clone(),
                published_at: k.published_at,
                active_at: k.active_at,
                retired_at: k.retired_at,
                expires_at: k.expires_at,
            })
            .collect())
    }
}
