// SPDX-License-Identifier: Apache-2.0
//! The PIN tier's file of one generation (`secrets.<g>.bin`): one sealed section per account,
//! each under that account's own data key.
//!
//! Layout (big-endian): magic `VLTS`, version `u16`, vault id (16), generation `u32`, the
//! number of sections `u16`, then per section: `u8` length and the account id, `u32` length
//! and the sealed section (a 12-byte nonce, the AES-256-GCM ciphertext and tag). The AAD of a
//! section is the 26-byte prefix, the label `vistalid/secrets/v3`, and the `u8` length and
//! account id: a section cannot move to another account, vault or generation.
//!
//! A section's plaintext: `u16` length and the account's confirmation key (PKCS#8, the key
//! that proves a successful unlock to its server), then the wallet's bytes.
//!
//! Guarantees: the file as a whole is not authenticated, each section is; a missing or
//! altered section is `Corrupt` when its account is opened, never another account's secrets;
//! sections of accounts the header does not list (left by a crash before a header write) are
//! ignored, and dropped at the next write. Parsing bounds every count and length.

use ring::aead::{Aad, Nonce, NONCE_LEN};
use zeroize::Zeroizing;

use super::envelope::{
    aead_key, check_magic, random, sealed_prefix, Reader, ID_LEN, MAGIC_SECRETS, SEALED_PREFIX_LEN,
    TAG_LEN,
};
use super::header::{MAX_ACCOUNTS, MAX_ACCOUNT_ID_LEN};
use super::VaultError;
use crate::keys::SigningKey;
use crate::secret::VaultKey;

const SECTION_LABEL: &[u8] = b"vistalid/secrets/v3";

/// One account's opened section.
pub(crate) struct Section {
    /// The key that proves a successful unlock to the account's server.
    pub(crate) confirm_key: SigningKey,
    /// The wallet's bytes.
    pub(crate) data: Zeroizing<Vec<u8>>,
}

/// The parsed file: its generation and the sealed sections, by account id.
pub(crate) struct SecretsFile {
    vault_id: [u8; ID_LEN],
    generation: u32,
    sections: Vec<(String, Vec<u8>)>,
}

impl SecretsFile {
    /// A file with no section.
    pub(crate) fn empty(vault_id: [u8; ID_LEN], generation: u32) -> Self {
        Self {
            vault_id,
            generation,
            sections: Vec::new(),
        }
    }

    /// Parses `bytes`, which must be the file of `vault_id` and `generation`.
    pub(crate) fn parse(
        bytes: &[u8],
        vault_id: &[u8; ID_LEN],
        generation: u32,
    ) -> Result<Self, VaultError> {
        check_magic(bytes, MAGIC_SECRETS)?;
        if bytes.len() < SEALED_PREFIX_LEN
            || bytes[..SEALED_PREFIX_LEN] != sealed_prefix(MAGIC_SECRETS, vault_id, generation)
        {
            return Err(VaultError::Corrupt);
        }
        let mut r = Reader::new(&bytes[SEALED_PREFIX_LEN..]);
        let n = usize::from(u16::from_be_bytes(r.array()?));
        if n > MAX_ACCOUNTS * 2 {
            return Err(VaultError::Corrupt);
        }
        let mut sections = Vec::with_capacity(n);
        for _ in 0..n {
            let [len] = r.array::<1>()?;
            let len = usize::from(len);
            if len == 0 || len > MAX_ACCOUNT_ID_LEN {
                return Err(VaultError::Corrupt);
            }
            let id = String::from_utf8(r.bytes(len)?.to_vec()).map_err(|_| VaultError::Corrupt)?;
            let sealed_len = usize::try_from(r.u32()?).map_err(|_| VaultError::Corrupt)?;
            if sealed_len < NONCE_LEN + TAG_LEN {
                return Err(VaultError::Corrupt);
            }
            sections.push((id, r.bytes(sealed_len)?.to_vec()));
        }
        if !r.is_empty() {
            return Err(VaultError::Corrupt);
        }
        Ok(Self {
            vault_id: *vault_id,
            generation,
            sections,
        })
    }

    /// The file's bytes.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = sealed_prefix(MAGIC_SECRETS, &self.vault_id, self.generation);
        let n = u16::try_from(self.sections.len()).expect("sections are bounded by the header");
        out.extend_from_slice(&n.to_be_bytes());
        for (id, sealed) in &self.sections {
            out.push(u8::try_from(id.len()).expect("account ids are at most 128 bytes"));
            out.extend_from_slice(id.as_bytes());
            let len = u32::try_from(sealed.len()).expect("sections are below the file bound");
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(sealed);
        }
        out
    }

    fn aad(&self, account_id: &str) -> Vec<u8> {
        let mut aad = sealed_prefix(MAGIC_SECRETS, &self.vault_id, self.generation);
        aad.extend_from_slice(SECTION_LABEL);
        aad.push(u8::try_from(account_id.len()).expect("account ids are at most 128 bytes"));
        aad.extend_from_slice(account_id.as_bytes());
        aad
    }

    /// Opens `account_id`'s section with its data key; missing or altered is `Corrupt`.
    pub(crate) fn open(
        &self,
        account_id: &str,
        data_key: &VaultKey,
    ) -> Result<Section, VaultError> {
        let (_, sealed) = self
            .sections
            .iter()
            .find(|(id, _)| id == account_id)
            .ok_or(VaultError::Corrupt)?;
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| VaultError::Corrupt)?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let plain = aead_key(data_key)
            .open_in_place(nonce, Aad::from(self.aad(account_id)), &mut buf)
            .map_err(|_| VaultError::Corrupt)?;
        let mut r = Reader::new(plain);
        let len = usize::from(u16::from_be_bytes(r.array()?));
        let confirm_key = SigningKey::from_pkcs8(r.bytes(len)?).map_err(|_| VaultError::Corrupt)?;
        let data = Zeroizing::new(r.bytes(plain.len() - 2 - len)?.to_vec());
        Ok(Section { confirm_key, data })
    }

    /// Seals `data` (with `confirm_key`) as `account_id`'s section, replacing an earlier one.
    pub(crate) fn put(
        &mut self,
        account_id: &str,
        data_key: &VaultKey,
        confirm_key: &SigningKey,
        data: &[u8],
    ) -> Result<(), VaultError> {
        // EXPOSE: the confirmation key is sealed with the section; the buffer is wiped.
        let pkcs8 = confirm_key.to_pkcs8();
        let len = u16::try_from(pkcs8.len()).map_err(|_| VaultError::Corrupt)?;
        let mut buf = Zeroizing::new(Vec::with_capacity(2 + pkcs8.len() + data.len() + TAG_LEN));
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(pkcs8);
        buf.extend_from_slice(data);
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut nonce)?;
        aead_key(data_key)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad(account_id)),
                &mut *buf,
            )
            .map_err(|_| VaultError::Corrupt)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&buf);
        self.sections.retain(|(id, _)| id != account_id);
        self.sections.push((account_id.to_owned(), sealed));
        Ok(())
    }

    /// Keeps only the sections of the accounts `keep` lists.
    pub(crate) fn retain_accounts<'a>(&mut self, keep: impl Fn(&str) -> bool + 'a) {
        self.sections.retain(|(id, _)| keep(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::envelope::random_key;

    #[test]
    fn sections_are_bound_to_account_vault_and_generation() {
        let id = [7u8; ID_LEN];
        let (ka, kb) = (random_key().expect("k"), random_key().expect("k"));
        let confirm = SigningKey::make().expect("key");
        let mut file = SecretsFile::empty(id, 3);
        file.put("a", &ka, &confirm, b"alpha").expect("put");
        file.put("b", &kb, &confirm, b"beta").expect("put");
        let bytes = file.to_bytes();
        let back = SecretsFile::parse(&bytes, &id, 3).expect("parse");
        let a = back.open("a", &ka).expect("open");
        assert_eq!(a.data.as_slice(), b"alpha");
        assert_eq!(a.confirm_key.public_key(), confirm.public_key());
        assert!(back.open("a", &kb).is_err(), "b's key opens nothing of a");
        assert!(back.open("c", &ka).is_err());
        assert!(
            SecretsFile::parse(&bytes, &id, 4).is_err(),
            "other generation"
        );
        assert!(
            SecretsFile::parse(&bytes, &[8u8; ID_LEN], 3).is_err(),
            "other vault"
        );
        // A section renamed to another account does not open.
        let mut swapped = SecretsFile::parse(&bytes, &id, 3).expect("parse");
        swapped.sections[0].0 = "b".into();
        swapped.sections[1].0 = "a".into();
        assert!(swapped.open("a", &ka).is_err());
        for i in 0..bytes.len() {
            let mut v = bytes.clone();
            v[i] ^= 0x01;
            let ok = SecretsFile::parse(&v, &id, 3)
                .and_then(|f| Ok((f.open("a", &ka)?, f.open("b", &kb)?)))
                .map(|(a, b)| a.data.as_slice() == b"alpha" && b.data.as_slice() == b"beta");
            assert!(!matches!(ok, Ok(true)), "byte {i}");
        }
        let mut f = SecretsFile::parse(&bytes, &id, 3).expect("parse");
        f.retain_accounts(|a| a == "b");
        assert!(f.open("a", &ka).is_err());
        assert_eq!(f.open("b", &kb).expect("b").data.as_slice(), b"beta");
    }
}
