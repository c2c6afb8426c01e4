// SPDX-License-Identifier: Apache-2.0
//! The wrong-PIN counter and the back-off schedule.
//!
//! Guarantees:
//! - The counter file (`counter.bin`) holds the number of consecutive failed tries and the
//!   time of the last one, authenticated with HMAC-SHA256 under a key derived from the
//!   platform keystore: it cannot be forged or edited without the device's keystore. Any
//!   change is `Corrupt`; a missing counter file is `Corrupt` too (deleting it must not
//!   reset the tries).
//! - It is **not** protected against rollback: someone who can write the app's files can
//!   put back an older, genuine copy (see the residual risks in [`crate::vault`]).
//!
//! Format: magic `VLTC`, version `u16`, vault id (16), failures `u32`, last failure time
//! `i64` (Unix seconds), HMAC-SHA256 (32) of everything before it.

use ring::hmac;

use super::envelope::{Reader, ID_LEN, VERSION};
use super::VaultError;

const MAGIC_COUNTER: &[u8; 4] = b"VLTC";
const BODY_LEN: usize = 4 + 2 + ID_LEN + 4 + 8;
const FILE_LEN: usize = BODY_LEN + 32;

/// Seconds to wait before the next try, indexed by the number of consecutive failures so
/// far (the last entry repeats): 1st and 2nd try at once, 3rd after 1 s, 4th after 5 s,
/// 5th and later after 30 s.
pub const BACKOFF_SECS: [u64; 5] = [0, 0, 1, 5, 30];

/// The state of the attempt counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counter {
    /// Consecutive failed (or interrupted) tries since the last success.
    pub(crate) failures: u32,
    /// When the last try was counted, Unix seconds.
    pub(crate) last_try: i64,
}

impl Counter {
    pub(crate) const FRESH: Counter = Counter {
        failures: 0,
        last_try: 0,
    };

    pub(crate) fn to_bytes(self, vault_id: &[u8; ID_LEN], mac: &hmac::Key) -> Vec<u8> {
        let mut out = Vec::with_capacity(FILE_LEN);
        out.extend_from_slice(MAGIC_COUNTER);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(vault_id);
        out.extend_from_slice(&self.failures.to_be_bytes());
        out.extend_from_slice(&self.last_try.to_be_bytes());
        let tag = hmac::sign(mac, &out);
        out.extend_from_slice(tag.as_ref());
        out
    }

    pub(crate) fn parse(
        bytes: &[u8],
        vault_id: &[u8; ID_LEN],
        mac: &hmac::Key,
    ) -> Result<Self, VaultError> {
        if bytes.len() < 6 || &bytes[..4] != MAGIC_COUNTER {
            return Err(VaultError::Corrupt);
        }
        let version = u16::from_be_bytes([bytes[4], bytes[5]]);
        if version != VERSION {
            return Err(VaultError::UnsupportedVersion(version));
        }
        if bytes.len() != FILE_LEN {
            return Err(VaultError::Corrupt);
        }
        let (body, tag) = bytes.split_at(BODY_LEN);
        hmac::verify(mac, body, tag).map_err(|_| VaultError::Corrupt)?;
        let mut r = Reader::new(&body[6..]);
        let id: [u8; ID_LEN] = r.array()?;
        if &id != vault_id {
            return Err(VaultError::Corrupt);
        }
        Ok(Self {
            failures: r.u32()?,
            last_try: r.i64()?,
        })
    }

    /// Seconds still to wait before a new try at `now`, 0 when one may be made. A clock set
    /// back never makes the wait longer than the schedule's delay.
    pub(crate) fn wait_secs(&self, now: i64) -> u64 {
        let idx = usize::try_from(self.failures)
            .unwrap_or(usize::MAX)
            .min(BACKOFF_SECS.len() - 1);
        let delay = BACKOFF_SECS[idx];
        if delay == 0 {
            return 0;
        }
        let elapsed = now.saturating_sub(self.last_try);
        if elapsed < 0 {
            return delay;
        }
        delay.saturating_sub(elapsed.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let mac = hmac::Key::new(hmac::HMAC_SHA256, &[5u8; 32]);
        let id = [3u8; ID_LEN];
        let c = Counter {
            failures: 2,
            last_try: 1_700_000_000,
        };
        let bytes = c.to_bytes(&id, &mac);
        assert_eq!(Counter::parse(&bytes, &id, &mac).expect("parse"), c);
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(Counter::parse(&b, &id, &mac).is_err(), "byte {i}");
        }
        assert!(Counter::parse(&bytes, &[4u8; ID_LEN], &mac).is_err());
        let other = hmac::Key::new(hmac::HMAC_SHA256, &[6u8; 32]);
        assert!(Counter::parse(&bytes, &id, &other).is_err());
    }

    #[test]
    fn backoff_schedule() {
        let at = |failures, last_try| Counter { failures, last_try };
        assert_eq!(at(0, 100).wait_secs(100), 0);
        assert_eq!(at(1, 100).wait_secs(100), 0);
        assert_eq!(at(2, 100).wait_secs(100), 1);
        assert_eq!(at(2, 100).wait_secs(101), 0);
        assert_eq!(at(3, 100).wait_secs(102), 3);
        assert_eq!(at(4, 100).wait_secs(110), 20);
        assert_eq!(at(9, 100).wait_secs(130), 0);
        assert_eq!(
            at(4, 100).wait_secs(50),
            30,
            "clock set back: full delay, no more"
        );
    }
}
