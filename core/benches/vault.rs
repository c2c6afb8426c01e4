// SPDX-License-Identifier: Apache-2.0
//! Placeholder replaced below.
fn main() {}
