// SPDX-License-Identifier: Apache-2.0
//! The JSON config file (`--config`) and the environment: what `load_config` reads into the
//! server's settings. Relative paths in the file are taken from the file's folder; a key the
//! file does not know is refused (`deny_unknown_fields`).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use vistalid_server::{
    ApnsEnvironment, ApnsSettings, FcmSettings, LogFormat, MetricsToken, PushDelivery, ServerConfig,
};

use crate::cli::Cli;

/// Keys of the JSON config file; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    db: Option<PathBuf>,
    bind: Option<SocketAddr>,
    issuer: Option<String>,
    challenge_ttl_secs: Option<u64>,
    ciba_expires_in: Option<u64>,
    poll_interval_secs: Option<u64>,
    max_pending_per_account: Option<u32>,
    body_limit_bytes: Option<usize>,
    request_timeout_secs: Option<u64>,
    max_wait_secs: Option<u64>,
    long_poll_recheck_secs: Option<u64>,
    activation_ttl_secs: Option<u64>,
    activation_tries: Option<u32>,
    token_ttl_secs: Option<u64>,
    access_token_ttl_secs: Option<u64>,
    refresh_token_ttl_secs: Option<u64>,
    session_ttl_secs: Option<u64>,
    session_idle_secs: Option<u64>,
    browser_login_per_ip_per_min: Option<u32>,
    ciba_per_client_per_min: Option<u32>,
    enrol_per_ip_per_min: Option<u32>,
    header_read_timeout_secs: Option<u64>,
    idle_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_ip: Option<usize>,
    not_me_hold_secs: Option<u64>,
    wrong_pick_backoff_secs: Option<u64>,
    wrong_pick_backoff_max_secs: Option<u64>,
    client_cache_secs: Option<u64>,
    pin_guess_limit: Option<u32>,
    /// The attestation policy file; a relative path is taken from the config file's folder.
    attestation_policy: Option<PathBuf>,
    // Operations (docs/operations.md).
    retention_secs: Option<u64>,
    retention_interval_secs: Option<u64>,
    retention_batch_rows: Option<usize>,
    retention_batches_per_run: Option<u32>,
    retention_pause_ms: Option<u64>,
    retention_busy_percent: Option<u8>,
    metrics_bind: Option<SocketAddr>,
    /// Better given as `VISTALID_METRICS_TOKEN` than written in the file.
    metrics_token: Option<String>,
    request_id_header: Option<String>,
    shutdown_grace_secs: Option<u64>,
    /// `sqlite:PATH` or `postgres://…` (issue 19); also `VISTALID_DATABASE_URL`.
    database_url: Option<vistalid_server::DatabaseUrl>,
    database_pool_size: Option<usize>,
    database_wait_timeout_ms: Option<u64>,
    database_statement_timeout_ms: Option<u64>,
    /// `human` (default) or `json`; also `VISTALID_LOG_FORMAT`.
    log_format: Option<String>,
    /// The key-encryption key file (issue 19); a relative path is taken from the config
    /// file's folder.
    key_encryption_key_file: Option<PathBuf>,
    /// The offline-code keys (issue 16), the current one first: `[{"id": "k2", "key":
    /// "<32 bytes, base64url>"}, ...]`.
    offline_code_keys: Option<Vec<FileOfflineKey>>,
    /// The FCM and APNs delivery (issue 20, docs/push.md); absent: long-poll only.
    push: Option<FilePush>,
}

/// The `push` section of the config file (docs/push.md); relative paths are taken from the
/// config file's folder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePush {
    fcm: Option<FileFcm>,
    apns: Option<FileApns>,
    queue_capacity: Option<usize>,
    max_in_flight: Option<usize>,
    max_attempts: Option<u32>,
    backoff_base_ms: Option<u64>,
    backoff_max_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFcm {
    service_account_file: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileApns {
    key_file: PathBuf,
    key_id: String,
    team_id: String,
    topic: String,
    /// `production` (the default) or `development`.
    environment: Option<String>,
    token_refresh_secs: Option<u64>,
}

impl FilePush {
    fn into_delivery(self, base: Option<&std::path::Path>) -> Result<PushDelivery, String> {
        let at = |p: PathBuf| base.map_or_else(|| p.clone(), |dir| dir.join(&p));
        let fcm = self
            .fcm
            .map(|f| FcmSettings::new(at(f.service_account_file)));
        let apns = match self.apns {
            Some(a) => Some(ApnsSettings {
                key_file: at(a.key_file),
                key_id: a.key_id,
                team_id: a.team_id,
                topic: a.topic,
                environment: match a.environment.as_deref() {
                    None | Some("production") => ApnsEnvironment::Production,
                    Some("development") => ApnsEnvironment::Development,
                    Some(_) => {
                        return Err("push.apns.environment must be production or development".into())
                    }
                },
                endpoint: None,
                extra_roots_pem: None,
                token_refresh_secs: a.token_refresh_secs.unwrap_or(2400),
            }),
            None => None,
        };
        let mut d = PushDelivery {
            fcm,
            apns,
            ..PushDelivery::default()
        };
        macro_rules! set {
            ($($f:ident),*) => { $(if let Some(v) = self.$f { d.$f = v; })* };
        }
        set!(
            queue_capacity,
            max_in_flight,
            max_attempts,
            backoff_base_ms,
            backoff_max_ms,
            request_timeout_ms
        );
        Ok(d)
    }
}

/// One offline-code key of the config file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOfflineKey {
    id: String,
    key: String,
}

impl std::fmt::Debug for FileOfflineKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileOfflineKey({}, <redacted>)", self.id)
    }
}

/// The configured offline-code keys, checked.
fn offline_keys(keys: Vec<FileOfflineKey>) -> Result<vistalid_server::OfflineKeys, String> {
    use base64::Engine as _;
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let bytes = zeroize::Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(k.key.trim_end_matches('='))
                .map_err(|_| format!("offline_code_keys: key {} is not base64url", k.id))?,
        );
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| format!("offline_code_keys: key {} is not 32 bytes", k.id))?;
        let key = vistalid_server::OfflineCodeKey::new(&k.id, arr)
            .ok_or_else(|| format!("offline_code_keys: bad key id {:?}", k.id))?;
        if out
            .iter()
            .any(|o: &vistalid_server::OfflineCodeKey| o.id() == key.id())
        {
            return Err(format!("offline_code_keys: key id {} is repeated", k.id));
        }
        out.push(key);
    }
    Ok(vistalid_server::OfflineKeys::new(out))
}

/// The environment variable with the bearer token of `/metrics`.
const METRICS_TOKEN_ENV: &str = "VISTALID_METRICS_TOKEN";
/// The environment variable choosing the log format (`human` or `json`).
const LOG_FORMAT_ENV: &str = "VISTALID_LOG_FORMAT";

/// **Test only**: the environment variable that sets
/// [`ServerConfig::test_hold_after_guess_ms`] (the kill test's window between a counted PIN
/// guess and its answer). Never set it in production.
const TEST_HOLD_ENV: &str = "VISTALID_TEST_HOLD_AFTER_GUESS_MS";

pub(crate) fn load_config(cli: &Cli) -> Result<(ServerConfig, LogFormat), String> {
    let file: FileConfig = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str(&text)
                .map_err(|e| format!("bad config {}: {e}", path.display()))?
        }
        None => FileConfig::default(),
    };
    let db = cli
        .db
        .clone()
        .or(file.db)
        .unwrap_or_else(|| PathBuf::from("vistalid-server.sqlite"));
    let mut c = ServerConfig::new(db);
    if let Some(v) = file.bind {
        c.bind = v;
    }
    c.issuer = file.issuer;
    c.attestation_policy = file.attestation_policy.map(|p| {
        let base = cli.config.as_deref().and_then(std::path::Path::parent);
        base.map_or_else(|| p.clone(), |dir| dir.join(&p))
    });
    c.key_encryption_key_file = file.key_encryption_key_file.map(|p| {
        let base = cli.config.as_deref().and_then(std::path::Path::parent);
        base.map_or_else(|| p.clone(), |dir| dir.join(&p))
    });
    if let Some(keys) = file.offline_code_keys {
        c.offline_code_keys = offline_keys(keys)?;
    }
    if let Some(push) = file.push {
        let base = cli.config.as_deref().and_then(std::path::Path::parent);
        c.push_delivery = Some(push.into_delivery(base)?);
    }
    macro_rules! set {
        ($($f:ident),*) => { $(if let Some(v) = file.$f { c.$f = v; })* };
    }
    set!(
        challenge_ttl_secs,
        ciba_expires_in,
        poll_interval_secs,
        max_pending_per_account,
        body_limit_bytes,
        request_timeout_secs,
        max_wait_secs,
        long_poll_recheck_secs,
        activation_ttl_secs,
        activation_tries,
        token_ttl_secs,
        access_token_ttl_secs,
        refresh_token_ttl_secs,
        session_ttl_secs,
        session_idle_secs,
        browser_login_per_ip_per_min,
        ciba_per_client_per_min,
        enrol_per_ip_per_min,
        header_read_timeout_secs,
        idle_timeout_secs,
        max_connections,
        max_connections_per_ip,
        not_me_hold_secs,
        wrong_pick_backoff_secs,
        wrong_pick_backoff_max_secs,
        client_cache_secs,
        pin_guess_limit,
        retention_secs,
        retention_interval_secs,
        retention_batch_rows,
        retention_batches_per_run,
        retention_pause_ms,
        retention_busy_percent,
        shutdown_grace_secs,
        database_pool_size,
        database_wait_timeout_ms,
        database_statement_timeout_ms
    );
    c.database_url = cli
        .database_url
        .clone()
        .map(Into::into)
        .or(file.database_url);
    c.metrics_bind = file.metrics_bind;
    c.request_id_header = file.request_id_header;
    c.metrics_token = std::env::var(METRICS_TOKEN_ENV)
        .ok()
        .or(file.metrics_token)
        .map(MetricsToken::new);
    let log_format = std::env::var(LOG_FORMAT_ENV)
        .ok()
        .or(file.log_format)
        .map(|f| f.parse::<LogFormat>())
        .transpose()?
        .unwrap_or_default();
    if let Ok(ms) = std::env::var(TEST_HOLD_ENV) {
        c.test_hold_after_guess_ms = ms
            .parse()
            .map_err(|_| format!("{TEST_HOLD_ENV} must be a number of milliseconds"))?;
    }
    Ok((c, log_format))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file's `push` section parsed into the push delivery (issue 20), relative key
    /// paths taken from the config file's folder.
    fn push_of(json: serde_json::Value) -> Result<PushDelivery, String> {
        let file: FileConfig = serde_json::from_value(json).map_err(|e| e.to_string())?;
        let push = file.push.ok_or("no push section")?;
        let d = push.into_delivery(Some(std::path::Path::new("/etc/vistalid")))?;
        d.validate()?;
        Ok(d)
    }

    #[test]
    fn the_push_section_parses_into_the_delivery() {
        let d = push_of(serde_json::json!({"push": {
            "fcm": {"service_account_file": "fcm.json"},
            "apns": {"key_file": "/keys/AuthKey_ABCDE12345.p8", "key_id": "ABCDE12345",
                     "team_id": "TEAM123456", "topic": "fr.vistalid.app",
                     "environment": "development", "token_refresh_secs": 1800},
            "queue_capacity": 64, "max_in_flight": 4, "max_attempts": 3,
            "backoff_base_ms": 100, "backoff_max_ms": 2000, "request_timeout_ms": 5000
        }}))
        .expect("a whole push section");
        let fcm = d.fcm.expect("fcm");
        assert_eq!(
            fcm.service_account_file,
            PathBuf::from("/etc/vistalid/fcm.json")
        );
        assert_eq!(fcm.endpoint, "https://fcm.googleapis.com");
        let apns = d.apns.expect("apns");
        assert_eq!(apns.key_file, PathBuf::from("/keys/AuthKey_ABCDE12345.p8"));
        assert_eq!(
            (apns.key_id.as_str(), apns.team_id.as_str()),
            ("ABCDE12345", "TEAM123456")
        );
        assert_eq!(apns.topic, "fr.vistalid.app");
        assert_eq!(apns.environment, ApnsEnvironment::Development);
        assert_eq!(apns.token_refresh_secs, 1800);
        assert_eq!(
            (d.queue_capacity, d.max_in_flight, d.max_attempts),
            (64, 4, 3)
        );
        assert_eq!(
            (d.backoff_base_ms, d.backoff_max_ms, d.request_timeout_ms),
            (100, 2000, 5000)
        );
        // Only APNs, the defaults elsewhere: production host, 40 min tokens.
        let d = push_of(serde_json::json!({"push": {"apns": {
            "key_file": "k.p8", "key_id": "ABCDE12345", "team_id": "TEAM123456",
            "topic": "fr.vistalid.app"}}}))
        .expect("apns alone");
        assert!(d.fcm.is_none());
        let apns = d.apns.expect("apns");
        assert_eq!(apns.environment, ApnsEnvironment::Production);
        assert_eq!(apns.token_refresh_secs, 2400);
        assert_eq!(apns.key_file, PathBuf::from("/etc/vistalid/k.p8"));
        assert_eq!(d.queue_capacity, PushDelivery::default().queue_capacity);
    }

    #[test]
    fn a_bad_push_entry_is_refused_by_name() {
        let apns = |extra: serde_json::Value| {
            let mut a = serde_json::json!({"key_file": "k.p8", "key_id": "ABCDE12345",
                "team_id": "TEAM123456", "topic": "fr.vistalid.app"});
            for (k, v) in extra.as_object().expect("object") {
                a[k] = v.clone();
            }
            serde_json::json!({"push": {"apns": a}})
        };
        for (json, names) in [
            (
                apns(serde_json::json!({"environment": "staging"})),
                "push.apns.environment",
            ),
            (apns(serde_json::json!({"key_id": "short"})), "key_id"),
            (
                apns(serde_json::json!({"team_id": "TEAM-12345"})),
                "team_id",
            ),
            (apns(serde_json::json!({"topic": ""})), "topic"),
            (
                apns(serde_json::json!({"token_refresh_secs": 600})),
                "token_refresh_secs",
            ),
            (
                apns(serde_json::json!({"token_refresh_secs": 3601})),
                "token_refresh_secs",
            ),
            (apns(serde_json::json!({"kid": "ABCDE12345"})), "kid"),
            (
                serde_json::json!({"push": {"apns": {"key_id": "ABCDE12345"}}}),
                "key_file",
            ),
            (
                serde_json::json!({"push": {"fcm": {}}}),
                "service_account_file",
            ),
            (
                serde_json::json!({"push": {"fcm": {"service_account_file": 7}}}),
                "invalid type",
            ),
            (serde_json::json!({"push": {"gcm": {}}}), "gcm"),
            (
                serde_json::json!({"push": {"queue_capacity": 0}}),
                "queue_capacity",
            ),
            (
                serde_json::json!({"push": {"max_in_flight": 300}}),
                "max_in_flight",
            ),
            (
                serde_json::json!({"push": {"max_attempts": 11}}),
                "max_attempts",
            ),
            (
                serde_json::json!({"push": {"backoff_base_ms": 5000, "backoff_max_ms": 100}}),
                "backoff_base_ms",
            ),
            (
                serde_json::json!({"push": {"request_timeout_ms": 0}}),
                "request_timeout_ms",
            ),
        ] {
            let err = push_of(json.clone()).expect_err(&format!("{json} accepted"));
            assert!(err.contains(names), "{json}: {err} does not name {names}");
        }
    }
}
