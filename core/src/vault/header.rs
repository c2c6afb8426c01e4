// SPDX-License-Identifier: Apache-2.0
//! The header file (`vault.hdr`) of format 3 and the per-account key schedule.
//!
//! All integers are big-endian. Layout:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `VLTH` |
//! | 2 | version (3) |
//! | 16 | vault id (random) |
//! | 4 | generation (starts at 1, +1 per PIN change) |
//! | 4 + 4 + 4 | Argon2id `m` (KiB), `t`, `p` |
//! | 16 | Argon2 salt (random, new per PIN change) |
//! | 2 | number of accounts `N` (at most [`MAX_ACCOUNTS`]) |
//! | N × entry | per account: `u8` length and the account id (UTF-8, 1..=128 bytes); `u8` length and the server's OPRF key id (1..=64 bytes); the pinned OPRF public key (33, compressed SEC1); the 12-byte nonce and the 48-byte AES-256-GCM seal of the account's data key under its KEK, AAD = the 58 fixed bytes above the count followed by the entry's id, key id and public key |
//! | 16 | key check value: proves which keystore key wrote the file |
//! | 32 | HMAC-SHA256 of all the bytes above, under a keystore-derived key |
//!
//! Key schedule of account `a`:
//! - `k_pin = Argon2id(PIN, salt, m, t, p, AD = vault id)`, 32 bytes (once per unlock);
//! - `k_hw = keystore.prf(k_pin)`, exactly 32 bytes;
//! - `y_a = VOPRF_a(k_hw)`: `k_hw` blinded, evaluated by account `a`'s server with the key
//!   the entry pins, the proof checked, finalized (RFC 9497, P256-SHA256);
//! - `kek_a = HKDF-SHA256(salt = "", ikm = k_hw || k_pin || y_a, info = "vistalid/kek/v3" ||
//!   vault id || generation || u8 length || account id)`.
//!
//! Guarantees: [`HeaderFile::parse`] never panics and bounds every count and length;
//! [`HeaderFile::verify`] authenticates every byte (account list included) before any of it is
//! used; an entry's wrapped key is bound to its account id, key id and pinned key, to the
//! vault, generation, Argon2 parameters and salt.

use ring::aead::{Aad, Nonce, NONCE_LEN};
use ring::hmac;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::envelope::{
    aead_key, check_magic, hkdf_expand, random, DeviceKeys, Reader, ID_LEN, KCV_LEN, KEY_LEN,
    MAC_LEN, MAGIC_HEADER, SALT_LEN, TAG_LEN, VERSION,
};
use super::{Argon2Params, VaultError};
use crate::oprf::{OprfPublicKey, ELEMENT_LEN};
use crate::secret::VaultKey;

/// Most accounts one vault holds.
pub(crate) const MAX_ACCOUNTS: usize = 32;
/// Longest account id, in bytes.
pub(crate) const MAX_ACCOUNT_ID_LEN: usize = 128;
/// Longest OPRF key id, in bytes.
pub(crate) const MAX_KEY_ID_LEN: usize = 64;
/// Length of the fixed part of the header (magic to salt).
pub(crate) const FIXED_LEN: usize = 4 + 2 + ID_LEN + 4 + 12 + SALT_LEN;
const WRAPPED_LEN: usize = KEY_LEN + TAG_LEN;
const KEK_INFO: &[u8] = b"vistalid/kek/v3";

/// The vault-wide part of the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) vault_id: [u8; ID_LEN],
    pub(crate) generation: u32,
    pub(crate) argon2: Argon2Params,
    pub(crate) salt: [u8; SALT_LEN],
}

impl Header {
    fn fixed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED_LEN);
        out.extend_from_slice(MAGIC_HEADER);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&self.vault_id);
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&self.argon2.m_kib.to_be_bytes());
        out.extend_from_slice(&self.argon2.t.to_be_bytes());
        out.extend_from_slice(&self.argon2.p.to_be_bytes());
        out.extend_from_slice(&self.salt);
        out
    }
}

/// One account's entry: what its server's OPRF step uses, and its wrapped data key.
#[derive(Debug, Clone)]
pub(crate) struct AccountEntry {
    pub(crate) account_id: String,
    pub(crate) key_id: String,
    pub(crate) server_key: OprfPublicKey,
    wrap_nonce: [u8; NONCE_LEN],
    wrapped: [u8; WRAPPED_LEN],
}

/// Checks the lengths an entry's names may have.
pub(crate) fn check_names(account_id: &str, key_id: &str) -> Result<(), VaultError> {
    let ok = |s: &str, max| !s.is_empty() && s.len() <= max;
    if !ok(account_id, MAX_ACCOUNT_ID_LEN) || !ok(key_id, MAX_KEY_ID_LEN) {
        return Err(VaultError::InvalidConfig(
            "account id (1..=128 bytes) or OPRF key id (1..=64 bytes) out of range",
        ));
    }
    Ok(())
}

impl AccountEntry {
    /// Wraps `data_key` under `kek` for the account.
    pub(crate) fn seal(
        header: &Header,
        account_id: &str,
        key_id: &str,
        server_key: &OprfPublicKey,
        kek: &VaultKey,
        data_key: &VaultKey,
    ) -> Result<Self, VaultError> {
        check_names(account_id, key_id)?;
        let mut entry = Self {
            account_id: account_id.to_owned(),
            key_id: key_id.to_owned(),
            server_key: server_key.clone(),
            wrap_nonce: [0u8; NONCE_LEN],
            wrapped: [0u8; WRAPPED_LEN],
        };
        random(&mut entry.wrap_nonce)?;
        // EXPOSE: the data key is sealed in place under the KEK; the buffer is wiped on drop.
        let mut buf = Zeroizing::new(data_key.expose().to_vec());
        aead_key(kek)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(entry.wrap_nonce),
                Aad::from(entry.aad(header)),
                &mut *buf,
            )
            .map_err(|_| VaultError::Corrupt)?;
        entry.wrapped.copy_from_slice(&buf);
        Ok(entry)
    }

    /// Opens the wrapped data key with `kek`; `None` when the KEK is wrong (a wrong PIN, the
    /// header being authenticated before).
    pub(crate) fn unwrap_key(&self, header: &Header, kek: &VaultKey) -> Option<VaultKey> {
        let mut buf = Zeroizing::new(self.wrapped.to_vec());
        let plain = aead_key(kek)
            .open_in_place(
                Nonce::assume_unique_for_key(self.wrap_nonce),
                Aad::from(self.aad(header)),
                &mut buf,
            )
            .ok()?;
        let mut key = VaultKey::zeroed();
        // EXPOSE: the unwrapped data key is copied into its own wiped box.
        key.expose_mut().copy_from_slice(plain);
        Some(key)
    }

    fn names_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_name(&mut out, &self.account_id);
        put_name(&mut out, &self.key_id);
        out.extend_from_slice(&self.server_key.to_bytes());
        out
    }

    fn aad(&self, header: &Header) -> Vec<u8> {
        let mut aad = header.fixed_bytes();
        aad.extend_from_slice(&self.names_bytes());
        aad
    }
}

fn put_name(out: &mut Vec<u8>, name: &str) {
    let len = u8::try_from(name.len()).expect("names are checked to be at most 128 bytes");
    out.push(len);
    out.extend_from_slice(name.as_bytes());
}

fn read_name(r: &mut Reader<'_>, max: usize) -> Result<String, VaultError> {
    let [len] = r.array::<1>()?;
    let len = usize::from(len);
    if len == 0 || len > max {
        return Err(VaultError::Corrupt);
    }
    String::from_utf8(r.bytes(len)?.to_vec()).map_err(|_| VaultError::Corrupt)
}

/// The header file: the vault-wide header, the account entries, the key check value, the MAC.
#[derive(Debug, Clone)]
pub(crate) struct HeaderFile {
    pub(crate) header: Header,
    pub(crate) accounts: Vec<AccountEntry>,
    kcv: [u8; KCV_LEN],
    mac: [u8; MAC_LEN],
}

impl HeaderFile {
    /// Builds and authenticates a header file with `dev`.
    pub(crate) fn seal(
        header: Header,
        accounts: Vec<AccountEntry>,
        dev: &DeviceKeys,
    ) -> Result<Self, VaultError> {
        if accounts.len() > MAX_ACCOUNTS {
            return Err(VaultError::InvalidConfig("too many accounts in one vault"));
        }
        let mut file = Self {
            header,
            accounts,
            kcv: dev.kcv,
            mac: [0u8; MAC_LEN],
        };
        let tag = hmac::sign(&dev.header_mac, &file.body());
        file.mac.copy_from_slice(tag.as_ref());
        Ok(file)
    }

    /// Everything the MAC covers.
    fn body(&self) -> Vec<u8> {
        let mut out = self.header.fixed_bytes();
        let n = u16::try_from(self.accounts.len()).expect("at most MAX_ACCOUNTS accounts");
        out.extend_from_slice(&n.to_be_bytes());
        for a in &self.accounts {
            out.extend_from_slice(&a.names_bytes());
            out.extend_from_slice(&a.wrap_nonce);
            out.extend_from_slice(&a.wrapped);
        }
        out.extend_from_slice(&self.kcv);
        out
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body();
        out.extend_from_slice(&self.mac);
        out
    }

    /// Parses the structure (not the MAC: see [`HeaderFile::verify`]).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, VaultError> {
        check_magic(bytes, MAGIC_HEADER)?;
        let mut r = Reader::new(&bytes[6..]);
        let vault_id = r.array()?;
        let generation = r.u32()?;
        let argon2 = Argon2Params {
            m_kib: r.u32()?,
            t: r.u32()?,
            p: r.u32()?,
        };
        let salt = r.array()?;
        let n = usize::from(u16::from_be_bytes(r.array()?));
        if n > MAX_ACCOUNTS {
            return Err(VaultError::Corrupt);
        }
        let mut accounts = Vec::with_capacity(n);
        for _ in 0..n {
            let account_id = read_name(&mut r, MAX_ACCOUNT_ID_LEN)?;
            let key_id = read_name(&mut r, MAX_KEY_ID_LEN)?;
            let server_key = OprfPublicKey::from_bytes(&r.array::<ELEMENT_LEN>()?)
                .map_err(|_| VaultError::Corrupt)?;
            accounts.push(AccountEntry {
                account_id,
                key_id,
                server_key,
                wrap_nonce: r.array()?,
                wrapped: r.array()?,
            });
        }
        let kcv = r.array()?;
        let mac = r.array()?;
        if !r.is_empty() {
            return Err(VaultError::Corrupt);
        }
        Ok(Self {
            header: Header {
                vault_id,
                generation,
                argon2,
                salt,
            },
            accounts,
            kcv,
            mac,
        })
    }

    /// Authenticates the file with the device keys: `KeystoreMismatch` when the key check
    /// value says another keystore key wrote it, `Corrupt` on any other MAC failure, on
    /// parameters out of range or on an account listed twice.
    pub(crate) fn verify(&self, dev: &DeviceKeys) -> Result<(), VaultError> {
        if hmac::verify(&dev.header_mac, &self.body(), &self.mac).is_err() {
            return Err(if bool::from(self.kcv.ct_eq(&dev.kcv)) {
                VaultError::Corrupt
            } else {
                VaultError::KeystoreMismatch
            });
        }
        if !self.header.argon2.is_in_range() || self.header.generation < 1 {
            return Err(VaultError::Corrupt);
        }
        for (i, a) in self.accounts.iter().enumerate() {
            if self.accounts[..i]
                .iter()
                .any(|b| b.account_id == a.account_id)
            {
                return Err(VaultError::Corrupt);
            }
        }
        Ok(())
    }

    /// The entry of `account_id`.
    pub(crate) fn account(&self, account_id: &str) -> Option<&AccountEntry> {
        self.accounts.iter().find(|a| a.account_id == account_id)
    }
}

/// `kek_a = HKDF-SHA256(ikm = k_hw || k_pin || y_a, info = "vistalid/kek/v3" || vault id ||
/// generation || u8 length || account id)`.
pub(crate) fn derive_kek(
    k_hw: &[u8],
    k_pin: &[u8],
    y: &[u8],
    header: &Header,
    account_id: &str,
) -> VaultKey {
    let mut ikm = Zeroizing::new(Vec::with_capacity(k_hw.len() + k_pin.len() + y.len()));
    ikm.extend_from_slice(k_hw);
    ikm.extend_from_slice(k_pin);
    ikm.extend_from_slice(y);
    let mut name = Vec::with_capacity(1 + account_id.len());
    put_name(&mut name, account_id);
    let mut kek = VaultKey::zeroed();
    hkdf_expand(
        &[],
        &ikm,
        &[
            KEK_INFO,
            &header.vault_id,
            &header.generation.to_be_bytes(),
            &name,
        ],
        // EXPOSE: HKDF writes the KEK in place.
        kek.expose_mut(),
    );
    kek
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystore::MemoryKeystore;
    use crate::oprf::OprfServerKey;

    fn header() -> Header {
        Header {
            vault_id: [1u8; ID_LEN],
            generation: 1,
            argon2: Argon2Params::insecure_fast_for_tests(),
            salt: [2u8; SALT_LEN],
        }
    }

    #[test]
    fn header_file_round_trip_binds_accounts_and_keystore() {
        let ks = MemoryKeystore::new();
        let dev = DeviceKeys::derive(&ks, &[1u8; ID_LEN]).expect("dev");
        let pk = OprfServerKey::make().expect("key").public_key();
        let (kek, dk) = (
            super::super::envelope::random_key().expect("k"),
            super::super::envelope::random_key().expect("k"),
        );
        let h = header();
        let a = AccountEntry::seal(&h, "acct-1", "key-1", &pk, &kek, &dk).expect("seal");
        let b = AccountEntry::seal(&h, "acct-2", "key-2", &pk, &dk, &kek).expect("seal");
        let file = HeaderFile::seal(h.clone(), vec![a, b], &dev).expect("seal");
        let bytes = file.to_bytes();
        let parsed = HeaderFile::parse(&bytes).expect("parse");
        parsed.verify(&dev).expect("verify");
        let a = parsed.account("acct-1").expect("a");
        // EXPOSE: test compares the unwrapped key with the original.
        assert_eq!(
            a.unwrap_key(&h, &kek).expect("unwrap").expose(),
            dk.expose()
        );
        assert!(a.unwrap_key(&h, &dk).is_none());
        // An entry's key does not open under another generation's header.
        let mut h2 = h.clone();
        h2.generation = 2;
        assert!(a.unwrap_key(&h2, &kek).is_none());
        let other = DeviceKeys::derive(&MemoryKeystore::new(), &[1u8; ID_LEN]).expect("dev");
        assert_eq!(parsed.verify(&other), Err(VaultError::KeystoreMismatch));
        for i in 0..bytes.len() {
            let mut v = bytes.clone();
            v[i] ^= 0x10;
            let refused = HeaderFile::parse(&v).and_then(|f| f.verify(&dev)).is_err();
            assert!(refused, "byte {i}");
        }
        assert!(HeaderFile::parse(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(HeaderFile::parse(&longer).is_err());
        let mut v2 = bytes.clone();
        v2[5] = 2;
        assert_eq!(
            HeaderFile::parse(&v2).err(),
            Some(VaultError::UnsupportedVersion(2))
        );
    }

    #[test]
    fn kek_depends_on_every_input() {
        let h = header();
        let base = derive_kek(&[1; 32], &[2; 32], &[3; 32], &h, "a");
        let mut h2 = h.clone();
        h2.generation = 2;
        for other in [
            derive_kek(&[9; 32], &[2; 32], &[3; 32], &h, "a"),
            derive_kek(&[1; 32], &[9; 32], &[3; 32], &h, "a"),
            derive_kek(&[1; 32], &[2; 32], &[9; 32], &h, "a"),
            derive_kek(&[1; 32], &[2; 32], &[3; 32], &h2, "a"),
            derive_kek(&[1; 32], &[2; 32], &[3; 32], &h, "b"),
        ] {
            // EXPOSE: test compares derived keys.
            assert_ne!(base.expose(), other.expose());
        }
    }
}
