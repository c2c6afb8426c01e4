// SPDX-License-Identifier: Apache-2.0
//! What a vault is created and guarded with: the Argon2id cost parameters and the
//! [`VaultConfig`].
//!
//! Guarantees: [`Argon2Params::is_in_range`] is the one range check, used both for the
//! configuration a new header is written with and for every header read back (a header cannot
//! ask for more memory, passes or lanes than the bounds in `envelope.rs`).

use super::envelope;
use super::pin::PinPolicy;

/// Argon2id cost parameters, stored (authenticated) in each vault header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory, in KiB.
    pub m_kib: u32,
    /// Passes over the memory.
    pub t: u32,
    /// Lanes (degree of parallelism).
    pub p: u32,
}

impl Argon2Params {
    /// The product parameters: m = 64 MiB (65 536 KiB), t = 3 passes, p = 4 lanes (RFC
    /// 9106's second recommended option).
    ///
    /// Chosen from measurements (docs/argon2-parameters.md): the budget is 250 ms of Argon2
    /// per unlock on a mid-range phone. An attacker's cost per guess is memory x passes
    /// (64 MiB x 3 here), whatever p: a GPU or ASIC fills its cores with many guesses anyway.
    /// Lanes only cut the defender's latency, because the vault computes them on
    /// min(p, cores) threads. A 2022 flagship phone takes about 150 ms at these parameters
    /// with 4 threads, and a mid-range phone is estimated 1.5-2x slower, so 64 MiB x 3 fills
    /// the budget. At p = 1 the same cost takes up to about 3 times as long on a phone with 4
    /// fast-enough cores.
    pub const DEFAULT: Self = Self {
        m_kib: 64 * 1024,
        t: 3,
        p: 4,
    };

    /// The default of the releases before parallel lanes: m = 64 MiB, t = 3 passes, p = 1
    /// lane. Vaults made with it keep it (their header says so) until their next PIN change.
    pub const PREVIOUS_DEFAULT: Self = Self {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };

    /// OWASP's minimum for Argon2id: m = 19 MiB (19 456 KiB), t = 2 passes, p = 1 lane.
    pub const OWASP_MIN: Self = Self {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };

    /// Tiny parameters (m = 64 KiB, t = 1, p = 1) for tests only: they make a PIN guess
    /// nearly free. Nothing refuses them, so never use them in a product.
    pub fn insecure_fast_for_tests() -> Self {
        Self {
            m_kib: 64,
            t: 1,
            p: 1,
        }
    }

    /// True when every parameter lies in the range a header may carry.
    pub(crate) fn is_in_range(&self) -> bool {
        self.p >= 1
            && self.p <= envelope::MAX_P
            && self.t >= 1
            && self.t <= envelope::MAX_T
            && self.m_kib >= 8 * self.p
            && self.m_kib <= envelope::MAX_M_KIB
    }
}

/// How a vault is created and guarded.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// Argon2id parameters for new headers (create, PIN change). Unlock always uses the
    /// parameters stored in the header, so raising these upgrades a vault at its next PIN
    /// change.
    pub argon2: Argon2Params,
    /// Consecutive wrong PINs allowed before the vault locks for good (default 5). The
    /// counter file stores failures, not this limit: open a vault with the configuration it
    /// was created with.
    pub max_attempts: u32,
    /// Which PINs [`super::Vault::create`] and [`super::Vault::change_pin`] accept.
    pub pin_policy: PinPolicy,
    /// Whether failed tries impose the [`super::BACKOFF_SECS`] delays (default true).
    pub backoff: bool,
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            argon2: Argon2Params::DEFAULT,
            max_attempts: 5,
            pin_policy: PinPolicy::default(),
            backoff: true,
        }
    }
}
