// SPDX-License-Identifier: Apache-2.0
//! `vistalid` terminal wallet.
fn main() {}
