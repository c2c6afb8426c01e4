// SPDX-License-Identifier: Apache-2.0
//! The key-encryption key (KEK) and the sealing of signing keys under it.
//!
//! Guarantees:
//! - A sealed key is AES-256-GCM (ring) of its PKCS#8 bytes under the KEK, with a fresh
//!   random 96-bit nonce, and the purpose and key id as associated data: a sealed key moved to
//!   another row, or altered, does not open.
//! - The KEK file holds 32 random bytes as 43 base64url characters (a trailing newline is
//!   allowed). [`Kek::load_or_create`] creates it (mode 0600 on Unix, never overwriting) only
//!   when asked to; a file of any other shape stops the start, naming the file.
//! - The KEK never appears in `Debug` output or logs.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use zeroize::Zeroizing;

use crate::error::ServerError;
use crate::secrets;

/// The key-encryption key.
pub(crate) struct Kek(LessSafeKey);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    /// The KEK of `bytes` (32).
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, ServerError> {
        let key = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| ServerError::Config("the key-encryption key must be 32 bytes".into()))?;
        Ok(Self(LessSafeKey::new(key)))
    }

    /// Reads the KEK file at `path`; when it does not exist and `create` is set, writes a
    /// fresh one there first. Blocks (start-up).
    pub(crate) fn load_or_create(path: &Path, create: bool) -> Result<Self, ServerError> {
        let bad = |why: &str| {
            ServerError::Config(format!("key_encryption_key_file {}: {why}", path.display()))
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let mut raw = Zeroizing::new([0u8; 32]);
                secrets::fill(raw.as_mut())?;
                let text = Zeroizing::new(format!("{}\n", B64URL.encode(raw.as_ref())));
                write_new_private(path, text.as_bytes()).map_err(|e| bad(&e.to_string()))?;
                // Another instance may have won the race: read what is there.
                Zeroizing::new(std::fs::read_to_string(path).map_err(|e| bad(&e.to_string()))?)
            }
            Err(e) => return Err(bad(&e.to_string())),
        };
        let raw = Zeroizing::new(
            B64URL
                .decode(text.trim_end())
                .map_err(|_| bad("not 43 base64url characters"))?,
        );
        if raw.len() != 32 {
            return Err(bad("not 32 bytes"));
        }
        Self::from_bytes(&raw)
    }

    /// Seals `plain` for the row (`purpose`, `kid`): nonce then ciphertext and tag.
    pub(crate) fn seal(
        &self,
        purpose: &str,
        kid: &str,
        plain: &[u8],
    ) -> Result<Vec<u8>, ServerError> {
        let mut nonce = [0u8; NONCE_LEN];
        secrets::fill(&mut nonce)?;
        let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + 16);
        out.extend_from_slice(&nonce);
        let mut body = plain.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(purpose, kid)),
                &mut body,
            )
            .map_err(|_| ServerError::Config("sealing a signing key failed".into()))?;
        out.extend_from_slice(&body);
        body.iter_mut().for_each(|b| *b = 0);
        Ok(out)
    }

    /// Opens what [`Kek::seal`] sealed for (`purpose`, `kid`); an error when the KEK is not
    /// the one it was sealed with or the bytes were altered.
    pub(crate) fn open(
        &self,
        purpose: &str,
        kid: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ServerError> {
        let wrong = || {
            ServerError::Config(format!(
                "signing key {purpose}/{kid} does not open with the configured \
                 key-encryption key (another key, or altered)"
            ))
        };
        if sealed.len() < NONCE_LEN + 16 {
            return Err(wrong());
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong())?;
        let mut body = Zeroizing::new(body.to_vec());
        let plain_len = self
            .0
            .open_in_place(nonce, Aad::from(aad(purpose, kid)), &mut body)
            .map_err(|_| wrong())?
            .len();
        body.truncate(plain_len);
        Ok(body)
    }
}

fn aad(purpose: &str, kid: &str) -> Vec<u8> {
    format!("vistalid-signing-key:{purpose}:{kid}").into_bytes()
}

/// Writes `bytes` to a new file at `path` (mode 0600 on Unix); an existing file is kept.
fn write_new_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut f) => {
            f.write_all(bytes)?;
            f.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_with_its_kek_and_its_row() {
        let kek = Kek::from_bytes(&[7; 32]).expect("kek");
        let sealed = kek.seal("issuer", "abc", b"secret pkcs8").expect("seal");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            kek.open("issuer", "abc", &sealed).expect("open").as_slice(),
            b"secret pkcs8"
        );
        assert!(kek.open("issuer", "abd", &sealed).is_err(), "another kid");
        assert!(
            kek.open("challenge", "abc", &sealed).is_err(),
            "another purpose"
        );
        let other = Kek::from_bytes(&[8; 32]).expect("kek");
        assert!(other.open("issuer", "abc", &sealed).is_err(), "another KEK");
        let mut altered = sealed.clone();
        *altered.last_mut().expect("bytes") ^= 1;
        assert!(kek.open("issuer", "abc", &altered).is_err(), "altered");
        assert!(format!("{kek:?}") == "Kek(..)");
    }

    #[test]
    fn the_kek_file_is_created_once_and_checked() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("kek");
        assert!(
            Kek::load_or_create(&path, false).is_err(),
            "absent, not created"
        );
        let a = Kek::load_or_create(&path, true).expect("created");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.trim_end().len(), 43);
        let sealed = a.seal("id_token", "k", b"x").expect("seal");
        let b = Kek::load_or_create(&path, true).expect("read back, not replaced");
        assert_eq!(
            b.open("id_token", "k", &sealed).expect("open").as_slice(),
            b"x"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "short\n").expect("write");
        let e = Kek::load_or_create(&path, true).expect_err("bad file");
        assert!(e.to_string().contains("key_encryption_key_file"), "{e}");
    }
}
