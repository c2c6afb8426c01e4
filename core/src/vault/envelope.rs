// SPDX-License-Identifier: Apache-2.0
//! The vault's binary formats and the key schedule.
//!
//! All integers are big-endian. Every file starts with a 4-byte magic and a `u16` format
//! version ([`VERSION`]); a reader refuses other versions with `UnsupportedVersion`.
//!
//! Header file (`vault.hdr`, [`HEADER_FILE_LEN`] bytes):
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `VLTH` |
//! | 2 | version |
//! | 16 | vault id (random) |
//! | 4 | generation (starts at 1, +1 per PIN change) |
//! | 4 + 4 + 4 | Argon2id `m` (KiB), `t`, `p` |
//! | 16 | Argon2 salt (random, new per PIN change) |
//! | 12 | nonce of the wrapped data key |
//! | 48 | data key sealed with AES-256-GCM under the KEK, AAD = the 54 bytes above |
//! | 16 | key check value: proves which keystore key wrote the file |
//! | 32 | HMAC-SHA256 of all the bytes above, under a keystore-derived key |
//!
//! Sealed file (`secrets.<g>.bin` magic `VLTS`, `device.bin` magic `VLTD`): magic, version,
//! vault id, generation (`u32`), 12-byte nonce, AES-256-GCM ciphertext and tag. The AAD is
//! the 26-byte prefix followed by the file's label, so a file cannot be swapped for another
//! vault's, another tier's or be given another generation; the reader also checks that the
//! prefix names the vault and generation it expects. Each generation of the PIN tier has its
//! own random data key (rotated at every PIN change); the device tier is generation 0.
//! Which file is written when is in `layout.rs`.
//!
//! Key schedule:
//! - `k_pin = Argon2id(PIN, salt, m, t, p, AD = vault id)`, 32 bytes.
//! - `k_hw = keystore.prf(k_pin)`.
//! - `kek = HKDF-SHA256(salt = "", ikm = k_hw || k_pin, info = "vistalid/kek/v1" || vault id
//!   || generation)`.
//! - Every keystore PRF output must be exactly 32 bytes ([`prf`]); anything else is refused.
//! - Device keys (no PIN): `root = keystore.prf("vistalid/vault/v1/device-root" || vault id)`
//!   (45 bytes, so never the same input as a 32-byte `k_pin`), then HKDF-SHA256 expands it
//!   into the header MAC key, the counter MAC key, the key check value and the device-tier
//!   sealing key, each under its own info label.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{Argon2Params, VaultError};
use crate::keystore::{KeystoreError, PlatformKeystore, PRF_LEN};
use crate::secret::{VaultKey, VAULT_KEY_LEN};

/// Format version written and accepted. Version 2: the PIN tier lives in one file per
/// generation (`secrets.<g>.bin`) and its data key rotates at every PIN change (version 1 had
/// one `secrets.bin` and kept the data key); a version-1 vault is `UnsupportedVersion(1)`.
pub(crate) const VERSION: u16 = 2;
/// Length of the vault id.
pub(crate) const ID_LEN: usize = 16;
/// Length of the Argon2 salt.
pub(crate) const SALT_LEN: usize = 16;
/// Length of every symmetric key.
pub(crate) const KEY_LEN: usize = VAULT_KEY_LEN;
const TAG_LEN: usize = 16;
const KCV_LEN: usize = 16;
const MAC_LEN: usize = 32;

/// Magic of the header file.
pub(crate) const MAGIC_HEADER: &[u8; 4] = b"VLTH";
/// Magic of the PIN-tier secrets file.
pub(crate) const MAGIC_SECRETS: &[u8; 4] = b"VLTS";
/// Magic of the device-tier file.
pub(crate) const MAGIC_DEVICE: &[u8; 4] = b"VLTD";

/// Length of the authenticated header (the AAD of the wrapped data key).
pub(crate) const HEADER_LEN: usize = 4 + 2 + ID_LEN + 4 + 12 + SALT_LEN;
const WRAPPED_LEN: usize = KEY_LEN + TAG_LEN;
/// Length of the whole header file.
pub(crate) const HEADER_FILE_LEN: usize = HEADER_LEN + NONCE_LEN + WRAPPED_LEN + KCV_LEN + MAC_LEN;
const SEALED_PREFIX_LEN: usize = 4 + 2 + ID_LEN + 4;

/// Largest Argon2 memory a header may ask for (4 GiB), so a header cannot exhaust memory.
pub(crate) const MAX_M_KIB: u32 = 4 * 1024 * 1024;
/// Largest Argon2 pass count a header may ask for.
pub(crate) const MAX_T: u32 = 64;
/// Largest Argon2 lane count a header may ask for.
pub(crate) const MAX_P: u32 = 16;

const KEK_INFO: &[u8] = b"vistalid/kek/v1";
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

fn hkdf_expand(salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    prk.expand(info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .expect("HKDF output lengths here are at most 32 bytes, far below 255 * 32");
}

/// The vault's authenticated header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) vault_id: [u8; ID_LEN],
    pub(crate) generation: u32,
    pub(crate) argon2: Argon2Params,
    pub(crate) salt: [u8; SALT_LEN],
}

impl Header {
    pub(crate) fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let mut w = Writer::new(&mut out);
        w.put(MAGIC_HEADER);
        w.put(&VERSION.to_be_bytes());
        w.put(&self.vault_id);
        w.put(&self.generation.to_be_bytes());
        w.put(&self.argon2.m_kib.to_be_bytes());
        w.put(&self.argon2.t.to_be_bytes());
        w.put(&self.argon2.p.to_be_bytes());
        w.put(&self.salt);
        out
    }
}

/// The header file: header, wrapped data key, key check value and MAC.
#[derive(Debug, Clone)]
pub(crate) struct HeaderFile {
    pub(crate) header: Header,
    wrap_nonce: [u8; NONCE_LEN],
    wrapped: [u8; WRAPPED_LEN],
    kcv: [u8; KCV_LEN],
    mac: [u8; MAC_LEN],
}

/// Checks magic and version of any vault file.
fn check_magic(bytes: &[u8], magic: &[u8; 4]) -> Result<(), VaultError> {
    if bytes.len() < 6 || &bytes[..4] != magic {
        return Err(VaultError::Corrupt);
    }
    let version = u16::from_be_bytes([bytes[4], bytes[5]]);
    if version != VERSION {
        return Err(VaultError::UnsupportedVersion(version));
    }
    Ok(())
}

impl HeaderFile {
    /// Builds a header file: wraps `data_key` under `kek` and authenticates it with `dev`.
    pub(crate) fn seal(
        header: Header,
        kek: &VaultKey,
        data_key: &VaultKey,
        dev: &DeviceKeys,
    ) -> Result<Self, VaultError> {
        let mut wrap_nonce = [0u8; NONCE_LEN];
        random(&mut wrap_nonce)?;
        // EXPOSE: the data key is sealed in place under the KEK; the buffer is wiped on drop.
        let mut buf = Zeroizing::new(data_key.expose().to_vec());
        aead_key(kek)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(wrap_nonce),
                Aad::from(header.to_bytes()),
                &mut *buf,
            )
            .map_err(|_| VaultError::Corrupt)?;
        let mut wrapped = [0u8; WRAPPED_LEN];
        wrapped.copy_from_slice(&buf);
        let mut file = Self {
            header,
            wrap_nonce,
            wrapped,
            kcv: dev.kcv,
            mac: [0u8; MAC_LEN],
        };
        let tag = hmac::sign(
            &dev.header_mac,
            &file.to_bytes()[..HEADER_FILE_LEN - MAC_LEN],
        );
        file.mac.copy_from_slice(tag.as_ref());
        Ok(file)
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_FILE_LEN);
        out.extend_from_slice(&self.header.to_bytes());
        out.extend_from_slice(&self.wrap_nonce);
        out.extend_from_slice(&self.wrapped);
        out.extend_from_slice(&self.kcv);
        out.extend_from_slice(&self.mac);
        out
    }

    /// Parses the header file's structure (not its MAC: see [`HeaderFile::verify`]).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, VaultError> {
        check_magic(bytes, MAGIC_HEADER)?;
        if bytes.len() != HEADER_FILE_LEN {
            return Err(VaultError::Corrupt);
        }
        let mut r = Reader::new(&bytes[6..]);
        let vault_id = r.array()?;
        let generation = r.u32()?;
        let argon2 = Argon2Params {
            m_kib: r.u32()?,
            t: r.u32()?,
            p: r.u32()?,
        };
        let salt = r.array()?;
        let wrap_nonce = r.array()?;
        let wrapped = r.array()?;
        let kcv = r.array()?;
        let mac = r.array()?;
        Ok(Self {
            header: Header {
                vault_id,
                generation,
                argon2,
                salt,
            },
            wrap_nonce,
            wrapped,
            kcv,
            mac,
        })
    }

    /// Authenticates the file with the device keys: `KeystoreMismatch` when the key check
    /// value says another keystore key wrote it, `Corrupt` on any other MAC failure or
    /// parameters out of range.
    pub(crate) fn verify(&self, dev: &DeviceKeys) -> Result<(), VaultError> {
        let bytes = self.to_bytes();
        if hmac::verify(
            &dev.header_mac,
            &bytes[..HEADER_FILE_LEN - MAC_LEN],
            &self.mac,
        )
        .is_err()
        {
            return Err(if bool::from(self.kcv.ct_eq(&dev.kcv)) {
                VaultError::Corrupt
            } else {
                VaultError::KeystoreMismatch
            });
        }
        let a = self.header.argon2;
        if !a.is_in_range() || self.header.generation < 1 {
            return Err(VaultError::Corrupt);
        }
        Ok(())
    }

    /// Opens the wrapped data key with `kek`; `None` when the KEK is wrong (wrong PIN, as
    /// the file was authenticated before).
    pub(crate) fn unwrap_key(&self, kek: &VaultKey) -> Option<VaultKey> {
        let mut buf = Zeroizing::new(self.wrapped.to_vec());
        let plain = aead_key(kek)
            .open_in_place(
                Nonce::assume_unique_for_key(self.wrap_nonce),
                Aad::from(self.header.to_bytes()),
                &mut buf,
            )
            .ok()?;
        let mut key = VaultKey::zeroed();
        // EXPOSE: the unwrapped data key is copied into its own wiped box.
        key.expose_mut().copy_from_slice(plain);
        Some(key)
    }
}

/// The keys derived from the keystore without the PIN.
pub(crate) struct DeviceKeys {
    header_mac: hmac::Key,
    counter_mac: hmac::Key,
    kcv: [u8; KCV_LEN],
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

/// `kek = HKDF-SHA256(ikm = k_hw || k_pin, info = "vistalid/kek/v1" || id || generation)`.
pub(crate) fn derive_kek(k_hw: &[u8], k_pin: &[u8], header: &Header) -> VaultKey {
    let mut ikm = Zeroizing::new(Vec::with_capacity(k_hw.len() + k_pin.len()));
    ikm.extend_from_slice(k_hw);
    ikm.extend_from_slice(k_pin);
    let mut kek = VaultKey::zeroed();
    hkdf_expand(
        &[],
        &ikm,
        &[KEK_INFO, &header.vault_id, &header.generation.to_be_bytes()],
        // EXPOSE: HKDF writes the KEK in place.
        kek.expose_mut(),
    );
    kek
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

fn aead_key(key: &VaultKey) -> LessSafeKey {
    LessSafeKey::new(
        // EXPOSE: ring's AEAD key schedule takes the raw key bytes.
        UnboundKey::new(&AES_256_GCM, key.expose()).expect("AES-256 keys are 32 bytes"),
    )
}

fn sealed_prefix(magic: &[u8; 4], vault_id: &[u8; ID_LEN], generation: u32) -> Vec<u8> {
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
}

struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl<'a> Writer<'a> {
    fn new(out: &'a mut [u8]) -> Self {
        Self { out, at: 0 }
    }

    fn put(&mut self, bytes: &[u8]) {
        self.out[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystore::MemoryKeystore;

    fn header() -> Header {
        Header {
            vault_id: [1u8; ID_LEN],
            generation: 1,
            argon2: Argon2Params::insecure_fast_for_tests(),
            salt: [2u8; SALT_LEN],
        }
    }

    #[test]
    fn header_file_round_trip_and_keystore_binding() {
        let ks = MemoryKeystore::new();
        let dev = DeviceKeys::derive(&ks, &[1u8; ID_LEN]).expect("dev");
        let kek = random_key().expect("kek");
        let dk = random_key().expect("dk");
        let file = HeaderFile::seal(header(), &kek, &dk, &dev).expect("seal");
        let bytes = file.to_bytes();
        assert_eq!(bytes.len(), HEADER_FILE_LEN);
        assert_eq!(HEADER_FILE_LEN, 54 + NONCE_LEN + 48 + 16 + 32);
        let parsed = HeaderFile::parse(&bytes).expect("parse");
        parsed.verify(&dev).expect("verify");
        // EXPOSE: test compares the unwrapped key with the original.
        assert_eq!(
            parsed.unwrap_key(&kek).expect("unwrap").expose(),
            dk.expose()
        );
        assert!(parsed.unwrap_key(&random_key().expect("k")).is_none());
        let other = DeviceKeys::derive(&MemoryKeystore::new(), &[1u8; ID_LEN]).expect("dev");
        assert!(matches!(
            parsed.verify(&other),
            Err(VaultError::KeystoreMismatch)
        ));
        for other in [1u8, 3] {
            let mut v = bytes.clone();
            v[5] = other;
            assert_eq!(
                HeaderFile::parse(&v).err(),
                Some(VaultError::UnsupportedVersion(u16::from(other)))
            );
        }
    }

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
