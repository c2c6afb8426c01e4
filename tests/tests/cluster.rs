// SPDX-License-Identifier: Apache-2.0
//! The harness's cluster mode (issue 19) does what it says: with `VL_TEST_CLUSTER=1` the
//! suite's requests go through HAProxy (which names each request) and are spread over the 3
//! instances; without it, one instance answers directly.
#![allow(clippy::unwrap_used, missing_docs)]

use vistalid_core::protocol::PATH_DISCOVERY;
use vistalid_e2e::{cluster, Env};

const METRICS_TOKEN: &str = "metrics-token-of-the-cluster-test";

/// Discovery requests served by `addr` itself, from its `/metrics`.
async fn discoveries(addr: std::net::SocketAddr) -> u64 {
    let text = reqwest::Client::new()
        .get(format!("http://{addr}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("vistalid_http_requests_total{")
                && l.contains(&format!("route=\"{PATH_DISCOVERY}\""))
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

#[tokio::test]
async fn requests_go_through_haproxy_to_every_instance() {
    let env = Env::start_with(|c, _| {
        c.metrics_token = Some(vistalid_server::MetricsToken::new(METRICS_TOKEN));
    })
    .await;
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for _ in 0..9 {
        let r = http
            .get(format!("{}{PATH_DISCOVERY}", env.url()))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        ids.push(r.headers()["x-request-id"].to_str().unwrap().to_owned());
        let doc: serde_json::Value = r.json().await.unwrap();
        assert_eq!(doc["issuer"], env.url().as_str(), "one issuer: the front's");
    }
    let counts: Vec<u64> = counts_of(&env).await;
    if !cluster::enabled() {
        assert_eq!(env.url(), env.server.base_url());
        assert_eq!(counts, [9]);
        return;
    }
    assert_eq!(counts.len(), cluster::INSTANCES);
    assert!(
        counts.iter().all(|c| *c >= 1) && counts.iter().sum::<u64>() == 9,
        "round robin over the instances: {counts:?}"
    );
    assert_ne!(
        env.url(),
        format!("http://{}", env.server.addr()),
        "the front is not an instance"
    );
    // HAProxy's unique ids (hexadecimal, set by the front), taken by the instances.
    for id in &ids {
        assert!(
            id.len() >= 24 && id.chars().all(|c| c.is_ascii_hexdigit()),
            "not HAProxy's id: {id}"
        );
    }
}

/// Discovery requests each instance served, the server first.
async fn counts_of(env: &Env) -> Vec<u64> {
    let mut out = Vec::new();
    for s in env.instances() {
        out.push(discoveries(s.addr()).await);
    }
    out
}
