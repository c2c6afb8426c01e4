// SPDX-License-Identifier: Apache-2.0
//! Vistalid UniFFI bindings (filled by the bindings work).

uniffi::setup_scaffolding!();
