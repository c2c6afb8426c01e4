// SPDX-License-Identifier: Apache-2.0
//! RFC 9497 verifiable oblivious PRF (VOPRF mode), suite P256-SHA256: the one implementation
//! both the wallet (blind, verify, finalize) and the server (key generation, blind evaluation
//! with a DLEQ proof) use, so the two sides cannot drift. It wraps Meta's `voprf` crate (0.5,
//! in step with RFC 9497 and tested upstream on its vectors) over `p256` 0.13.
//!
//! Guarantees:
//! - Every element read from the wire ([`BlindedElement::from_bytes`],
//!   [`Evaluation::from_bytes`], [`OprfPublicKey::from_bytes`]) is exactly
//!   [`ELEMENT_LEN`] bytes of a compressed SEC1 point on P-256 that is not the identity, else
//!   [`OprfError::InvalidElement`]; a proof is two scalars in `[1, n)`, else
//!   [`OprfError::InvalidProof`]. No input panics.
//! - [`BlindState::finalize`] returns an output only when the server's DLEQ proof verifies
//!   under the public key the caller pinned: a server that evaluated with another key (for
//!   instance one created to tell devices apart, or to tell a right PIN from a wrong one) is
//!   [`OprfError::ProofMismatch`].
//! - The server sees only the blinded element, a uniformly random point: nothing of the input.
//! - Secrets (the server key, the client's blind and input, the output) are wiped on drop
//!   and never `Debug`-printed.
//! - Randomness comes from the OS generator (ring's `SystemRandom`) through [`SystemRng`];
//!   the `*_with_rng` functions take another generator so tests can replay the RFC's blinds
//!   and proof nonces through the same code path.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use p256::NistP256;
use rand_core::{CryptoRng, RngCore};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::{Zeroize, Zeroizing};

type Suite = NistP256;

/// The suite identifier of RFC 9497 section 4.3.
pub const SUITE_ID: &str = "P256-SHA256";
/// The protocol mode, as the wire names it.
pub const MODE_NAME: &str = "voprf";
/// Length of a serialised element (compressed SEC1 point).
pub const ELEMENT_LEN: usize = 33;
/// Length of a serialised DLEQ proof (two scalars).
pub const PROOF_LEN: usize = 64;
/// Length of the PRF output (SHA-256).
pub const OUTPUT_LEN: usize = 32;
/// Length of a serialised server secret key (one scalar).
pub const SECRET_KEY_LEN: usize = 32;

/// Errors of the VOPRF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OprfError {
    /// An element is not 33 bytes of a compressed P-256 point other than the identity (off
    /// the curve, the identity, uncompressed, truncated or padded).
    #[error("not a valid P-256 element")]
    InvalidElement,
    /// A proof is not 64 bytes of two scalars in range.
    #[error("not a valid proof encoding")]
    InvalidProof,
    /// A server secret key is not a scalar in `[1, n)`.
    #[error("not a valid VOPRF secret key")]
    InvalidKey,
    /// The DLEQ proof does not verify under the pinned public key: the server evaluated with
    /// another key or the answer was altered.
    #[error("the server's proof does not verify under the pinned key")]
    ProofMismatch,
    /// The PRF input is longer than 65 535 bytes (refused when finalizing).
    #[error("VOPRF input is too long")]
    InvalidInput,
    /// The operating system's random generator failed.
    #[error("random generator failure")]
    Random,
}

/// A cryptographic RNG over the OS generator (ring's `SystemRandom`), for `voprf`'s traits.
///
/// It draws a buffer up front ([`SystemRng::new`] is where a generator failure shows, as an
/// error) and refills it when a draw needs more; P-256 scalar sampling rejects a draw with
/// probability below 2^-32, so one buffer serves a blind or a proof in all but negligible
/// cases.
pub struct SystemRng {
    buf: Zeroizing<[u8; 128]>,
    at: usize,
}

impl SystemRng {
    /// A generator with a fresh buffer from the OS.
    pub fn new() -> Result<Self, OprfError> {
        let mut buf = Zeroizing::new([0u8; 128]);
        SystemRandom::new()
            .fill(buf.as_mut())
            .map_err(|_| OprfError::Random)?;
        Ok(Self { buf, at: 0 })
    }
}

impl RngCore for SystemRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest.iter_mut() {
            if self.at == self.buf.len() {
                // A refill after 128 bytes, which a blind or a proof needs with probability
                // below 2^-128; the OS generator was working a moment ago.
                SystemRandom::new()
                    .fill(self.buf.as_mut())
                    .expect("the OS random generator answered for the first buffer");
                self.at = 0;
            }
            *byte = self.buf[self.at];
            self.buf[self.at] = 0;
            self.at += 1;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for SystemRng {}

fn element_of(bytes: &[u8]) -> Result<voprf::BlindedElement<Suite>, OprfError> {
    if bytes.len() != ELEMENT_LEN {
        return Err(OprfError::InvalidElement);
    }
    voprf::BlindedElement::<Suite>::deserialize(bytes).map_err(|_| OprfError::InvalidElement)
}

fn to_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

/// The server's public key for one device, as the wallet pins it.
#[derive(Clone, PartialEq, Eq)]
pub struct OprfPublicKey {
    bytes: [u8; ELEMENT_LEN],
    point: p256::ProjectivePoint,
}

impl OprfPublicKey {
    /// Parses a compressed SEC1 point (see the module guarantees).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, OprfError> {
        element_of(bytes)?;
        let point = p256::PublicKey::from_sec1_bytes(bytes)
            .map_err(|_| OprfError::InvalidElement)?
            .to_projective();
        Ok(Self {
            bytes: to_array(bytes),
            point,
        })
    }

    /// Parses the base64url (unpadded) text of a compressed SEC1 point.
    pub fn from_base64url(text: &str) -> Result<Self, OprfError> {
        let bytes = B64URL.decode(text).map_err(|_| OprfError::InvalidElement)?;
        Self::from_bytes(&bytes)
    }

    /// The compressed SEC1 bytes.
    pub fn to_bytes(&self) -> [u8; ELEMENT_LEN] {
        self.bytes
    }

    /// The base64url (unpadded) text of the compressed SEC1 bytes.
    pub fn to_base64url(&self) -> String {
        B64URL.encode(self.bytes)
    }
}

impl fmt::Debug for OprfPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OprfPublicKey({})", self.to_base64url())
    }
}

/// A blinded element: what the wallet sends, a uniformly random point to the server.
#[derive(Clone, PartialEq, Eq)]
pub struct BlindedElement {
    inner: voprf::BlindedElement<Suite>,
}

impl BlindedElement {
    /// Parses a compressed SEC1 point (see the module guarantees).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, OprfError> {
        Ok(Self {
            inner: element_of(bytes)?,
        })
    }

    /// The compressed SEC1 bytes.
    pub fn to_bytes(&self) -> [u8; ELEMENT_LEN] {
        to_array(&self.inner.serialize())
    }
}

impl fmt::Debug for BlindedElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindedElement({})", B64URL.encode(self.to_bytes()))
    }
}

/// The server's answer: the evaluated element and the DLEQ proof that it used its key.
#[derive(Clone, PartialEq, Eq)]
pub struct Evaluation {
    element: voprf::EvaluationElement<Suite>,
    proof: voprf::Proof<Suite>,
}

impl Evaluation {
    /// Parses the evaluated element (compressed SEC1) and the proof (`c || s`).
    pub fn from_bytes(element: &[u8], proof: &[u8]) -> Result<Self, OprfError> {
        if element.len() != ELEMENT_LEN {
            return Err(OprfError::InvalidElement);
        }
        let element = voprf::EvaluationElement::<Suite>::deserialize(element)
            .map_err(|_| OprfError::InvalidElement)?;
        if proof.len() != PROOF_LEN {
            return Err(OprfError::InvalidProof);
        }
        let proof =
            voprf::Proof::<Suite>::deserialize(proof).map_err(|_| OprfError::InvalidProof)?;
        Ok(Self { element, proof })
    }

    /// The evaluated element's compressed SEC1 bytes.
    pub fn element_bytes(&self) -> [u8; ELEMENT_LEN] {
        to_array(&self.element.serialize())
    }

    /// The proof's bytes (`c || s`).
    pub fn proof_bytes(&self) -> [u8; PROOF_LEN] {
        to_array(&self.proof.serialize())
    }
}

impl fmt::Debug for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evaluation")
            .field("element", &B64URL.encode(self.element_bytes()))
            .finish_non_exhaustive()
    }
}

/// The wallet's side between blinding and finalizing: the blind and the input (wiped on drop).
pub struct BlindState {
    client: voprf::VoprfClient<Suite>,
    input: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for BlindState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindState(***)")
    }
}

/// Blinds `input` with a fresh random blind: returns the state to keep and the element to send.
pub fn blind(input: &[u8]) -> Result<(BlindState, BlindedElement), OprfError> {
    blind_with_rng(input, &mut SystemRng::new()?)
}

/// [`blind`] with the blind drawn from `rng` (the RFC vectors replay their blind through it).
pub fn blind_with_rng<R: RngCore + CryptoRng>(
    input: &[u8],
    rng: &mut R,
) -> Result<(BlindState, BlindedElement), OprfError> {
    let result =
        voprf::VoprfClient::<Suite>::blind(input, rng).map_err(|_| OprfError::InvalidInput)?;
    Ok((
        BlindState {
            client: result.state,
            input: Zeroizing::new(input.to_vec()),
        },
        BlindedElement {
            inner: result.message,
        },
    ))
}

impl BlindState {
    /// Verifies the server's proof under `public_key` (the pinned one), unblinds, and returns
    /// the PRF output `Finalize(input, ...)` of RFC 9497 section 3.3.2.
    pub fn finalize(
        self,
        evaluation: &Evaluation,
        public_key: &OprfPublicKey,
    ) -> Result<Zeroizing<[u8; OUTPUT_LEN]>, OprfError> {
        let mut out = self
            .client
            .finalize(
                &self.input,
                &evaluation.element,
                &evaluation.proof,
                public_key.point,
            )
            .map_err(|e| match e {
                voprf::Error::ProofVerification => OprfError::ProofMismatch,
                _ => OprfError::InvalidInput,
            })?;
        let output = Zeroizing::new(to_array(&out));
        AsMut::<[u8]>::as_mut(&mut out).zeroize();
        Ok(output)
    }
}

/// The server's secret key for one device (a scalar; wiped on drop, `Debug` redacted).
pub struct OprfServerKey {
    inner: voprf::VoprfServer<Suite>,
}

impl fmt::Debug for OprfServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OprfServerKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl OprfServerKey {
    /// A new random key (RFC 9497 `DeriveKeyPair` over a random seed).
    pub fn make() -> Result<Self, OprfError> {
        let inner = voprf::VoprfServer::<Suite>::new(&mut SystemRng::new()?)
            .map_err(|_| OprfError::Random)?;
        Ok(Self { inner })
    }

    /// RFC 9497 `DeriveKeyPair(seed, info)` (section 3.2.1), for the RFC vectors.
    pub fn derive(seed: &[u8], info: &[u8]) -> Result<Self, OprfError> {
        let inner = voprf::VoprfServer::<Suite>::new_from_seed(seed, info)
            .map_err(|_| OprfError::InvalidKey)?;
        Ok(Self { inner })
    }

    /// A key from its [`SECRET_KEY_LEN`]-byte scalar (big-endian, in `[1, n)`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, OprfError> {
        if bytes.len() != SECRET_KEY_LEN {
            return Err(OprfError::InvalidKey);
        }
        let inner =
            voprf::VoprfServer::<Suite>::new_with_key(bytes).map_err(|_| OprfError::InvalidKey)?;
        Ok(Self { inner })
    }

    /// The secret scalar's bytes, for the server's store.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SECRET_KEY_LEN]> {
        let mut both = self.inner.serialize();
        let out = Zeroizing::new(to_array(&both[..SECRET_KEY_LEN]));
        AsMut::<[u8]>::as_mut(&mut both).zeroize();
        out
    }

    /// The public key the wallet pins.
    pub fn public_key(&self) -> OprfPublicKey {
        OprfPublicKey::from_bytes(&self.inner.serialize()[SECRET_KEY_LEN..])
            .expect("a VOPRF server's public key is a valid non-identity point")
    }

    /// Evaluates `blinded` with a proof (`BlindEvaluate` of RFC 9497 section 3.3.2), with a
    /// fresh random proof nonce.
    pub fn evaluate(&self, blinded: &BlindedElement) -> Result<Evaluation, OprfError> {
        Ok(self.evaluate_with_rng(blinded, &mut SystemRng::new()?))
    }

    /// [`OprfServerKey::evaluate`] with the proof nonce drawn from `rng` (the RFC vectors
    /// replay theirs through it).
    pub fn evaluate_with_rng<R: RngCore + CryptoRng>(
        &self,
        blinded: &BlindedElement,
        rng: &mut R,
    ) -> Evaluation {
        let result = self.inner.blind_evaluate(rng, &blinded.inner);
        Evaluation {
            element: result.message,
            proof: result.proof,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_pinned_key() {
        let key = OprfServerKey::make().expect("key");
        let (state, blinded) = blind(b"k_hw").expect("blind");
        let wire = BlindedElement::from_bytes(&blinded.to_bytes()).expect("parse");
        let eval = key.evaluate(&wire).expect("eval");
        let eval = Evaluation::from_bytes(&eval.element_bytes(), &eval.proof_bytes()).expect("p");
        let pk = OprfPublicKey::from_base64url(&key.public_key().to_base64url()).expect("pk");
        let y = state.finalize(&eval, &pk).expect("finalize");
        // The same input under the same key gives the same output through a new blind.
        let (state2, blinded2) = blind(b"k_hw").expect("blind");
        assert_ne!(blinded2.to_bytes(), blinded.to_bytes(), "fresh blind");
        let y2 = state2
            .finalize(&key.evaluate(&blinded2).expect("eval"), &pk)
            .expect("finalize");
        assert_eq!(*y, *y2);
        // Another key's answer is refused under the pinned key.
        let other = OprfServerKey::make().expect("key");
        let (state3, blinded3) = blind(b"k_hw").expect("blind");
        assert_eq!(
            state3
                .finalize(&other.evaluate(&blinded3).expect("eval"), &pk)
                .err(),
            Some(OprfError::ProofMismatch)
        );
        // The key survives its byte form.
        let back = OprfServerKey::from_bytes(key.to_bytes().as_ref()).expect("key");
        assert_eq!(back.public_key(), key.public_key());
        let (state4, _) = blind(b"k_hw").expect("blind");
        assert!(!format!("{key:?}").contains(&hex::encode(*key.to_bytes())));
        assert_eq!(format!("{state4:?}"), "BlindState(***)");
    }

    #[test]
    fn bad_elements_and_proofs_are_typed_errors() {
        let key = OprfServerKey::make().expect("key");
        let good = key.public_key().to_bytes();
        let mut off_curve = good;
        // About half of all x-coordinates have no point on P-256: try small ones until one
        // is off the curve, so the test does not depend on one constant.
        let mut found = false;
        for x in 0u8..=255 {
            off_curve[1..].fill(0);
            off_curve[32] = x;
            if OprfPublicKey::from_bytes(&off_curve).is_err() {
                found = true;
                break;
            }
        }
        assert!(found, "some small x is not on the curve");
        let mut uncompressed = vec![4u8];
        uncompressed.extend_from_slice(&[0u8; 64]);
        for bad in [
            &[0u8][..],
            &[][..],
            &off_curve[..],
            &good[..32],
            &[&good[..], &[0u8][..]].concat()[..],
            &uncompressed[..],
            &[0u8; ELEMENT_LEN][..],
        ] {
            assert_eq!(
                BlindedElement::from_bytes(bad).err(),
                Some(OprfError::InvalidElement)
            );
            assert_eq!(
                OprfPublicKey::from_bytes(bad).err(),
                Some(OprfError::InvalidElement)
            );
            assert_eq!(
                Evaluation::from_bytes(bad, &[1u8; PROOF_LEN]).err(),
                Some(OprfError::InvalidElement)
            );
        }
        for bad_proof in [
            &[0u8; PROOF_LEN][..],
            &[0xffu8; PROOF_LEN][..],
            &[1u8; 63][..],
        ] {
            assert_eq!(
                Evaluation::from_bytes(&good, bad_proof).err(),
                Some(OprfError::InvalidProof)
            );
        }
        assert_eq!(
            OprfServerKey::from_bytes(&[0u8; 32]).err(),
            Some(OprfError::InvalidKey)
        );
    }
}
