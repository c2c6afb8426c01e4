// SPDX-License-Identifier: Apache-2.0
//! Push wake-ups (issue 20) for the shells: registering the platform's token and handling a
//! push's data. Maps core's `Wallet::register_push_token` and `Wallet::handle_push`; no HTTP
//! or TLS crate is involved (the requests go through the app's `HttpTransport`).
//!
//! The shells wrap these with the platforms' names: Kotlin `registerPushToken(token)` and
//! `handlePush(data)`; Swift `registerPushToken(_ deviceToken: Data)` and
//! `handlePush(userInfo:)`.

use std::collections::HashMap;

use vistalid_core::push::PushPlatform as CorePlatform;

use crate::error::VistalidError;
use crate::wallet::{Challenge, Wallet};

/// The push service a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PushPlatform {
    /// Firebase Cloud Messaging (Android): the registration token as FCM gives it.
    Fcm,
    /// Apple Push Notification service (iOS): the device token in lowercase hex.
    Apns,
}

impl From<PushPlatform> for CorePlatform {
    fn from(p: PushPlatform) -> Self {
        match p {
            PushPlatform::Fcm => Self::Fcm,
            PushPlatform::Apns => Self::Apns,
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Wallet {
    /// Registers `token` of `platform` with every account's server (signed by each account's
    /// device-tier key, fresh and single-use); call it at start and whenever the platform
    /// rotates the token. Throws `InvalidInput` for a token not of its platform's shape.
    pub async fn register_push_token_for(
        &self,
        platform: PushPlatform,
        token: String,
    ) -> Result<(), VistalidError> {
        Ok(self
            .inner
            .register_push_token(platform.into(), &token)
            .await?)
    }

    /// Removes this device's push token from every account's server (long-poll only then).
    /// `wipe` does it first, best effort.
    pub async fn unregister_push_token(&self) -> Result<(), VistalidError> {
        Ok(self.inner.unregister_push_token().await?)
    }

    /// Handles a push's data (string pairs): checks its shape and device id, fetches and
    /// verifies the challenge it names; `None` when that challenge is no longer pending.
    /// Throws `InvalidInput` for a push that is not a Vistalid wake-up for this wallet.
    pub async fn handle_push_data(
        &self,
        data: HashMap<String, String>,
    ) -> Result<Option<Challenge>, VistalidError> {
        let pairs = data.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        Ok(self.inner.handle_push(pairs).await?.map(Into::into))
    }
}
