// SPDX-License-Identifier: Apache-2.0
//! Attestations the tests build themselves: the DER writer, KeyDescription builder, Android
//! chains and App Attest objects of the `vistalid-attest-testkit` crate (shared with the
//! end-to-end tests), under the names these tests use. Each test binary uses some of them.
#![allow(unused_imports)]

pub use vistalid_attest_testkit::android::*;
pub use vistalid_attest_testkit::apple::*;
pub use vistalid_attest_testkit::der::*;
pub use vistalid_attest_testkit::sha256;
