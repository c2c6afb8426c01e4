// SPDX-License-Identifier: Apache-2.0
//! RFC 9497 Appendix A, suite P256-SHA256 in VOPRF mode, through the code path the product
//! uses: `DeriveKeyPair`, `blind` (the vector's blind replayed through the RNG), the server's
//! `evaluate` (the vector's proof nonce replayed), the wire encodings, `finalize` with the
//! proof verified under the public key.
//!
//! The vectors live outside the repository (`shared/vectors/oprf/rfc9497.json`, see its
//! README): `$VISTALID_VECTORS/oprf` when that variable is set, else
//! `<repo>/../shared/vectors/oprf`, else `/work/shared/vectors/oprf`. Absent, the test fails
//! under `CI=true` and is skipped with one line otherwise.

use std::path::{Path, PathBuf};

use rand_core::{CryptoRng, RngCore};
use vistalid_core::oprf::{self, BlindedElement, Evaluation, OprfPublicKey, OprfServerKey};

fn vectors_file() -> Option<PathBuf> {
    [
        std::env::var_os("VISTALID_VECTORS").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")),
        Some(PathBuf::from("/work/shared/vectors")),
    ]
    .into_iter()
    .flatten()
    .map(|p| p.join("oprf/rfc9497.json"))
    .find(|p| p.is_file())
}

/// An RNG that plays back fixed bytes, then fails the test if more are asked for.
struct Replay(Vec<u8>);

impl RngCore for Replay {
    fn next_u32(&mut self) -> u32 {
        panic!("the VOPRF draws bytes, not words")
    }
    fn next_u64(&mut self) -> u64 {
        panic!("the VOPRF draws bytes, not words")
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        assert!(
            dest.len() <= self.0.len(),
            "more randomness than the vector has"
        );
        let rest = self.0.split_off(dest.len());
        dest.copy_from_slice(&self.0);
        self.0 = rest;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Replay {}

fn hex_field(v: &serde_json::Value, name: &str) -> Vec<u8> {
    hex::decode(v[name].as_str().unwrap_or_else(|| panic!("{name}"))).expect("hex")
}

#[test]
fn rfc9497_p256_sha256_voprf_vectors() {
    let Some(path) = vectors_file() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "shared/vectors/oprf/rfc9497.json is missing (set VISTALID_VECTORS)"
        );
        eprintln!("skipped: shared/vectors/oprf/rfc9497.json not found (set VISTALID_VECTORS)");
        return;
    };
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    let suite = all
        .as_array()
        .expect("array")
        .iter()
        .find(|e| e["identifier"] == oprf::SUITE_ID && e["mode"] == 1)
        .expect("the P256-SHA256 VOPRF entry");

    // DeriveKeyPair(seed, info) gives the vector's key pair.
    let key = OprfServerKey::derive(&hex_field(suite, "seed"), &hex_field(suite, "keyInfo"))
        .expect("derive");
    assert_eq!(key.to_bytes().as_slice(), hex_field(suite, "skSm"));
    let pk_bytes = hex_field(suite, "pkSm");
    assert_eq!(key.public_key().to_bytes().as_slice(), pk_bytes);
    // The wallet pins the key from its wire form.
    let pinned = OprfPublicKey::from_bytes(&pk_bytes).expect("pkSm");
    let key = OprfServerKey::from_bytes(&hex_field(suite, "skSm")).expect("skSm");

    let mut checked = 0;
    for v in suite["vectors"].as_array().expect("vectors") {
        if v["Batch"] != 1 {
            continue; // the product evaluates one element per request
        }
        let input = hex_field(v, "Input");
        let (state, blinded) =
            oprf::blind_with_rng(&input, &mut Replay(hex_field(v, "Blind"))).expect("blind");
        assert_eq!(
            blinded.to_bytes().as_slice(),
            hex_field(v, "BlindedElement")
        );

        // The server parses what the wallet sent and evaluates it.
        let received = BlindedElement::from_bytes(&blinded.to_bytes()).expect("parse");
        let r = hex::decode(v["Proof"]["r"].as_str().expect("r")).expect("hex");
        let evaluation = key.evaluate_with_rng(&received, &mut Replay(r));
        assert_eq!(
            evaluation.element_bytes().as_slice(),
            hex_field(v, "EvaluationElement")
        );
        let proof = hex::decode(v["Proof"]["proof"].as_str().expect("proof")).expect("hex");
        assert_eq!(evaluation.proof_bytes().as_slice(), proof);

        // The wallet parses the answer, verifies the proof under the pinned key, finalizes.
        let answer =
            Evaluation::from_bytes(&evaluation.element_bytes(), &proof).expect("evaluation");
        let output = state.finalize(&answer, &pinned).expect("finalize");
        assert_eq!(output.as_slice(), hex_field(v, "Output"));

        // A proof altered in one bit is refused, not finalized into another output.
        let (state, _) =
            oprf::blind_with_rng(&input, &mut Replay(hex_field(v, "Blind"))).expect("blind");
        let mut bad = proof.clone();
        bad[63] ^= 1;
        match Evaluation::from_bytes(&evaluation.element_bytes(), &bad) {
            Ok(altered) => assert_eq!(
                state.finalize(&altered, &pinned).err(),
                Some(oprf::OprfError::ProofMismatch)
            ),
            Err(e) => assert_eq!(e, oprf::OprfError::InvalidProof),
        }
        checked += 1;
    }
    assert_eq!(checked, 2, "both single-element vectors ran");
}
