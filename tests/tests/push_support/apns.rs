// SPDX-License-Identifier: Apache-2.0
//! The APNs stand-in: an HTTP/2-only TLS server (a CA the test makes, trusted by the
//! server under test through `extra_roots_pem`) checking what Apple documents for the
//! provider API with token-based authentication, and recording every deviation.

use std::sync::Arc;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair as _, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde_json::{json, Value};

use super::{split_jws, string_pairs, Log, Received, Reply, SharedLog};

pub const TEAM_ID: &str = "TEAM123456";
pub const KEY_ID: &str = "KEY9876543";
pub const TOPIC: &str = "fr.vistalid.wallet";

/// A running stand-in.
pub struct StandIn {
    pub log: SharedLog,
    pub base: String,
    pub key_file: std::path::PathBuf,
    pub ca_file: std::path::PathBuf,
}

#[derive(Clone)]
struct St {
    log: SharedLog,
    public: Arc<Vec<u8>>,
}

impl StandIn {
    /// Starts the stand-in; writes the team key (`.p8`) and the CA into `dir`.
    pub async fn start(dir: &std::path::Path) -> StandIn {
        let _ = rustls::crypto::ring::default_provider().install_default();
        // The team's signing key, as Apple hands it over (PEM PKCS#8 P-256).
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let public =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap()
                .public_key()
                .as_ref()
                .to_vec();
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
        let key_file = dir.join(format!("AuthKey_{KEY_ID}.p8"));
        std::fs::write(
            &key_file,
            format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"),
        )
        .unwrap();
        // The TLS certificates: a CA and a leaf for localhost.
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let ca_file = dir.join("apns-ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &Issuer::new(ca_params, ca_key))
            .unwrap();
        let mut tls = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap(),
            )
            .unwrap();
        tls.alpn_protocols = vec![b"h2".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        );
        let log: SharedLog = Arc::new(Log::default());
        let st = St {
            log: Arc::clone(&log),
            public: Arc::new(public),
        };
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let st = st.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        st.log.violation("TLS handshake failed");
                        return;
                    };
                    if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
                        st.log.violation("ALPN did not select h2");
                    }
                    let service = hyper::service::service_fn(move |req| {
                        let st = st.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(st, req).await) }
                    });
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        StandIn {
            log,
            base,
            key_file,
            ca_file,
        }
    }

    /// The delivery settings pointing at this stand-in.
    pub fn settings(&self) -> vistalid_server::ApnsSettings {
        vistalid_server::ApnsSettings {
            key_file: self.key_file.clone(),
            key_id: KEY_ID.into(),
            team_id: TEAM_ID.into(),
            topic: TOPIC.into(),
            environment: vistalid_server::ApnsEnvironment::Development,
            endpoint: Some(self.base.clone()),
            extra_roots_pem: Some(self.ca_file.clone()),
            token_refresh_secs: 2400,
        }
    }
}

fn reason(status: StatusCode, reason: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(
        json!({ "reason": reason }).to_string(),
    )));
    *r.status_mut() = status;
    r
}

async fn handle(st: St, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let log = &st.log;
    if req.version() != Version::HTTP_2 {
        log.violation("not HTTP/2");
    }
    let path = req.uri().path().to_owned();
    let h = |k: &str| {
        req.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_default()
    };
    let (auth, topic, push_type, priority, expiration, collapse) = (
        h("authorization"),
        h("apns-topic"),
        h("apns-push-type"),
        h("apns-priority"),
        h("apns-expiration"),
        h("apns-collapse-id"),
    );
    let method_ok = req.method() == hyper::Method::POST;
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let token = path
        .strip_prefix("/3/device/")
        .unwrap_or_default()
        .to_owned();
    if !method_ok || token.is_empty() || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        log.violation(format!("request line {path}"));
        return reason(StatusCode::BAD_REQUEST, "BadPath");
    }
    // The provider token: ES256 under the team key, kid, iss, age under an hour.
    let Some((header, claims, input, sig)) = auth.strip_prefix("bearer ").and_then(split_jws)
    else {
        log.violation("authorization is not `bearer <JWT>`");
        return reason(StatusCode::FORBIDDEN, "MissingProviderToken");
    };
    let t = log.now();
    let signed = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, st.public.as_slice())
        .verify(input.as_bytes(), &sig)
        .is_ok();
    let age_ok = claims["iat"]
        .as_i64()
        .is_some_and(|i| i <= t + 5 && t - i < 3600);
    let checks = [
        (signed, "ES256 signature under the team key"),
        (header["alg"] == "ES256", "alg ES256"),
        (header["kid"] == KEY_ID, "kid"),
        (claims["iss"] == TEAM_ID, "iss = team id"),
        (age_ok, "provider token younger than an hour"),
    ];
    for (ok, what) in checks {
        if !ok {
            log.violation(format!("provider token: {what}"));
            return reason(StatusCode::FORBIDDEN, "InvalidProviderToken");
        }
    }
    // Apple takes at most one new provider token per 20 minutes: a faster one is a
    // deviation, answered 429 TooManyProviderTokenUpdates as APNs does.
    let seen = log.credentials.lock().unwrap().contains(&auth);
    if !seen {
        let last = log.credential_times.lock().unwrap().last().copied();
        if last.is_some_and(|l| t - l < 1200) {
            log.violation("a new provider token less than 20 minutes after the last one");
            return reason(StatusCode::TOO_MANY_REQUESTS, "TooManyProviderTokenUpdates");
        }
        log.new_credential(auth.clone());
    }
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let keys_ok = payload.as_object().is_some_and(|o| {
        o.keys()
            .all(|k| ["aps", "vl_v", "vl_device", "vl_challenge"].contains(&k.as_str()))
    });
    let checks = [
        (topic == TOPIC, "apns-topic"),
        (push_type == "alert", "apns-push-type alert"),
        (priority == "10", "apns-priority 10"),
        (
            expiration
                .parse::<i64>()
                .is_ok_and(|e| e > t && e <= t + 600),
            "apns-expiration within the challenge's life",
        ),
        (
            !collapse.is_empty() && collapse.len() <= 64,
            "apns-collapse-id",
        ),
        (body.len() <= 4096, "payload at most 4 KB"),
        (payload["aps"]["alert"].is_object(), "aps.alert"),
        (keys_ok, "payload keys"),
    ];
    for (ok, what) in checks {
        if !ok {
            log.violation(format!("notification: {what}"));
            return reason(StatusCode::BAD_REQUEST, "BadRequest");
        }
    }
    log.received.lock().unwrap().push(Received {
        at: std::time::Instant::now(),
        token,
        data: string_pairs(&payload, &["aps"]),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    match log.next_reply() {
        Reply::Ok => reason(StatusCode::OK, "").map(|_| Full::new(Bytes::new())),
        Reply::Slow(d) => {
            tokio::time::sleep(d).await;
            Response::new(Full::new(Bytes::new()))
        }
        Reply::Bad => reason(StatusCode::BAD_REQUEST, "BadDeviceToken"),
        Reply::ExpiredProviderToken => reason(StatusCode::FORBIDDEN, "ExpiredProviderToken"),
        Reply::Unregistered => reason(StatusCode::GONE, "Unregistered"),
        Reply::TooMany(secs) => {
            let mut r = reason(StatusCode::TOO_MANY_REQUESTS, "TooManyProviderTokenUpdates");
            r.headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
            r
        }
        Reply::Unavailable => reason(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
    }
}
