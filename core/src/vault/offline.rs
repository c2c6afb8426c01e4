// SPDX-License-Identifier: Apache-2.0
//! The offline-code secrets (issue 16): per account, its TOTP secret masked by a pad that
//! needs the PIN and the keystore, but **not** the account's server (docs/offline-code.md).
//!
//! `pad_a = HKDF-SHA256(k_hw || k_pin, "vistalid/offline-pad/v1" || vault id || generation ||
//! len || account id)` (32 bytes) with `k_pin = Argon2id(PIN, salt)` and `k_hw =
//! keystore.prf(k_pin)` of the header's generation, and the file keeps `secret XOR pad_a`.
//!
//! Guarantees:
//! - **No PIN oracle.** The masked secret carries no tag or check value: a wrong PIN gives a
//!   wrong secret, hence a wrong code, which only the server can tell (and counts: 5 wrong
//!   codes lock the fallback for 15 minutes). Whoever copies the vault and its keystore
//!   cannot test PINs against this file; they could against one code they saw on the screen
//!   (docs/offline-code.md says what that trades away).
//! - The file (`offline.bin`, magic `VLTO`) is sealed like the device tier, under a
//!   keystore-derived key bound to the vault id: without this phone's keystore it is noise,
//!   and any change is `Corrupt`.
//! - An entry is bound to a generation: a PIN change re-masks every entry under the new
//!   PIN's pad, writing the new generation's entries beside the old ones before the header's
//!   commit point, so a kill leaves the entry of whichever PIN works.
//! - A vault without the file (older than issue 16, or an account enrolled with a server that
//!   offers no fallback) opens as before: its accounts simply have no offline secret
//!   ([`VaultError::NoOfflineSecret`]).

use zeroize::Zeroizing;

use super::attempt::PinKeys;
use super::envelope::{self, hkdf_expand, DeviceKeys, Reader, ID_LEN, KEY_LEN};
use super::header::{Header, HeaderFile};
use super::{io_err, storage, Inner, VaultError};
use crate::totp::{TotpSecret, SECRET_LEN};

/// The file of the masked secrets.
pub(crate) const OFFLINE_FILE: &str = "offline.bin";
/// Magic of the file.
const MAGIC_OFFLINE: &[u8; 4] = b"VLTO";
/// AAD label of the file.
const OFFLINE_LABEL: &[u8] = b"vistalid/offline-otp/v1";
/// HKDF info label of the pad.
const PAD_INFO: &[u8] = b"vistalid/offline-pad/v1";
/// The file is sealed as generation 0, like the device tier (entries carry their own).
const FILE_GENERATION: u32 = 0;
/// Most entries a file may hold (two generations of every account at most).
const MAX_ENTRIES: u32 = 64;

/// One account's masked secret for one generation.
#[derive(Clone)]
pub(crate) struct Entry {
    generation: u32,
    account_id: String,
    masked: Zeroizing<[u8; SECRET_LEN]>,
}

/// The entries of `offline.bin`.
#[derive(Default)]
pub(crate) struct OfflineFile {
    entries: Vec<Entry>,
}

/// The pad of `account_id` under the try's keys and `header`'s generation.
fn pad(keys: &PinKeys, header: &Header, account_id: &str) -> Zeroizing<[u8; KEY_LEN]> {
    let mut ikm = Zeroizing::new(Vec::with_capacity(2 * KEY_LEN));
    ikm.extend_from_slice(keys.k_hw());
    ikm.extend_from_slice(keys.k_pin());
    let len = u8::try_from(account_id.len()).unwrap_or(u8::MAX);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    hkdf_expand(
        &[],
        &ikm,
        &[
            PAD_INFO,
            &header.vault_id,
            &header.generation.to_be_bytes(),
            &[len],
            account_id.as_bytes(),
        ],
        out.as_mut(),
    );
    out
}

fn xor(a: &[u8; SECRET_LEN], b: &[u8; SECRET_LEN]) -> Zeroizing<[u8; SECRET_LEN]> {
    let mut out = Zeroizing::new([0u8; SECRET_LEN]);
    for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b)) {
        *o = x ^ y;
    }
    out
}

impl OfflineFile {
    fn parse(plain: &[u8]) -> Result<Self, VaultError> {
        let mut r = Reader::new(plain);
        let n = r.u32()?;
        if n > MAX_ENTRIES {
            return Err(VaultError::Corrupt);
        }
        let mut entries = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let generation = r.u32()?;
            let [len] = r.array::<1>()?;
            let id = r.bytes(usize::from(len))?;
            let account_id = std::str::from_utf8(id)
                .map_err(|_| VaultError::Corrupt)?
                .to_owned();
            let masked = Zeroizing::new(r.array::<SECRET_LEN>()?);
            entries.push(Entry {
                generation,
                account_id,
                masked,
            });
        }
        if !r.is_empty() {
            return Err(VaultError::Corrupt);
        }
        Ok(Self { entries })
    }

    fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let mut out = Zeroizing::new(Vec::new());
        let n = u32::try_from(self.entries.len()).map_err(|_| VaultError::Corrupt)?;
        if n > MAX_ENTRIES {
            return Err(VaultError::Corrupt);
        }
        out.extend_from_slice(&n.to_be_bytes());
        for e in &self.entries {
            let len = u8::try_from(e.account_id.len()).map_err(|_| VaultError::Corrupt)?;
            out.extend_from_slice(&e.generation.to_be_bytes());
            out.push(len);
            out.extend_from_slice(e.account_id.as_bytes());
            out.extend_from_slice(e.masked.as_ref());
        }
        Ok(out)
    }

    /// Whether the file holds no entry (a vault that never stored an offline secret).
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn find(&self, generation: u32, account_id: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.generation == generation && e.account_id == account_id)
    }

    /// Sets the entry of `account_id` at `header`'s generation, masked under `keys`.
    pub(crate) fn put(
        &mut self,
        keys: &PinKeys,
        header: &Header,
        account_id: &str,
        secret: &TotpSecret,
    ) {
        self.entries
            .retain(|e| !(e.generation == header.generation && e.account_id == account_id));
        let pad = pad(keys, header, account_id);
        self.entries.push(Entry {
            generation: header.generation,
            account_id: account_id.to_owned(),
            // EXPOSE: the secret is masked here; only the masked bytes are kept.
            masked: xor(secret.expose(), &pad),
        });
    }

    /// The secret of `account_id` at `header`'s generation under `keys` (a wrong PIN's keys
    /// give a wrong secret: nothing here can tell).
    pub(crate) fn unmask(
        &self,
        keys: &PinKeys,
        header: &Header,
        account_id: &str,
    ) -> Option<TotpSecret> {
        let entry = self.find(header.generation, account_id)?;
        let pad = pad(keys, header, account_id);
        Some(TotpSecret::new(*xor(&entry.masked, &pad)))
    }

    /// Keeps only the entries of `generation` for accounts `keep` accepts.
    pub(crate) fn retain(&mut self, generation: u32, keep: impl Fn(&str) -> bool) {
        self.entries
            .retain(|e| e.generation == generation && keep(&e.account_id));
    }

    /// The PIN change's re-masking: every entry of `old`'s generation unmasked with the old
    /// PIN's keys and masked again under the new ones for `new`'s generation (added beside
    /// the old entries, which stay until the change is committed).
    pub(crate) fn remask(
        &mut self,
        old_keys: &PinKeys,
        old: &Header,
        new_keys: &PinKeys,
        new: &Header,
    ) {
        let ids: Vec<String> = self
            .entries
            .iter()
            .filter(|e| e.generation == old.generation)
            .map(|e| e.account_id.clone())
            .collect();
        for id in ids {
            if let Some(secret) = self.unmask(old_keys, old, &id) {
                self.put(new_keys, new, &id, &secret);
            }
        }
    }
}

impl Inner {
    /// The offline file (empty when there is none: vaults older than issue 16).
    pub(crate) fn read_offline(
        &self,
        vault_id: &[u8; ID_LEN],
        dev: &DeviceKeys,
    ) -> Result<OfflineFile, VaultError> {
        let bytes = match storage::read(&self.dir, OFFLINE_FILE) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(OfflineFile::default()),
            Err(e) => return Err(io_err(e)),
        };
        let plain = envelope::open_file(
            MAGIC_OFFLINE,
            OFFLINE_LABEL,
            dev.seal_key(),
            vault_id,
            FILE_GENERATION,
            &bytes,
        )?;
        OfflineFile::parse(&plain)
    }

    /// Writes the offline file (crash-safe), dropping entries of accounts `file` no longer
    /// names.
    pub(crate) fn write_offline(
        &self,
        header: &HeaderFile,
        dev: &DeviceKeys,
        offline: &mut OfflineFile,
    ) -> Result<(), VaultError> {
        offline
            .entries
            .retain(|e| header.account(&e.account_id).is_some());
        let sealed = envelope::seal_file(
            MAGIC_OFFLINE,
            OFFLINE_LABEL,
            dev.seal_key(),
            &header.header.vault_id,
            FILE_GENERATION,
            &offline.to_bytes()?,
        )?;
        storage::write_atomic(&self.dir, OFFLINE_FILE, &sealed).map_err(io_err)
    }
}
