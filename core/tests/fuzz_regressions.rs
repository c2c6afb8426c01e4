// SPDX-License-Identifier: Apache-2.0
//! Inputs found by the fuzz targets (`fuzz/`), kept as regression tests.

use vistalid_core::keys::SigningKey;
use vistalid_core::qr::{self, PresentationSource, QrError};

/// `qr_bytes` crash-97323e1e: `present` signed an online presentation for a 100-byte
/// credential id, which every decoder then refused ("unknown or ill-typed claim"). Signing
/// must refuse what verification refuses.
#[test]
fn online_presentation_refuses_credential_ids_the_decoder_refuses() {
    let key = SigningKey::make().expect("key");
    let now = 1_800_000_000;
    let too_long = vec![0xc0u8; qr::credential::MAX_CREDENTIAL_ID_LEN + 1];
    assert!(matches!(
        qr::present(
            &key,
            PresentationSource::Online(&too_long),
            now,
            120,
            Some("rp")
        ),
        Err(QrError::BadPresentation(_))
    ));
    // The longest accepted id round-trips.
    let longest = vec![0xc0u8; qr::credential::MAX_CREDENTIAL_ID_LEN];
    let text = qr::present(
        &key,
        PresentationSource::Online(&longest),
        now,
        120,
        Some("rp"),
    )
    .expect("present");
    let facts =
        qr::verify_with_device_key(&text, &key.public_key(), now).expect("own presentation");
    assert_eq!(facts.credential_id, longest);
}
