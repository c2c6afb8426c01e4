// SPDX-License-Identifier: Apache-2.0
//! Argon2id known answers through [`Argon2Kdf`], the code path the vault uses for every PIN
//! hash, on 1, 2, 3 and 4 lane threads (the threads never change the output):
//!
//! - RFC 9106 section 5.3: the Argon2id vector (p = 4, with secret and associated data).
//! - p = 1 (and one p = 2 case): the Argon2id vectors of the reference implementation's test
//!   suite, P-H-C/phc-winner-argon2 `src/test.c` (its `Argon2_id` `hashtest` cases, password
//!   "password", salt "somesalt"), which the RustCrypto `argon2` crate also carries in its
//!   `tests/kat.rs` (`reference_argon2id_v0x13_2_16_1` and the others).
//! - Random small parameters against the C reference itself (`argon2-sys`).
// The C reference is called through its raw FFI; the call is commented below.
#![allow(unsafe_code)]

use proptest::prelude::*;
use vistalid_core::vault::{Argon2Kdf, Argon2Params, VaultError};

const THREADS: [usize; 4] = [1, 2, 3, 4];

fn hash(params: Argon2Params, threads: usize, password: &[u8], salt: &[u8]) -> String {
    let mut out = [0u8; 32];
    Argon2Kdf::with_max_threads(threads)
        .derive(&params, password, salt, None, &[], &mut out)
        .expect("hash");
    hex::encode(out)
}

/// RFC 9106 section 5.3's inputs (with the associated data `ad`), through `kdf`.
fn rfc9106_tag(kdf: &mut Argon2Kdf, ad: &[u8]) -> [u8; 32] {
    let params = Argon2Params {
        m_kib: 32,
        t: 3,
        p: 4,
    };
    let mut tag = [0u8; 32];
    kdf.derive(
        &params,
        &[0x01; 32],
        &[0x02; 16],
        Some(&[0x03; 8]),
        ad,
        &mut tag,
    )
    .expect("hash");
    tag
}

#[test]
fn rfc9106_argon2id_vector_p4() {
    for threads in THREADS {
        let mut kdf = Argon2Kdf::with_max_threads(threads);
        let tag = rfc9106_tag(&mut kdf, &[0x04; 12]);
        assert_eq!(
            hex::encode(tag),
            "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659",
            "{threads} threads"
        );
        // The reused (and wiped) memory gives the same answer again, and any input change
        // changes it.
        assert_eq!(rfc9106_tag(&mut kdf, &[0x04; 12]), tag);
        assert_ne!(rfc9106_tag(&mut kdf, &[0x05; 12]), tag);
    }
}

#[test]
fn reference_implementation_argon2id_vectors_p1() {
    // (t, log2 m, p, password, salt, tag): phc-winner-argon2 src/test.c, Argon2id, v=19.
    let cases: &[(u32, u32, u32, &str, &str, &str)] = &[
        (
            2,
            16,
            1,
            "password",
            "somesalt",
            "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7",
        ),
        (
            2,
            8,
            1,
            "password",
            "somesalt",
            "9dfeb910e80bad0311fee20f9c0e2b12c17987b4cac90c2ef54d5b3021c68bfe",
        ),
        (
            1,
            16,
            1,
            "password",
            "somesalt",
            "f6a5adc1ba723dddef9b5ac1d464e180fcd9dffc9d1cbf76cca2fed795d9ca98",
        ),
        (
            2,
            16,
            1,
            "differentpassword",
            "somesalt",
            "0b84d652cf6b0c4beaef0dfe278ba6a80df6696281d7e0d2891b817d8c458fde",
        ),
        (
            2,
            16,
            1,
            "password",
            "diffsalt",
            "bdf32b05ccc42eb15d58fd19b1f856b113da1e9a5874fdcc544308565aa8141c",
        ),
        (
            2,
            8,
            2,
            "password",
            "somesalt",
            "6d093c501fd5999645e0ea3bf620d7b8be7fd2db59c20d9fff9539da2bf57037",
        ),
    ];
    for &(t, log_m, p, password, salt, tag) in cases {
        let params = Argon2Params {
            m_kib: 1 << log_m,
            t,
            p,
        };
        for threads in [1, 2] {
            assert_eq!(
                hash(params, threads, password.as_bytes(), salt.as_bytes()),
                tag,
                "t={t} m=2^{log_m} p={p} {password}/{salt}, {threads} threads"
            );
        }
    }
}

#[test]
fn memory_is_kept_across_parameters_and_bad_ones_are_refused() {
    let mut kdf = Argon2Kdf::new();
    let mut out = [0u8; 32];
    let small = Argon2Params {
        m_kib: 64,
        t: 1,
        p: 4,
    };
    let big = Argon2Params {
        m_kib: 256,
        t: 2,
        p: 2,
    };
    for (params, reserved) in [(big, 256), (small, 256)] {
        // The second, with fewer KiB and more lanes, runs in the block of the first.
        kdf.derive(&params, b"password", b"somesalt", None, &[], &mut out)
            .expect("hash");
        assert_eq!(kdf.reserved_kib(), reserved);
    }
    assert_eq!(kdf.reserved_kib(), 256);
    assert_eq!(hex::encode(out), hash(small, 1, b"password", b"somesalt"));
    assert!(format!("{kdf:?}").contains("256 KiB"));
    for bad in [
        Argon2Params { p: 0, ..small },
        Argon2Params { t: 0, ..small },
        Argon2Params { m_kib: 31, ..small },
    ] {
        assert_eq!(
            kdf.derive(&bad, b"password", b"somesalt", None, &[], &mut out),
            Err(VaultError::Corrupt),
            "{bad:?}"
        );
    }
}

/// The C reference, one call (it allocates its own memory and runs p threads).
fn c_reference(params: Argon2Params, password: &[u8], salt: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    // SAFETY: every pointer is valid for the length passed with it for the whole call, the
    // output buffer is writable for `len` bytes, and the C function keeps no pointer.
    let rc = unsafe {
        argon2_sys::argon2id_hash_raw(
            params.t,
            params.m_kib,
            params.p,
            password.as_ptr().cast(),
            password.len(),
            salt.as_ptr().cast(),
            salt.len(),
            out.as_mut_ptr().cast(),
            out.len(),
        )
    };
    assert_eq!(rc, 0, "argon2id_hash_raw failed");
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn same_as_the_c_reference(
        p in 1u32..=8,
        extra_kib in 0u32..200,
        t in 1u32..=4,
        threads in 1usize..=4,
        password in proptest::collection::vec(any::<u8>(), 0..40),
        salt in proptest::collection::vec(any::<u8>(), 8..24),
        len in 4usize..=64,
    ) {
        let params = Argon2Params { m_kib: 8 * p + extra_kib, t, p };
        let mut ours = vec![0u8; len];
        Argon2Kdf::with_max_threads(threads)
            .derive(&params, &password, &salt, None, &[], &mut ours)
            .expect("hash");
        prop_assert_eq!(ours, c_reference(params, &password, &salt, len));
    }
}
