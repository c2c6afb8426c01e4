// SPDX-License-Identifier: Apache-2.0
//! Reference identity server.
