// SPDX-License-Identifier: Apache-2.0
//! PIN policy and the PIN hash (Argon2id).
//!
//! Guarantees:
//! - [`PinPolicy::check`] accepts only digit strings of the configured length (within
//!   [`PinPolicy::ALLOWED_MIN`]..=[`PinPolicy::ALLOWED_MAX`]) and refuses trivial PINs: all
//!   the same digit, or a run of consecutive digits up or down (`1234`, `9876`, `0123`,
//!   also wrapping round: `8901`, `2109`). Its error never contains digits of the PIN.
//! - [`Argon2Kdf`] computes Argon2id (version 0x13, RFC 9106) in a memory block it keeps and
//!   reuses between hashes, and wipes that block after each hash; its lanes run in parallel
//!   on up to `min(p, available cores)` threads, with the same output as on one.

use std::io;

use argon2::{Algorithm, Argon2, AssociatedData, Block, ParamsBuilder, Version};
use rayon::prelude::*;
use zeroize::Zeroize;

use super::{Argon2Params, VaultError};
use crate::secret::Pin;

/// Which PINs are accepted: a length range of digits, trivial PINs refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinPolicy {
    /// Shortest PIN accepted, in digits (at least [`PinPolicy::ALLOWED_MIN`]).
    pub min_len: u8,
    /// Longest PIN accepted, in digits (at most [`PinPolicy::ALLOWED_MAX`]).
    pub max_len: u8,
}

impl PinPolicy {
    /// The shortest length any policy may allow.
    pub const ALLOWED_MIN: u8 = 4;
    /// The longest length any policy may allow.
    pub const ALLOWED_MAX: u8 = 8;

    /// Checks `pin` against the policy. `Err(VaultError::WeakPin(why))` names the rule broken
    /// (never the PIN); a policy outside 4..=8 digits refuses every PIN.
    pub fn check(&self, pin: &Pin) -> Result<(), VaultError> {
        if self.min_len < Self::ALLOWED_MIN
            || self.max_len > Self::ALLOWED_MAX
            || self.min_len > self.max_len
        {
            return Err(VaultError::WeakPin(
                "the PIN policy is outside 4..=8 digits",
            ));
        }
        // EXPOSE: the policy reads the digits to judge them; nothing is copied or kept.
        let digits = pin.expose().as_bytes();
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(VaultError::WeakPin("the PIN must contain digits only"));
        }
        let len = digits.len();
        if len < usize::from(self.min_len) || len > usize::from(self.max_len) {
            return Err(VaultError::WeakPin(
                "the PIN does not have an allowed length",
            ));
        }
        let step_is = |d: u8| {
            digits
                .windows(2)
                .all(|w| (w[0] + d - b'0') % 10 == w[1] - b'0')
        };
        if step_is(0) {
            return Err(VaultError::WeakPin("the PIN repeats one digit"));
        }
        if step_is(1) || step_is(9) {
            return Err(VaultError::WeakPin(
                "the PIN is a run of consecutive digits",
            ));
        }
        Ok(())
    }
}

impl Default for PinPolicy {
    /// Six digits, as the e-CPS and carte Vitale apps ask.
    fn default() -> Self {
        Self {
            min_len: 6,
            max_len: 6,
        }
    }
}

/// Stack of an Argon2 lane thread: filling a segment needs a few KiB.
const LANE_THREAD_STACK: usize = 256 * 1024;

/// Argon2id with a reusable memory block and a pool of lane threads. Holding one keeps up to
/// `m_kib` KiB allocated between hashes (64 MiB at [`Argon2Params::DEFAULT`]) and
/// `min(p, cores)` idle threads; drop it to free both.
///
/// The lanes of each slice run in parallel (the RustCrypto `argon2` crate's `parallel`
/// feature) inside a rayon pool of this hasher's own: at most `min(p, max threads)` threads,
/// where max threads is [`std::thread::available_parallelism`] unless
/// [`Argon2Kdf::with_max_threads`] says less. The output does not depend on the number of
/// threads. No global pool is started.
pub struct Argon2Kdf {
    memory: Vec<Block>,
    max_threads: usize,
    /// The pool and its number of threads, built by the first hash that needs it.
    pool: Option<(usize, rayon::ThreadPool)>,
}

impl Argon2Kdf {
    /// An empty hasher using up to all available cores; the memory block and the threads
    /// are made by the first hash.
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self::with_max_threads(cores)
    }

    /// An empty hasher that uses at most `max_threads` threads (0 counts as 1).
    pub fn with_max_threads(max_threads: usize) -> Self {
        Self {
            memory: Vec::new(),
            max_threads: max_threads.max(1),
            pool: None,
        }
    }

    /// Argon2id (v0x13) of `password` and `salt` with the optional RFC 9106 `secret` and
    /// associated data `ad`, filling all of `out` (4..=64 bytes here is plenty). Fails with
    /// [`VaultError::Corrupt`] on parameters Argon2 refuses (they come from a header), with an
    /// `OutOfMemory` I/O error when the memory they ask for cannot be had, and with an
    /// `Other` I/O error when no lane thread can be started.
    pub fn derive(
        &mut self,
        params: &Argon2Params,
        password: &[u8],
        salt: &[u8],
        secret: Option<&[u8]>,
        ad: &[u8],
        out: &mut [u8],
    ) -> Result<(), VaultError> {
        let mut builder = ParamsBuilder::new();
        builder
            .m_cost(params.m_kib)
            .t_cost(params.t)
            .p_cost(params.p)
            .output_len(out.len());
        if !ad.is_empty() {
            builder.data(AssociatedData::new(ad).map_err(|_| VaultError::Corrupt)?);
        }
        let argon_params = builder.build().map_err(|_| VaultError::Corrupt)?;
        let blocks = argon_params.block_count();
        let hasher = match secret {
            Some(s) => {
                Argon2::new_with_secret(s, Algorithm::Argon2id, Version::V0x13, argon_params)
                    .map_err(|_| VaultError::Corrupt)?
            }
            None => Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params),
        };
        if self.memory.len() < blocks {
            self.memory
                .try_reserve_exact(blocks - self.memory.len())
                .map_err(|_| VaultError::Io(io::ErrorKind::OutOfMemory))?;
            self.memory.resize(blocks, Block::new());
        }
        let threads = self.max_threads.min(params.p as usize).max(1);
        let pool = pool_of(&mut self.pool, threads)?;
        let memory = &mut self.memory[..blocks];
        pool.install(|| {
            let result = hasher.hash_password_into_with_memory(password, salt, out, &mut *memory);
            // The blocks hold PIN-derived state; wipe what this hash used, lanes in parallel.
            memory
                .par_chunks_mut(blocks.div_ceil(threads))
                .for_each(|chunk| chunk.iter_mut().for_each(Zeroize::zeroize));
            result.map_err(|_| VaultError::Corrupt)
        })
    }

    /// KiB kept allocated for the next hash.
    pub fn reserved_kib(&self) -> usize {
        self.memory.len()
    }
}

/// The pool in `slot` if it has `threads` threads, else a new one put there.
fn pool_of(
    slot: &mut Option<(usize, rayon::ThreadPool)>,
    threads: usize,
) -> Result<&rayon::ThreadPool, VaultError> {
    if slot.as_ref().is_none_or(|(n, _)| *n != threads) {
        *slot = None;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .stack_size(LANE_THREAD_STACK)
            .thread_name(|i| format!("vault-argon2-{i}"))
            .build()
            .map_err(|_| VaultError::Io(io::ErrorKind::Other))?;
        *slot = Some((threads, pool));
    }
    let (_, pool) = slot.as_ref().expect("the pool was just set");
    Ok(pool)
}

impl Default for Argon2Kdf {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Argon2Kdf {
    fn drop(&mut self) {
        // Each hash already wiped its blocks; this also covers a hash that panicked.
        self.memory.iter_mut().for_each(Zeroize::zeroize);
    }
}

impl std::fmt::Debug for Argon2Kdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let threads = self.pool.as_ref().map_or(0, |(n, _)| *n);
        write!(
            f,
            "Argon2Kdf({} KiB reserved, {threads} lane threads)",
            self.memory.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_table() {
        let six = PinPolicy::default();
        let four_to_eight = PinPolicy {
            min_len: 4,
            max_len: 8,
        };
        let cases: &[(&PinPolicy, &str, bool)] = &[
            (&six, "482915", true),
            (&six, "100200", true),
            (&six, "135790", true),
            (&six, "111111", false),
            (&six, "123456", false),
            (&six, "654321", false),
            (&six, "012345", false),
            (&six, "890123", false),
            (&six, "210987", false),
            (&six, "48291", false),
            (&six, "4829150", false),
            (&six, "48291a", false),
            (&six, "４８２９１５", false),
            (&six, "", false),
            (&six, " 48291", false),
            (&four_to_eight, "4829", true),
            (&four_to_eight, "48291573", true),
            (&four_to_eight, "1234", false),
            (&four_to_eight, "9876", false),
            (&four_to_eight, "0123", false),
            (&four_to_eight, "0000", false),
            (&four_to_eight, "482", false),
            (&four_to_eight, "482915734", false),
            (
                &PinPolicy {
                    min_len: 3,
                    max_len: 6,
                },
                "4829",
                false,
            ),
            (
                &PinPolicy {
                    min_len: 6,
                    max_len: 9,
                },
                "482915",
                false,
            ),
            (
                &PinPolicy {
                    min_len: 7,
                    max_len: 6,
                },
                "482915",
                false,
            ),
        ];
        for (policy, pin, ok) in cases {
            let got = policy.check(&Pin::new(*pin));
            assert_eq!(got.is_ok(), *ok, "{policy:?} {pin:?} -> {got:?}");
            if let Err(e) = got {
                assert!(matches!(e, VaultError::WeakPin(_)));
                assert!(pin.is_empty() || !e.to_string().contains(pin));
            }
        }
    }

    #[test]
    fn kdf_threads_are_bounded_by_lanes_and_the_maximum() {
        let mut out = [0u8; 32];
        let threads = |kdf: &Argon2Kdf| kdf.pool.as_ref().map(|(n, _)| *n);
        let mut kdf = Argon2Kdf::with_max_threads(3);
        let four_lanes = Argon2Params {
            m_kib: 64,
            t: 1,
            p: 4,
        };
        kdf.derive(&four_lanes, b"482915", &[7u8; 16], None, b"", &mut out)
            .expect("hash");
        assert_eq!(threads(&kdf), Some(3));
        let mut kdf = Argon2Kdf::with_max_threads(8);
        let two_lanes = Argon2Params { p: 2, ..four_lanes };
        kdf.derive(&two_lanes, b"482915", &[7u8; 16], None, b"", &mut out)
            .expect("hash");
        assert_eq!(threads(&kdf), Some(2));
        assert!(format!("{kdf:?}").contains("2 lane threads"));
        let one_lane = Argon2Params { p: 1, ..four_lanes };
        kdf.derive(&one_lane, b"482915", &[7u8; 16], None, b"", &mut out)
            .expect("hash");
        assert_eq!(threads(&kdf), Some(1));
        assert_eq!(threads(&Argon2Kdf::with_max_threads(0)), None);
        assert_eq!(Argon2Kdf::with_max_threads(0).max_threads, 1);
    }

    #[test]
    fn kdf_reuses_memory_and_is_deterministic() {
        let params = Argon2Params::insecure_fast_for_tests();
        let mut kdf = Argon2Kdf::new();
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        kdf.derive(&params, b"482915", &[7u8; 16], None, b"ad", &mut a)
            .expect("hash");
        let reserved = kdf.reserved_kib();
        kdf.derive(&params, b"482915", &[7u8; 16], None, b"ad", &mut b)
            .expect("hash");
        assert_eq!(a, b);
        assert_eq!(kdf.reserved_kib(), reserved);
        kdf.derive(&params, b"482916", &[7u8; 16], None, b"ad", &mut b)
            .expect("hash");
        assert_ne!(a, b);
        let bad = Argon2Params {
            m_kib: 1,
            t: 1,
            p: 1,
        };
        assert!(matches!(
            kdf.derive(&bad, b"x", &[7u8; 16], None, b"", &mut b),
            Err(VaultError::Corrupt)
        ));
    }
}
