// SPDX-License-Identifier: Apache-2.0
//! The vault's binary formats and the key schedule.
//!
//! All integers are big-endian. Every file starts with a 4-byte magic and a `u16` format
//! version ([`VERSION`]); a reader refuses other versions with `UnsupportedVersion`.
//!
//! The header file (`vault.hdr`) and the per-account key schedule are in `header.rs`; the
//! PIN tier's file (`secrets.<g>.bin`, one sealed section per account) in `sections.rs`.
//!
//! Sealed file (`device.bin`, magic `VLTD`): magic, version, vault id, generation (`u32`,
//! 0 for the device tier), 12-byte nonce, AES-256-GCM ciphertext and tag. The AAD is the
//! 26-byte prefix followed by the file's label, so a file cannot be swapped for another
//! vault's, another tier's or be given another generation; the reader also checks that the
//! prefix names the vault and generation it expects. Which file is written when is in
//! `layout.rs`.
//!
//! - Every keystore PRF output must be exactly 32 bytes ([`prf`]); anything else is refused.
//! - Device keys (no PIN): `root = keystore.prf("vistalid/vault/v1/device-root" || vault id)`
//!   (45 bytes, so never the same input as a 32-byte `k_pin`), then HKDF-SHA256 expands it
//!   into the header MAC key, the counter MAC key, the key check value and the device-tier
//!   sealing key, each under its own info label.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::VaultError;
use crate::keystore::{KeystoreError, PlatformKeystore, PRF_LEN};
use crate::secret::{VaultKey, VAULT_KEY_LEN};

/// Format version written and accepted. Version 3: the PIN tier is sealed per account, each
/// account's KEK mixing its server's VOPRF output (issue 18; `header.rs`). Version 2 had one
/// PIN tier under a KEK of the PIN and the keystore only; version 1 kept one `secrets.bin`
/// and never rotated its data key. Older vaults are `UnsupportedVersion(1 | 2)`: they are not
/// migrated (docs/pin-guard.md says why) and their accounts must be enrolled again.
pub(crate) const VERSION: u16 = 3;
/// Length of the vault id.
pub(crate) const ID_LEN: usize = 16;
/// Length of the Argon2 salt.
pub(crate) const SALT_LEN: usize = 16;
/// Length of every symmetric key.
pub(crate) const KEY_LEN: usize = VAULT_KEY_LEN;
pub(crate) const TAG_LEN: usize = 16;
pub(crate) const KCV_LEN: usize = 16;
pub(crate) const MAC_LEN: usize = 32;

/// Magic of the header file.
pub(crate) const MAGIC_HEADER: &[u8; 4] = b"VLTH";
/// Magic of the PIN-tier secrets file (`sections.rs`).
pub(crate) const MAGIC_SECRETS: &[u8; 4] = b"VLTS";
/// Magic of the device-tier file.
pub(crate) const MAGIC_DEVICE: &[u8; 4] = b"VLTD";

pub(crate) const SEALED_PREFIX_LEN: usize = 4 + 2 + ID_LEN + 4;

/// Largest Argon2 memory a header may ask for (4 GiB), so a header cannot exhaust memory.
pub(crate) const MAX_M_KIB: u32 = 4 * 1024 * 1024;
/// Largest Argon2 pass count a header may ask for.
pub(crate) const MAX_T: u32 = 64;
/// Largest Argon2 lane count a header may ask for.
pub(crate) const MAX_P: u32 = 16;

const DEVICE_ROOT_LABEL: &[u8] = b"vistalid/vault/v1/device-root";

/// Fills `buf` from the OS CSPRNG.
pub(crate) fn random(buf: &mut [u8]) -> Result<(), VaultError> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| VaultError::Random)
}

/// A fresh random key.
pub(crate) fn random_key() -> Result<VaultKey, VaultError> {
    let mut k = VaultKey::zeroed();
    // EXPOSE: filled from the OS generator, in place.
    random(k.expose_mut())?;
    Ok(k)
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

pub(crate) fn hkdf_expand(salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    prk.expand(info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .expect("HKDF output lengths here are at most 32 bytes, far below 255 * 32");
}

/// Checks magic and version of any vault file.
pub(crate) fn check_magic(bytes: &[u8], magic: &[u8; 4]) -> Result<(), VaultError> {
    if bytes.len() < 6 || &bytes[..4] != magic {
        return Err(VaultError::Corrupt);
    }
    let version = u16::from_be_bytes([bytes[4], bytes[5]]);
    if version != VERSION {
        return Err(VaultError::UnsupportedVersion(version));
    }
    Ok(())
}

/// The keys derived from the keystore without the PIN.
pub(crate) struct DeviceKeys {
    pub(crate) header_mac: hmac::Key,
    counter_mac: hmac::Key,
    pub(crate) kcv: [u8; KCV_LEN],
    seal: VaultKey,
}

impl DeviceKeys {
    /// Derives the device keys of vault `vault_id` from one keystore PRF call.
    pub(crate) fn derive(
        keystore: &dyn PlatformKeystore,
        vault_id: &[u8; ID_LEN],
    ) -> Result<Self, VaultError> {
        let mut input = Vec::with_capacity(DEVICE_ROOT_LABEL.len() + ID_LEN);
        input.extend_from_slice(DEVICE_ROOT_LABEL);
        input.extend_from_slice(vault_id);
        let root = prf(keystore, &input)?;
        let mut mac = Zeroizing::new([0u8; KEY_LEN]);
        hkdf_expand(
            &[],
            &root,
            &[b"vistalid/header-mac/v1", vault_id],
            mac.as_mut(),
        );
        let header_mac = hmac::Key::new(hmac::HMAC_SHA256, mac.as_ref());
        hkdf_expand(
            &[],
            &root,
            &[b"vistalid/counter-mac/v1", vault_id],
            mac.as_mut(),
        );
        let counter_mac = hmac::Key::new(hmac::HMAC_SHA256, mac.as_ref());
        let mut kcv = [0u8; KCV_LEN];
        hkdf_expand(&[], &root, &[b"vistalid/kcv/v1", vault_id], &mut kcv);
        let mut seal = VaultKey::zeroed();
        hkdf_expand(
            &[],
            &root,
            &[b"vistalid/device/v1", vault_id],
            // EXPOSE: HKDF writes the device-tier key in place.
            seal.expose_mut(),
        );
        Ok(Self {
            header_mac,
            counter_mac,
            kcv,
            seal,
        })
    }

    /// The key that authenticates the attempt counter.
    pub(crate) fn counter_mac(&self) -> &hmac::Key {
        &self.counter_mac
    }

    /// The key that seals the device tier.
    pub(crate) fn seal_key(&self) -> &VaultKey {
        &self.seal
    }
}

/// The keystore PRF of `input`, refused unless it is exactly [`PRF_LEN`] bytes: a foreign
/// keystore that answers short (or empty) would otherwise leave the KEK to Argon2 alone, and
/// the device keys to nothing at all.
pub(crate) fn prf(
    keystore: &dyn PlatformKeystore,
    input: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let out = keystore.prf(input)?;
    if out.len() != PRF_LEN {
        return Err(VaultError::Keystore(KeystoreError::BadOutputLength(
            out.len(),
        )));
    }
    Ok(out)
}

pub(crate) fn aead_key(key: &VaultKey) -> LessSafeKey {
    LessSafeKey::new(
        // EXPOSE: ring's AEAD key schedule takes the raw key bytes.
        UnboundKey::new(&AES_256_GCM, key.expose()).expect("AES-256 keys are 32 bytes"),
    )
}

pub(crate) fn sealed_prefix(magic: &[u8; 4], vault_id: &[u8; ID_LEN], generation: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(SEALED_PREFIX_LEN);
    out.extend_from_slice(magic);
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(vault_id);
    out.extend_from_slice(&generation.to_be_bytes());
    out
}

fn sealed_aad(prefix: &[u8], label: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(prefix.len() + label.len());
    aad.extend_from_slice(prefix);
    aad.extend_from_slice(label);
    aad
}

/// Seals `plain` into a sealed file (see the module docs) with a fresh random nonce.
pub(crate) fn seal_file(
    magic: &[u8; 4],
    label: &[u8],
    key: &VaultKey,
    vault_id: &[u8; ID_LEN],
    generation: u32,
    plain: &[u8],
) -> Result<Vec<u8>, VaultError> {
    let prefix = sealed_prefix(magic, vault_id, generation);
    let mut nonce = [0u8; NONCE_LEN];
    random(&mut nonce)?;
    let mut buf = Zeroizing::new(Vec::with_capacity(plain.len() + TAG_LEN));
    buf.extend_from_slice(plain);
    aead_key(key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(sealed_aad(&prefix, label)),
            &mut *buf,
        )
        .map_err(|_| VaultError::Corrupt)?;
    let mut out = prefix;
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Opens a sealed file written by [`seal_file`] for vault `vault_id` and `generation`; any
/// mismatch or tampering is `Corrupt`.
pub(crate) fn open_file(
    magic: &[u8; 4],
    label: &[u8],
    key: &VaultKey,
    vault_id: &[u8; ID_LEN],
    generation: u32,
    bytes: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    check_magic(bytes, magic)?;
    if bytes.len() < SEALED_PREFIX_LEN + NONCE_LEN + TAG_LEN {
        return Err(VaultError::Corrupt);
    }
    let (prefix, rest) = bytes.split_at(SEALED_PREFIX_LEN);
    if prefix[6..] != sealed_prefix(magic, vault_id, generation)[6..] {
        return Err(VaultError::Corrupt);
    }
    let (nonce, ct) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| VaultError::Corrupt)?;
    let mut buf = Zeroizing::new(ct.to_vec());
    let len = aead_key(key)
        .open_in_place(nonce, Aad::from(sealed_aad(prefix, label)), &mut buf)
        .map_err(|_| VaultError::Corrupt)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

/// A bounds-checked big-endian reader; running out of input is `Corrupt`.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], VaultError> {
        if self.bytes.len() < N {
            return Err(VaultError::Corrupt);
        }
        let (head, tail) = self.bytes.split_at(N);
        self.bytes = tail;
        let mut out = [0u8; N];
        out.copy_from_slice(head);
        Ok(out)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, VaultError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, VaultError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], VaultError> {
        if self.bytes.len() < n {
            return Err(VaultError::Corrupt);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_file_binds_label_id_and_generation() {
        let key = random_key().expect("key");
        let id = [9u8; ID_LEN];
        let sealed = seal_file(MAGIC_SECRETS, b"s", &key, &id, 3, b"hello").expect("seal");
        let again = seal_file(MAGIC_SECRETS, b"s", &key, &id, 3, b"hello").expect("seal");
        assert_ne!(sealed, again, "fresh nonce per write");
        assert_eq!(
            open_file(MAGIC_SECRETS, b"s", &key, &id, 3, &sealed)
                .expect("open")
                .as_slice(),
            b"hello"
        );
        assert!(open_file(MAGIC_SECRETS, b"d", &key, &id, 3, &sealed).is_err());
        assert!(open_file(MAGIC_SECRETS, b"s", &key, &[8u8; ID_LEN], 3, &sealed).is_err());
        // Another generation than the one expected: refused even though the bytes are sound.
        assert!(open_file(MAGIC_SECRETS, b"s", &key, &id, 4, &sealed).is_err());
        let mut gen = sealed.clone();
        gen[25] ^= 1;
        assert!(open_file(MAGIC_SECRETS, b"s", &key, &id, 3, &gen).is_err());
        assert!(open_file(MAGIC_DEVICE, b"s", &key, &id, 3, &sealed).is_err());
    }
}
