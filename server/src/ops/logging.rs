// SPDX-License-Identifier: Apache-2.0
//! The log output of the binary: human-readable lines (the default) or one JSON object per
//! line, to standard error, filtered by `RUST_LOG` (default `info`).
//!
//! Guarantees: in both formats a line written while a request is served carries the
//! request's span (`request{id=… method=… route=…}`; in JSON the `span` object with `id`), so
//! every line of a request names its request id. The server logs no secret at any level:
//! codes, tokens, PINs, activation codes and client secrets are never a field or a message
//! (the log-grep test runs every flow at `trace` and searches the output for them).

use std::str::FromStr;

use tracing_subscriber::EnvFilter;

/// The format of the log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One line per event, for people (the default).
    #[default]
    Human,
    /// One JSON object per line (`timestamp`, `level`, `fields.message`, `target`, `span`
    /// with the request id), for log collectors.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "human" => Ok(Self::Human),
            "json" => Ok(Self::Json),
            other => Err(format!("log format must be human or json, not {other:?}")),
        }
    }
}

/// Installs the global subscriber writing to `writer` in `format`, filtered by `filter`
/// (`RUST_LOG` syntax) or else by `RUST_LOG` (default `info`). Fails when a global
/// subscriber is already set or the filter does not parse.
pub fn init_logging<W>(format: LogFormat, filter: Option<&str>, writer: W) -> Result<(), String>
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = match filter {
        Some(f) => EnvFilter::try_new(f).map_err(|e| format!("log filter: {e}"))?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let done = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    done.map_err(|e| format!("logging: {e}"))
}
