// SPDX-License-Identifier: Apache-2.0
//! The deployment's attestation policy, read from a JSON file: which platforms, what their
//! attestations must show, the trust anchors and revocation list (files, never embedded),
//! whether unattested (software) keystores may enrol, and stricter requirements per relying
//! party.
//!
//! The file (every key optional; relative paths are taken from the file's directory):
//!
//! ```json
//! {
//!   "android": {
//!     "roots": "google-roots.json",
//!     "apps": [{"package_name": "fr.example.wallet", "signing_cert_digests": ["<SHA-256 hex>"]}],
//!     "require_strongbox": false, "require_verified_boot": true, "require_device_locked": true,
//!     "min_os_patch_level": 202501
//!   },
//!   "apple": {"root": "apple-app-attestation-root.pem",
//!             "app_ids": ["TEAMID1234.fr.example.wallet"], "environment": "production"},
//!   "revocation_list": "revocation-status.json", "revocation_check_secs": 60,
//!   "allow_software_keystores": false,
//!   "clients": {"<client id>": {"require_attestation": true, "require_strongbox": true,
//!               "require_verified_boot": true, "min_os_patch_level": 202506,
//!               "platforms": ["android"]}}
//! }
//! ```
//!
//! Guarantees:
//! - A platform whose section is absent accepts no attestation (its evidence is refused as
//!   [`super::AttestationError::PlatformNotAccepted`]); a present section must name its trust anchors
//!   and at least one app. Android `roots` may be Google's `roots.json` (a JSON array of PEM
//!   certificates) or PEM; Apple `root` is PEM.
//! - `allow_software_keystores` absent means "only when the server's public URL is on
//!   loopback" (development and tests): a deployment never lets unattested keystores in by
//!   leaving a key out.
//! - Unknown keys are refused (a typo never weakens the policy); every error names the key or
//!   the file.
//! - The revocation list, when configured, is a [`RevocationSource`] the server re-reads on
//!   SIGHUP and whenever its modification time changes (checked every
//!   `revocation_check_secs`, default 60).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use super::anchors::TrustAnchors;
use super::android::{AndroidApp, AndroidPolicy};
use super::apple::{AppAttestEnvironment, ApplePolicy};
use super::evidence::HardwareKeyRecord;
use super::revocation::RevocationSource;
use super::{Platform, SecurityLevel, VerifiedBootState};

/// Default seconds between two checks of the revocation list's modification time.
pub const DEFAULT_REVOCATION_CHECK_SECS: u64 = 60;

/// Why the policy file could not be used; the text names the file or the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attestation policy: {0}")]
pub struct PolicyError(pub String);

/// The Android section: trust anchors and what a chain must show.
#[derive(Debug)]
pub(crate) struct AndroidSetup {
    pub(crate) policy: AndroidPolicy,
    pub(crate) roots: TrustAnchors,
}

/// The Apple section: Apple's App Attestation root and what an object must show.
#[derive(Debug)]
pub(crate) struct AppleSetup {
    pub(crate) policy: ApplePolicy,
    pub(crate) root: TrustAnchors,
}

/// What a relying party requires of the device that approves its logins, beyond the
/// deployment's enrolment policy. Checked on the device's stored attestation when a login is
/// queued: devices that fall short get no challenge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRequirements {
    /// Only devices with an attested hardware key (no software keystores).
    #[serde(default)]
    pub require_attestation: bool,
    /// Only Android StrongBox keys or Apple Secure Enclave keys (no TEE keys).
    #[serde(default)]
    pub require_strongbox: bool,
    /// Only Android devices whose boot state was VERIFIED and bootloader locked.
    #[serde(default)]
    pub require_verified_boot: bool,
    /// Lowest Android OS patch level, `YYYYMM`.
    #[serde(default)]
    pub min_os_patch_level: Option<u32>,
    /// Only these platforms (`"android"`, `"apple"`); absent: both.
    #[serde(default)]
    pub platforms: Option<Vec<PlatformName>>,
}

/// A platform as the policy file names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformName {
    /// Android Key Attestation.
    Android,
    /// Apple App Attest.
    Apple,
}

impl ClientRequirements {
    /// Whether a device whose hardware key is `key` (`None`: an unattested software keystore)
    /// meets these requirements.
    pub fn accepts(&self, key: Option<&HardwareKeyRecord>) -> bool {
        let Some(key) = key else {
            return !self.require_attestation
                && !self.require_strongbox
                && !self.require_verified_boot
                && self.min_os_patch_level.is_none()
                && self.platforms.is_none();
        };
        let key = &key.attested;
        let name = match key.platform {
            Platform::Android => PlatformName::Android,
            Platform::Apple => PlatformName::Apple,
        };
        if self.platforms.as_ref().is_some_and(|p| !p.contains(&name)) {
            return false;
        }
        if self.require_strongbox && key.security_level == SecurityLevel::TrustedEnvironment {
            return false;
        }
        if key.platform == Platform::Android {
            let verified = key.boot_state == Some(VerifiedBootState::Verified)
                && key.device_locked == Some(true);
            if self.require_verified_boot && !verified {
                return false;
            }
            if let Some(floor) = self.min_os_patch_level {
                if key.os_patch_level.is_none_or(|level| level < floor) {
                    return false;
                }
            }
        }
        true
    }
}

/// The deployment's attestation policy (see the module docs). [`AttestationPolicy::default`]
/// accepts no attestation and lets software keystores in only on a loopback server.
#[derive(Debug, Default)]
pub struct AttestationPolicy {
    pub(crate) android: Option<AndroidSetup>,
    pub(crate) apple: Option<AppleSetup>,
    revocations: Option<Arc<RevocationSource>>,
    revocation_check_secs: u64,
    allow_software: Option<bool>,
    clients: BTreeMap<String, ClientRequirements>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    android: Option<AndroidSection>,
    apple: Option<AppleSection>,
    revocation_list: Option<PathBuf>,
    revocation_check_secs: Option<u64>,
    allow_software_keystores: Option<bool>,
    #[serde(default)]
    clients: BTreeMap<String, ClientRequirements>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AndroidSection {
    roots: PathBuf,
    apps: Vec<AppSection>,
    #[serde(default)]
    require_strongbox: bool,
    #[serde(default = "yes")]
    require_verified_boot: bool,
    #[serde(default = "yes")]
    require_device_locked: bool,
    min_os_patch_level: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppSection {
    package_name: String,
    signing_cert_digests: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppleSection {
    root: PathBuf,
    app_ids: Vec<String>,
    environment: EnvironmentName,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum EnvironmentName {
    Development,
    Production,
}

fn yes() -> bool {
    true
}

impl AttestationPolicy {
    /// Reads the policy file at `path` and the files it names.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PolicyError(format!("cannot read {}: {}", path.display(), e.kind())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_json(&text, base)
    }

    /// Parses policy JSON whose relative paths are taken from `base`.
    pub fn from_json(json: &str, base: &Path) -> Result<Self, PolicyError> {
        let file: PolicyFile =
            serde_json::from_str(json).map_err(|e| PolicyError(format!("bad policy JSON: {e}")))?;
        let resolve = |p: &Path| base.join(p);
        let android = file
            .android
            .map(|a| android_setup(a, &resolve))
            .transpose()?;
        let apple = file.apple.map(|a| apple_setup(a, &resolve)).transpose()?;
        let revocations = file
            .revocation_list
            .map(|p| {
                let path = resolve(&p);
                RevocationSource::load(&path)
                    .map(Arc::new)
                    .map_err(|e| PolicyError(format!("{}: {e}", path.display())))
            })
            .transpose()?;
        let revocation_check_secs = file
            .revocation_check_secs
            .unwrap_or(DEFAULT_REVOCATION_CHECK_SECS);
        if revocation_check_secs == 0 {
            return Err(PolicyError(
                "revocation_check_secs must be at least 1".into(),
            ));
        }
        Ok(Self {
            android,
            apple,
            revocations,
            revocation_check_secs,
            allow_software: file.allow_software_keystores,
            clients: file.clients,
        })
    }

    /// Whether unattested (software) keystores may enrol on a server whose public URL is on
    /// loopback (`issuer_is_loopback`) or not.
    pub fn software_allowed(&self, issuer_is_loopback: bool) -> bool {
        self.allow_software.unwrap_or(issuer_is_loopback)
    }

    /// The revocation list, when one is configured.
    pub fn revocations(&self) -> Option<&Arc<RevocationSource>> {
        self.revocations.as_ref()
    }

    /// Seconds between two checks of the revocation list's modification time.
    pub fn revocation_check_secs(&self) -> u64 {
        self.revocation_check_secs.max(1)
    }

    /// What relying party `client_id` requires of its users' devices (nothing extra when the
    /// file names no requirements for it).
    pub fn client_requirements(&self, client_id: &str) -> ClientRequirements {
        self.clients.get(client_id).cloned().unwrap_or_default()
    }

    /// Whether the policy accepts `platform`'s attestations at all.
    pub fn accepts_platform(&self, platform: Platform) -> bool {
        match platform {
            Platform::Android => self.android.is_some(),
            Platform::Apple => self.apple.is_some(),
        }
    }
}

fn android_setup(
    a: AndroidSection,
    resolve: &dyn Fn(&Path) -> PathBuf,
) -> Result<AndroidSetup, PolicyError> {
    let path = resolve(&a.roots);
    let text = read(&path)?;
    let roots = if text.trim_start().starts_with('[') {
        TrustAnchors::from_roots_json(&text)
    } else {
        TrustAnchors::from_pem(&text)
    }
    .map_err(|e| PolicyError(format!("{}: {e}", path.display())))?;
    if a.apps.is_empty() {
        return Err(PolicyError("android.apps names no app".into()));
    }
    let mut apps = Vec::with_capacity(a.apps.len());
    for app in a.apps {
        let digests = app
            .signing_cert_digests
            .iter()
            .map(|d| parse_digest(d))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                PolicyError("android.apps: a signing_cert_digests entry is not SHA-256 hex".into())
            })?;
        if app.package_name.is_empty() || digests.is_empty() {
            return Err(PolicyError(
                "android.apps: each app needs a package_name and a digest".into(),
            ));
        }
        apps.push(AndroidApp {
            package_name: app.package_name,
            signing_cert_digests: digests,
        });
    }
    let policy = AndroidPolicy {
        require_strongbox: a.require_strongbox,
        require_verified_boot: a.require_verified_boot,
        require_device_locked: a.require_device_locked,
        allowed_apps: apps,
        min_os_patch_level: a.min_os_patch_level,
    };
    Ok(AndroidSetup { policy, roots })
}

fn apple_setup(
    a: AppleSection,
    resolve: &dyn Fn(&Path) -> PathBuf,
) -> Result<AppleSetup, PolicyError> {
    let path = resolve(&a.root);
    let root = TrustAnchors::from_pem(&read(&path)?)
        .map_err(|e| PolicyError(format!("{}: {e}", path.display())))?;
    let well_formed = |id: &String| {
        id.split_once('.')
            .is_some_and(|(team, bundle)| !team.is_empty() && !bundle.is_empty())
    };
    if a.app_ids.is_empty() || !a.app_ids.iter().all(well_formed) {
        return Err(PolicyError(
            "apple.app_ids must name apps as TEAMID.bundle.id".into(),
        ));
    }
    let environment = match a.environment {
        EnvironmentName::Development => AppAttestEnvironment::Development,
        EnvironmentName::Production => AppAttestEnvironment::Production,
    };
    let policy = ApplePolicy {
        app_ids: a.app_ids,
        environment,
    };
    Ok(AppleSetup { policy, root })
}

fn read(path: &Path) -> Result<String, PolicyError> {
    std::fs::read_to_string(path)
        .map_err(|e| PolicyError(format!("cannot read {}: {}", path.display(), e.kind())))
}

/// A SHA-256 digest written as 64 hex digits, colons allowed between bytes (as `apksigner`
/// and `keytool` print them).
fn parse_digest(text: &str) -> Option<Vec<u8>> {
    let hex: Vec<u8> = text.bytes().filter(|b| *b != b':').collect();
    if hex.len() != 64 {
        return None;
    }
    hex.chunks(2)
        .map(|pair| {
            let digit = |b: u8| char::from(b).to_digit(16);
            u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_hex_with_optional_colons() {
        let plain = "5a".repeat(32);
        assert_eq!(parse_digest(&plain), Some(vec![0x5a; 32]));
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_digest(&colons), Some(vec![0xab; 32]));
        assert_eq!(parse_digest("5a5a"), None);
        assert_eq!(parse_digest(&"zz".repeat(32)), None);
    }

    #[test]
    fn the_default_lets_software_in_on_loopback_only_and_accepts_no_platform() {
        let p = AttestationPolicy::default();
        assert!(p.software_allowed(true));
        assert!(!p.software_allowed(false));
        assert!(!p.accepts_platform(Platform::Android));
        assert!(!p.accepts_platform(Platform::Apple));
        let explicit =
            AttestationPolicy::from_json(r#"{"allow_software_keystores": false}"#, Path::new("."))
                .expect("policy");
        assert!(!explicit.software_allowed(true));
    }

    #[test]
    fn typos_missing_files_and_empty_sections_are_refused_by_name() {
        let err = |json: &str| {
            AttestationPolicy::from_json(json, Path::new("/nonexistent"))
                .expect_err("refused")
                .0
        };
        assert!(err(r#"{"allow_software_keystore": true}"#).contains("unknown field"));
        assert!(err(r#"{"android": {"roots": "r.json", "apps": []}}"#).contains("r.json"));
        assert!(err(r#"{"revocation_list": "status.json"}"#).contains("status.json"));
        assert!(err(r#"{"revocation_check_secs": 0}"#).contains("revocation_check_secs"));
        assert!(err(r#"{"clients": {"rp": {"require_strongbx": true}}}"#).contains("unknown"));
    }
}
