// SPDX-License-Identifier: Apache-2.0
//! The PostgreSQL tests' store: a schema of its own on the server of `VL_TEST_DATABASE_URL`
//! (the PostgreSQL suite), or `None` (the test says it is skipped) outside that suite.

use std::time::Duration;

use super::{test_schema_url, Pg, PgSettings};

/// The PostgreSQL suite's server (the configuration's `TEST_DATABASE_ENV`, which this layer
/// does not name).
const TEST_DATABASE_ENV: &str = "VL_TEST_DATABASE_URL";

/// A migrated store on a new schema of its own (`schema` and this run's), with one pooled
/// connection (so a second job gets the connection the first one used); `None` outside the
/// PostgreSQL suite.
pub(super) fn store(schema: &str) -> Option<Pg> {
    let Ok(base) = std::env::var(TEST_DATABASE_ENV) else {
        eprintln!("skipped here: runs in the PostgreSQL suite ({TEST_DATABASE_ENV} set)");
        return None;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let schema = format!("{schema}_{}_{nanos}", std::process::id());
    let url = test_schema_url(&base, &schema).expect("schema");
    let pg = Pg::open(&PgSettings {
        url: url.as_str().into(),
        pool_size: 1,
        wait_timeout: Duration::from_secs(10),
        statement_timeout: Duration::from_secs(10),
    })
    .expect("open");
    Some(pg)
}
