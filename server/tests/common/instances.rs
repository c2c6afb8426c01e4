// SPDX-License-Identifier: Apache-2.0
//! Several server instances on one database (issue 19): a second instance on a harness's
//! database, and what the tests need to know about the backend they run on.

use std::sync::Arc;

use vistalid_server::ServerConfig;

use super::Harness;

/// The PostgreSQL server of the suite (`VL_TEST_DATABASE_URL`), `None` on SQLite.
pub fn postgres_url() -> Option<String> {
    std::env::var(vistalid_server::TEST_DATABASE_ENV)
        .ok()
        .filter(|v| !v.is_empty())
}

/// The configuration of another instance on `h`'s database (same key-encryption key, same
/// clock), `tweak` applied before the database is chosen.
pub fn config_beside(h: &Harness, tweak: impl FnOnce(&mut ServerConfig)) -> ServerConfig {
    let mut c = ServerConfig::new(h.dir.path().join("server.sqlite"));
    c.poll_interval_secs = 0;
    c.clock = Arc::clone(&h.clock).into();
    tweak(&mut c);
    c.use_test_database().expect("test database");
    c
}

/// A second instance on `h`'s database, seen as a harness of its own.
pub async fn second_instance_with(h: &Harness, tweak: impl FnOnce(&mut ServerConfig)) -> Harness {
    let server = vistalid_server::start(config_beside(h, tweak))
        .await
        .expect("second instance");
    Harness {
        server,
        dir: tempfile::tempdir().expect("tempdir"),
        clock: Arc::clone(&h.clock),
        http: h.http.clone(),
    }
}

/// [`second_instance_with`] without changes.
pub async fn second_instance(h: &Harness) -> Harness {
    second_instance_with(h, |_| {}).await
}

/// The PostgreSQL schema of `h`'s database (the suite gives each test its own), `None` on
/// SQLite.
pub fn schema_of(h: &Harness) -> Option<String> {
    let url = config_beside(h, |_| {}).database_url?;
    let (_, after) = url.expose().split_once("search_path%3D")?;
    Some(after.split('&').next().unwrap_or(after).to_owned())
}
