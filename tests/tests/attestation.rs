// SPDX-License-Identifier: Apache-2.0
//! Device attestation end to end over loopback (ADR 0001): the real server with an attestation
//! policy whose trust anchor is the test's own root, and real wallets whose keystore really
//! attests (`vistalid-attest-testkit`: Android chains with a KeyDescription for the wallet's
//! challenge, App Attest objects and assertions). Everything goes through the same `Wallet`
//! calls an app makes: enrol, fetch, approve.
//!
//! Checked: an attested enrolment and co-signed approvals are accepted (`amr` `hwk`); an
//! approval without the co-signature is refused; the wallet's files with their software key,
//! copied to a keystore without the hardware key, cannot approve; a repeated App Attest
//! counter is refused; a StrongBox-only policy refuses a TEE chain at enrolment; chains under
//! another root, for another app or from an unlocked phone, and App Attest keys of the other
//! environment are refused at enrolment without spending a try; an unattested wallet is
//! refused where software keystores are off.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::StatusCode;
use vistalid_attest_testkit::android::TEST_PACKAGE;
use vistalid_attest_testkit::{AndroidKeyOptions, AttestingKeystore, TestAttestationRoot};
use vistalid_core::challenge::ChallengeError;
use vistalid_core::keystore::{MemoryKeystore, PlatformKeystore, SoftwareKeystore};
use vistalid_core::protocol::{CibaResponse, CodeMode};
use vistalid_core::secret::Pin;
use vistalid_core::wallet::{AnswerOutcome, Wallet, WalletError};
use vistalid_e2e::{fast_config, Env, RelyingParty};

const PIN: &str = "204862";
const RPPS: &str = "10101010101";
const APPLE_APP: &str = "TEAM123456.fr.vistalid.test";

/// A server whose attestation policy trusts `root` for both platforms; `android_extra` and
/// `top_extra` are JSON members added to the Android section and the top level.
async fn server(root: &TestAttestationRoot, android_extra: &str, top_extra: &str) -> Env {
    let policy = format!(
        r#"{{"android": {{"roots": "roots.pem",
                       "apps": [{{"package_name": "{TEST_PACKAGE}",
                                  "signing_cert_digests": ["{}"]}}]{android_extra}}},
             "apple": {{"root": "roots.pem", "app_ids": ["{APPLE_APP}"],
                        "environment": "development"}},
             "allow_software_keystores": false{top_extra}}}"#,
        "5a".repeat(32)
    );
    Env::start_with(|config, dir| {
        std::fs::write(dir.join("roots.pem"), root.pem()).unwrap();
        std::fs::write(dir.join("policy.json"), policy).unwrap();
        config.attestation_policy = Some(dir.join("policy.json"));
        // Fewer tries than `bad_attestations_are_refused_at_enrolment_and_named` makes
        // refusals: a refusal that spent one would lock the code.
        config.activation_tries = 3;
    })
    .await
}

/// A phone: a wallet folder, the keystore's key file beside it, and the keystore.
struct Phone {
    wallet: Wallet,
    keystore: Arc<AttestingKeystore>,
    dir: tempfile::TempDir,
}

impl Phone {
    fn wallet_dir(dir: &Path) -> PathBuf {
        dir.join("wallet")
    }

    fn key_file(dir: &Path) -> PathBuf {
        dir.join("keystore.key")
    }

    fn new(make: impl FnOnce(Arc<dyn PlatformKeystore>) -> AttestingKeystore) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let prf: Arc<dyn PlatformKeystore> =
            Arc::new(SoftwareKeystore::open(Self::key_file(dir.path())));
        let keystore = Arc::new(make(prf));
        let wallet = Wallet::open(
            &Self::wallet_dir(dir.path()),
            keystore.clone(),
            fast_config(),
        )
        .unwrap();
        Phone {
            wallet,
            keystore,
            dir,
        }
    }

    fn android(root: &Arc<TestAttestationRoot>, options: AndroidKeyOptions) -> Phone {
        let root = root.clone();
        Self::new(|prf| AttestingKeystore::android(prf, root, options))
    }

    fn apple(root: &Arc<TestAttestationRoot>) -> Phone {
        let root = root.clone();
        Self::new(|prf| AttestingKeystore::apple(prf, root, APPLE_APP, false))
    }

    /// Approves the login `ciba` started (fetching its challenge first).
    async fn approve(&self, code: &str) -> Result<AnswerOutcome, WalletError> {
        approve_on(&self.wallet, code).await
    }
}

async fn approve_on(wallet: &Wallet, code: &str) -> Result<AnswerOutcome, WalletError> {
    let fetched = wallet.fetch_challenges(5).await.unwrap();
    // A login whose answer the server refused stays pending there; the wallet, which never
    // signs a challenge twice, sets it aside as replayed.
    assert!(
        fetched
            .rejected
            .iter()
            .all(|r| r.reason == ChallengeError::Replayed),
        "{:?}",
        fetched.rejected
    );
    assert_eq!(fetched.challenges.len(), 1, "one pending challenge");
    wallet
        .approve(&fetched.challenges[0].id, Pin::new(PIN), code)
        .await
}

async fn enrolled(env: &Env, rpps: &str, phone: &Phone) {
    let code = env.practitioner(rpps);
    phone
        .wallet
        .enrol(&env.url(), &code, Pin::new(PIN))
        .await
        .unwrap();
}

/// A server under the test policy (trusting a root of its own), a relying party, and a phone
/// (App Attest when `apple`, else an Android TEE key) enrolled with it as practitioner
/// [`RPPS`].
async fn enrolled_phone(apple: bool) -> (Env, RelyingParty, Phone) {
    let root = Arc::new(TestAttestationRoot::new());
    let env = server(&root, "", "").await;
    let rp = env.relying_party(CodeMode::Pick);
    let phone = if apple {
        Phone::apple(&root)
    } else {
        Phone::android(&root, AndroidKeyOptions::default())
    };
    enrolled(&env, RPPS, &phone).await;
    (env, rp, phone)
}

/// Approves the login `ciba` started on `phone`; the ID token says `hwk`.
async fn approved_with_hwk(rp: &RelyingParty, phone: &Phone, ciba: &CibaResponse) {
    assert_eq!(
        phone.approve(&ciba.dynamic_code).await,
        Ok(AnswerOutcome::Approved)
    );
    assert_eq!(
        amr(rp, &ciba.auth_req_id).await,
        serde_json::json!(["pin", "hwk", "mfa"])
    );
}

/// The `amr` of the ID token the relying party gets for `auth_req_id`.
async fn amr(rp: &RelyingParty, auth_req_id: &str) -> serde_json::Value {
    let (status, body) = rp.token(auth_req_id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id_token = body["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&base64_url(payload)).unwrap();
    claims["amr"].clone()
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

fn refusals(env: &Env, stage: &str, code: &str, reason: &str) -> i64 {
    env.server
        .admin()
        .attestation_refusals()
        .unwrap()
        .iter()
        .find(|r| r.stage == stage && r.code == code && r.reason == reason)
        .map_or(0, |r| r.count)
}

#[tokio::test]
async fn an_attested_android_wallet_enrols_and_its_co_signed_approvals_say_hwk() {
    let (env, rp, phone) = enrolled_phone(false).await;
    assert_eq!(phone.keystore.aliases().len(), 1, "one hardware key");
    let devices = env.server.admin().list_devices(RPPS).unwrap();
    assert_eq!(
        devices[0].attestation_text,
        "android_key tee fr.vistalid.test boot=verified locked patch=202511"
    );
    for _ in 0..2 {
        let ciba = rp.ciba(RPPS, "Connexion au DMP").await;
        approved_with_hwk(&rp, &phone, &ciba).await;
    }
}

#[tokio::test]
async fn an_approval_without_the_hardware_co_signature_is_refused() {
    let (env, rp, phone) = enrolled_phone(false).await;
    let ciba = rp.ciba(RPPS, "Connexion au DMP").await;
    phone.keystore.withhold_signatures(true);
    assert_eq!(
        phone.approve(&ciba.dynamic_code).await,
        Err(WalletError::DeviceNotTrusted { missing: true })
    );
    let (status, body) = rp.token(&ciba.auth_req_id).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("authorization_pending")),
        "the refused answer approved nothing"
    );
    assert_eq!(
        refusals(&env, "answer", "attestation_required", "missing"),
        1
    );
}

#[tokio::test]
async fn the_copied_vault_and_software_key_cannot_approve_without_the_hardware_key() {
    let (env, rp, phone) = enrolled_phone(false).await;

    // An attacker copies the wallet's files and its software key file to another machine,
    // where the keystore has no hardware key (the vault opens: the PRF key came along).
    let copy = tempfile::tempdir().unwrap();
    copy_dir(
        &Phone::wallet_dir(phone.dir.path()),
        &Phone::wallet_dir(copy.path()),
    );
    std::fs::copy(
        Phone::key_file(phone.dir.path()),
        Phone::key_file(copy.path()),
    )
    .unwrap();
    let stolen = Wallet::open(
        &Phone::wallet_dir(copy.path()),
        Arc::new(SoftwareKeystore::open(Phone::key_file(copy.path()))),
        fast_config(),
    )
    .unwrap();
    assert_eq!(stolen.accounts().unwrap().len(), 1);

    let ciba = rp.ciba(RPPS, "Connexion au DMP").await;
    assert_eq!(
        approve_on(&stolen, &ciba.dynamic_code).await,
        Err(WalletError::DeviceNotTrusted { missing: true }),
        "the account key alone is refused"
    );
    // The server refused it (the wallet had nothing to co-sign with and sent the answer
    // alone), and counted the refusal.
    assert_eq!(
        refusals(&env, "answer", "attestation_required", "missing"),
        1
    );
    let (status, _) = rp.token(&ciba.auth_req_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "nothing was approved");
    // The genuine phone still approves the same login.
    approved_with_hwk(&rp, &phone, &ciba).await;
}

#[tokio::test]
async fn a_repeated_app_attest_counter_is_refused() {
    let (env, rp, phone) = enrolled_phone(true).await;
    assert!(env.server.admin().list_devices(RPPS).unwrap()[0]
        .attestation_text
        .starts_with("apple_app_attest secure_enclave"));
    let ciba = rp.ciba(RPPS, "Connexion au DMP").await;
    approved_with_hwk(&rp, &phone, &ciba).await;
    // The next assertion repeats counter 1 (a replayed or cloned App Attest key).
    phone.keystore.repeat_counter(true);
    let ciba = rp.ciba(RPPS, "Connexion au DMP").await;
    assert_eq!(
        phone.approve(&ciba.dynamic_code).await,
        Err(WalletError::DeviceNotTrusted { missing: false })
    );
    assert_eq!(
        refusals(&env, "answer", "attestation_invalid", "counter"),
        1
    );
    // A rising counter approves the next login.
    phone.keystore.repeat_counter(false);
    let ciba = rp.ciba(RPPS, "Connexion au DMP").await;
    approved_with_hwk(&rp, &phone, &ciba).await;
}

#[tokio::test]
async fn a_policy_requiring_strongbox_refuses_a_tee_chain_at_enrolment() {
    let root = Arc::new(TestAttestationRoot::new());
    let env = server(&root, r#", "require_strongbox": true"#, "").await;
    let code = env.practitioner(RPPS);
    let tee = Phone::android(&root, AndroidKeyOptions::default());
    assert_eq!(
        tee.wallet.enrol(&env.url(), &code, Pin::new(PIN)).await,
        Err(WalletError::DeviceNotTrusted { missing: false })
    );
    assert!(tee.wallet.accounts().unwrap().is_empty());
    assert_eq!(
        refusals(&env, "enrolment", "attestation_invalid", "security_level"),
        1
    );
    // The refused enrolment's hardware key is deleted (on the blocking pool: wait for it).
    for _ in 0..200 {
        if tee.keystore.aliases().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(tee.keystore.aliases().is_empty());
    // The same code enrols a StrongBox phone: the refusal spent no try.
    let strongbox = Phone::android(
        &root,
        AndroidKeyOptions {
            strongbox: true,
            ..AndroidKeyOptions::default()
        },
    );
    strongbox
        .wallet
        .enrol(&env.url(), &code, Pin::new(PIN))
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_attestations_are_refused_at_enrolment_and_named() {
    let root = Arc::new(TestAttestationRoot::new());
    let env = server(&root, r#", "require_verified_boot": true"#, "").await;
    let code = env.practitioner(RPPS);
    // An emulator or a rooted phone with a CA of its own, a repackaged app, an unlocked
    // bootloader, an App Attest key of the production environment under a development policy.
    let own_root = Arc::new(TestAttestationRoot::new());
    let cases = [
        (
            Phone::android(&own_root, AndroidKeyOptions::default()),
            "untrusted_root",
        ),
        (
            Phone::android(
                &root,
                AndroidKeyOptions {
                    package: "fr.vistalid.clone".to_owned(),
                    ..AndroidKeyOptions::default()
                },
            ),
            "app_id",
        ),
        (
            Phone::android(
                &root,
                AndroidKeyOptions {
                    verified_boot: false,
                    device_locked: false,
                    ..AndroidKeyOptions::default()
                },
            ),
            "boot_state",
        ),
        (
            Phone::new(|prf| AttestingKeystore::apple(prf, root.clone(), APPLE_APP, true)),
            "environment",
        ),
    ];
    for (phone, reason) in &cases {
        assert_eq!(
            phone.wallet.enrol(&env.url(), &code, Pin::new(PIN)).await,
            Err(WalletError::DeviceNotTrusted { missing: false }),
            "{reason}"
        );
        assert!(phone.wallet.accounts().unwrap().is_empty(), "{reason}");
        assert_eq!(
            refusals(&env, "enrolment", "attestation_invalid", reason),
            1,
            "{reason}"
        );
    }
    // None of them spent a try of the code: a genuine phone enrols with it.
    let genuine = Phone::android(&root, AndroidKeyOptions::default());
    genuine
        .wallet
        .enrol(&env.url(), &code, Pin::new(PIN))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unattested_wallet_is_refused_where_software_keystores_are_off() {
    let root = Arc::new(TestAttestationRoot::new());
    let env = server(&root, "", "").await;
    let code = env.practitioner(RPPS);
    let dir = tempfile::tempdir().unwrap();
    let w = Wallet::open(dir.path(), Arc::new(MemoryKeystore::new()), fast_config()).unwrap();
    assert_eq!(
        w.enrol(&env.url(), &code, Pin::new(PIN)).await,
        Err(WalletError::DeviceNotTrusted { missing: true })
    );
    // The default policy of a loopback server lets it in (every other e2e test relies on it).
    let open = Env::start().await;
    let code = open.practitioner("10101010102");
    w.enrol(&open.url(), &code, Pin::new(PIN)).await.unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
