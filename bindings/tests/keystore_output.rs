// SPDX-License-Identifier: Apache-2.0
//! A foreign keystore whose PRF answers the wrong length (an empty answer would leave the
//! vault's keys to Argon2 alone) is refused with the typed `InvalidKeystoreOutput`, through
//! the production constructor `Wallet::open`, before any request reaches the server: the
//! activation code is not spent.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use vistalid_ffi::{
    HttpRequest, HttpResponse, HttpTransport, PlatformKeystore, VistalidError, Wallet,
    WalletOptions,
};

/// A keystore answering `len` bytes whatever the input.
struct FixedLength(usize);

impl PlatformKeystore for FixedLength {
    fn prf(&self, input: Vec<u8>) -> Result<Vec<u8>, VistalidError> {
        Ok(input.iter().copied().cycle().take(self.0).collect())
    }
    fn delete(&self) -> Result<(), VistalidError> {
        Ok(())
    }
    fn attest(
        &self,
        _alias: String,
        _challenge: Vec<u8>,
    ) -> Result<Option<vistalid_ffi::DeviceAttestation>, VistalidError> {
        Ok(None)
    }
    fn sign_attested(
        &self,
        _alias: String,
        _message: Vec<u8>,
    ) -> Result<Option<vistalid_ffi::HardwareSignature>, VistalidError> {
        Ok(None)
    }
    fn delete_attested(&self, _alias: String) -> Result<(), VistalidError> {
        Ok(())
    }
    fn is_hardware_backed(&self) -> bool {
        true
    }
}

/// A transport that counts requests and answers none.
#[derive(Default)]
struct Counting(AtomicUsize);

#[async_trait::async_trait]
impl HttpTransport for Counting {
    async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, VistalidError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(VistalidError::Network { retryable: false })
    }
}

#[tokio::test]
async fn a_prf_output_of_the_wrong_length_is_a_typed_error_before_any_request() {
    for len in [0usize, 31, 33, 64] {
        let dir = tempfile::tempdir().expect("tempdir");
        let transport = Arc::new(Counting::default());
        let wallet = Wallet::open(
            dir.path().join("w").to_str().expect("utf-8").to_owned(),
            Arc::new(FixedLength(len)),
            transport.clone(),
            WalletOptions {
                device_name: "test".into(),
            },
        )
        .expect("open touches neither the keystore nor the network");
        let r = wallet
            .enrol(
                "https://idp.example.fr".into(),
                "ABCDEFGH".into(),
                "482915".into(),
            )
            .await;
        assert_eq!(
            r.err(),
            Some(VistalidError::InvalidKeystoreOutput {
                length: u32::try_from(len).expect("small")
            }),
            "{len} bytes"
        );
        assert_eq!(transport.0.load(Ordering::SeqCst), 0, "no request was sent");
        assert_eq!(wallet.accounts(), Ok(Vec::new()));
    }
}
