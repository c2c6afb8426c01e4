// SPDX-License-Identifier: Apache-2.0
//! RFC 9106 section 5.3 Argon2id test vector, through [`Argon2Kdf`], the code path the vault
//! uses for every PIN hash (with the RFC's secret and associated data).

use vistalid_core::vault::{Argon2Kdf, Argon2Params};

#[test]
fn rfc9106_argon2id_vector() {
    let params = Argon2Params {
        m_kib: 32,
        t: 3,
        p: 4,
    };
    let mut kdf = Argon2Kdf::new();
    let mut tag = [0u8; 32];
    kdf.derive(
        &params,
        &[0x01; 32],
        &[0x02; 16],
        Some(&[0x03; 8]),
        &[0x04; 12],
        &mut tag,
    )
    .expect("hash");
    assert_eq!(
        hex::encode(tag),
        "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
    );
    // The reused memory gives the same answer again, and any input change changes it.
    let mut again = [0u8; 32];
    kdf.derive(
        &params,
        &[0x01; 32],
        &[0x02; 16],
        Some(&[0x03; 8]),
        &[0x04; 12],
        &mut again,
    )
    .expect("hash");
    assert_eq!(again, tag);
    kdf.derive(
        &params,
        &[0x01; 32],
        &[0x02; 16],
        Some(&[0x03; 8]),
        &[0x05; 12],
        &mut again,
    )
    .expect("hash");
    assert_ne!(again, tag);
}
