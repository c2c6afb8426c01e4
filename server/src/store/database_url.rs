// SPDX-License-Identifier: Apache-2.0
//! The database URL of the configuration, whose `Debug` never shows its password.

use std::fmt;

/// A database URL (`sqlite:PATH` or `postgres://…`, see `ServerConfig::database_url`); its
/// `Debug` shows it with the password (user information or `password=`) replaced by
/// `redacted`.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "String")]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL as written, password included: for the connection only, never for a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> Self {
        Self(url.to_owned())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&super::postgres::redacted(&self.0))
            .finish()
    }
}
