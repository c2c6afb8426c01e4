// SPDX-License-Identifier: Apache-2.0
//! What a push carries, per platform: the device id and the challenge id (core's
//! `PushPayload`) and one generic visible text in French and English.
//!
//! Guarantees: the bodies built here hold only [`TITLE`], [`BODY`], the payload version, the
//! two ids and delivery settings (priority, lifetime); never a service name, a code, a
//! person's name or a binding message: the push providers read what passes through them.
//! An APNs payload is checked against [`APNS_MAX_PAYLOAD`] before it is sent.

use serde_json::{json, Map, Value};
use vistalid_core::push::PushPayload;

/// The visible title (the same in both languages).
pub(crate) const TITLE: &str = "Vistalid";
/// The visible text, French then English: the server does not know the phone's language,
/// and the text must not depend on the request.
pub(crate) const BODY: &str = "Nouvelle demande de connexion / New sign-in request";
/// Apple's limit on a notification payload, in bytes.
pub(crate) const APNS_MAX_PAYLOAD: usize = 4096;

/// One wake-up to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wake {
    /// The device and challenge.
    pub(crate) payload: PushPayload,
    /// When the challenge expires (seconds since the epoch).
    pub(crate) expires_at: i64,
}

fn data(p: &PushPayload) -> Map<String, Value> {
    p.to_pairs()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v)))
        .collect()
}

/// The FCM HTTP v1 `messages:send` body: a data message with high priority on Android,
/// kept by FCM `ttl_secs` at most (the challenge's remaining lifetime).
pub(crate) fn fcm_message(token: &str, w: &Wake, ttl_secs: i64) -> Value {
    json!({
        "message": {
            "token": token,
            "data": data(&w.payload),
            "android": {
                "priority": "high",
                "ttl": format!("{}s", ttl_secs.max(0)),
                "collapse_key": w.payload.challenge_id,
                "notification": { "title": TITLE, "body": BODY },
            },
        }
    })
}

/// The APNs payload: an alert with the generic text, and the two ids beside `aps`.
pub(crate) fn apns_payload(w: &Wake) -> Vec<u8> {
    let mut root = data(&w.payload);
    root.insert(
        "aps".into(),
        json!({ "alert": { "title": TITLE, "body": BODY }, "sound": "default" }),
    );
    Value::Object(root).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_hold_only_ids_and_generic_text() {
        let w = Wake {
            payload: PushPayload {
                device_id: "dev".into(),
                challenge_id: "ch".into(),
            },
            expires_at: 100,
        };
        let m = fcm_message("tok", &w, 42);
        assert_eq!(m["message"]["android"]["ttl"], "42s");
        assert_eq!(m["message"]["data"]["vl_challenge"], "ch");
        assert_eq!(m["message"]["data"].as_object().map(Map::len), Some(3));
        let a: Value = serde_json::from_slice(&apns_payload(&w)).expect("json");
        assert_eq!(a["vl_device"], "dev");
        assert_eq!(a["aps"]["alert"]["body"], BODY);
        assert_eq!(a.as_object().map(Map::len), Some(4));
    }
}
