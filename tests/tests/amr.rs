// SPDX-License-Identifier: Apache-2.0
//! The ID token's `amr` says what happened (RFC 8176): `swk` after an approval signed with a
//! key a software keystore protects (the CLI's), and also where the wallet's keystore only
//! reports hardware without an attestation (issue 17: a self-report proves nothing; `hwk` needs
//! an attested, co-signing hardware key, `attestation.rs`); `pin` and `mfa` (the PIN and the
//! device key: two factors) in both.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;

use vistalid_core::keystore::{KeystoreError, MemoryKeystore, PlatformKeystore, SoftwareKeystore};
use vistalid_core::protocol::CodeMode;
use vistalid_core::secret::Pin;
use vistalid_core::wallet::Wallet;
use vistalid_e2e::{fast_config, Env};
use zeroize::Zeroizing;

const PIN: &str = "204862";

/// A test keystore that reports hardware but cannot attest (its PRF is an in-memory key).
struct ReportsHardware(MemoryKeystore);

impl PlatformKeystore for ReportsHardware {
    fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        self.0.prf(input)
    }
    fn delete(&self) -> Result<(), KeystoreError> {
        self.0.delete()
    }
    fn is_hardware_backed(&self) -> bool {
        true
    }
}

/// Enrols a wallet on `keystore` for `rpps`, approves one CIBA login, and returns the
/// verified ID token's `amr`.
async fn amr_after_approval(
    env: &Env,
    rpps: &str,
    keystore: Arc<dyn PlatformKeystore>,
) -> serde_json::Value {
    let rp = env.relying_party(CodeMode::Pick);
    let code = env.practitioner(rpps);
    let dir = tempfile::tempdir().unwrap();
    let w = Wallet::open(dir.path(), keystore, fast_config()).unwrap();
    w.enrol(&env.url(), &code, Pin::new(PIN)).await.unwrap();
    let ciba = rp.ciba(rpps, "Connexion").await;
    let ch = w.fetch_challenges(5).await.unwrap().challenges.remove(0);
    w.approve(&ch.id, Pin::new(PIN), &ciba.dynamic_code)
        .await
        .unwrap();
    let shared = rp.shared();
    let token = shared.token(&ciba.auth_req_id).await.unwrap();
    let claims = shared.verify_id_token(&token.id_token, None).await.unwrap();
    claims["amr"].clone()
}

#[tokio::test]
async fn a_software_keystore_and_an_unattested_hardware_report_give_swk() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cli_style = Arc::new(SoftwareKeystore::open(dir.path().join("keystore.key")));
    assert_eq!(
        amr_after_approval(&env, "10101010101", cli_style).await,
        serde_json::json!(["pin", "swk", "mfa"])
    );
    let hardware = Arc::new(ReportsHardware(MemoryKeystore::new()));
    assert_eq!(
        amr_after_approval(&env, "10101010102", hardware).await,
        serde_json::json!(["pin", "swk", "mfa"]),
        "the wallet's report of hardware, unproven"
    );
}
