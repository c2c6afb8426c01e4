// SPDX-License-Identifier: Apache-2.0
//! Newtypes for secrets that come from the user.
//!
//! Guarantees: a [`Pin`] is wiped from memory when dropped (best effort: see the residual
//! risks in [`crate::vault`]), its `Debug` prints `Pin(***)`, and it has no `Display`,
//! `Serialize` or `Clone`, so it cannot end up in logs or be copied by accident.

use std::fmt;

use zeroize::Zeroizing;

/// A user PIN. Zeroized on drop; `Debug` prints `Pin(***)`; no `Display`, `Serialize` or
/// `Clone`. Whether it is an acceptable PIN is decided by [`crate::vault::PinPolicy`].
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// Wraps a PIN. The `String` moves in and is wiped when the `Pin` drops; a copy made by
    /// the caller before (for instance a Kotlin or Swift string) is out of Rust's reach.
    pub fn new(pin: impl Into<String>) -> Self {
        Self(Zeroizing::new(pin.into()))
    }

    /// The PIN's characters. Every call site must carry an `// EXPOSE: reason` comment.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let pin = Pin::new("482915");
        assert_eq!(format!("{pin:?}"), "Pin(***)");
        assert_eq!(format!("{pin:#?}"), "Pin(***)");
        // EXPOSE: test checks the value round-trips.
        assert_eq!(pin.expose(), "482915");
    }
}
