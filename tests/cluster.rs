// SPDX-License-Identifier: Apache-2.0
//! The end-to-end suite through a cluster (issue 19): with `VL_TEST_CLUSTER=1` and
//! `VL_TEST_DATABASE_URL` (scripts/test.sh's cluster suite), every [`crate::Env`] runs
//! [`INSTANCES`] server instances in the test's process on one PostgreSQL schema, sharing the
//! test's configuration and clock, behind a real HAProxy (Debian's `haproxy`) configured by
//! `scripts/cluster.sh haproxy-config`; [`crate::Env::url`] is HAProxy's address, so every
//! request of a test is spread round-robin over the instances.
//!
//! Guarantees: [`front`] returns only once HAProxy answers `/ready` with 200 through its
//! front; dropping a [`Front`] kills its HAProxy process (no process outlives the test);
//! [`enabled`] panics when the cluster is asked for without a PostgreSQL database, rather
//! than running the suite on one instance and passing for the wrong reason.

use std::net::SocketAddr;
use std::path::PathBuf;

pub use vistalid_cluster_front::{free_port, Front};

/// The environment variable asking for the cluster (`1`); unset or anything else: one
/// instance, as before.
pub const CLUSTER_ENV: &str = "VL_TEST_CLUSTER";

/// Instances behind HAProxy in cluster mode.
pub const INSTANCES: usize = 3;

/// HAProxy's health-check interval in the tests, in milliseconds (the script's default is
/// 1000): a stopped instance is taken out within about two of them.
const CHECK_MS: u32 = 200;

/// Whether the suite runs through the cluster. Panics when `VL_TEST_CLUSTER=1` is set without
/// `VL_TEST_DATABASE_URL` (the instances share a PostgreSQL database).
pub fn enabled() -> bool {
    if std::env::var(CLUSTER_ENV).as_deref() != Ok("1") {
        return false;
    }
    assert!(
        std::env::var(vistalid_server::TEST_DATABASE_ENV).is_ok_and(|v| !v.is_empty()),
        "{CLUSTER_ENV}=1 needs {} (the instances share a PostgreSQL database)",
        vistalid_server::TEST_DATABASE_ENV
    );
    true
}

/// The repository's `scripts/cluster.sh`.
pub fn cluster_script() -> PathBuf {
    vistalid_cluster_front::repo_script("cluster.sh")
}

/// Starts HAProxy on `127.0.0.1:port` in front of `backends`, health-checking them every
/// 200 ms (`CHECK_MS`), and waits until it answers `/ready`.
pub async fn front(port: u16, backends: &[SocketAddr]) -> Front {
    Front::start(port, backends, Some(CHECK_MS)).await
}
