// SPDX-License-Identifier: Apache-2.0
//! The terminal wallet driven through a pseudo-terminal, as a person would use it: the PIN
//! is typed without echo, the code is picked from the list, and the approval reaches the
//! reference server (the relying party then gets its ID token).
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;
use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession;
use expectrl::{Expect, Regex, Session};
use vistalid_core::protocol::{CibaResponse, CodeMode, CIBA_GRANT_TYPE, PATH_CIBA, PATH_TOKEN};
use vistalid_server::ServerConfig;

const PIN: &str = "274915";
const RPPS: &str = "10009876543";

fn vistalid(state: &std::path::Path, args: &[&str]) -> OsSession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vistalid"));
    cmd.arg("--state-dir").arg(state).args(args);
    let mut s = Session::spawn(cmd).unwrap();
    s.set_expect_timeout(Some(Duration::from_secs(30)));
    s
}

#[test]
fn approve_through_a_pseudo_terminal() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = rt
        .block_on(vistalid_server::start(ServerConfig::for_tests(data.path())))
        .unwrap();
    let url = server.base_url().to_owned();
    let (client_id, secret) = server
        .admin()
        .add_client("Ordonnance numérique", CodeMode::Pick)
        .unwrap();
    let code = server
        .admin()
        .add_practitioner(RPPS, "Inès", "Durand", "21")
        .unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut screen = String::new();

    let mut enrol = vistalid(
        state.path(),
        &["enrol", "--server", &url, "--code", code.as_str()],
    );
    enrol.expect("Choose a 6-digit PIN: ").unwrap();
    enrol.send_line(PIN).unwrap();
    let done = enrol.expect("Enrolled practitioner").unwrap();
    screen.push_str(&String::from_utf8_lossy(done.before()));

    let http = reqwest::Client::new();
    let ciba: CibaResponse = rt.block_on(async {
        http.post(format!("{url}{PATH_CIBA}"))
            .basic_auth(&client_id, Some(secret.as_str()))
            .form(&[
                ("login_hint", RPPS),
                ("binding_message", "Signature d'ordonnance"),
                ("scope", "openid"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });

    let mut approve = vistalid(state.path(), &["approve", "--wait", "10"]);
    approve.expect("Signature d'ordonnance").unwrap();
    let list = approve
        .expect(Regex(r"\[1\] (\d\d)   \[2\] (\d\d)   \[3\] (\d\d)"))
        .unwrap();
    let candidates: Vec<String> = (1..=3)
        .map(|i| String::from_utf8_lossy(list.get(i).unwrap()).into_owned())
        .collect();
    let position = candidates
        .iter()
        .position(|c| *c == ciba.dynamic_code)
        .unwrap()
        + 1;
    approve.expect("Code (number").unwrap();
    approve.send_line(position.to_string()).unwrap();
    approve.expect("PIN: ").unwrap();
    approve.send_line(PIN).unwrap();
    let done = approve.expect("Login approved.").unwrap();
    screen.push_str(&String::from_utf8_lossy(done.before()));
    assert!(!screen.contains(PIN), "the PIN was echoed:\n{screen}");

    let (status, body): (u16, serde_json::Value) = rt.block_on(async {
        let r = http
            .post(format!("{url}{PATH_TOKEN}"))
            .basic_auth(&client_id, Some(secret.as_str()))
            .form(&[
                ("grant_type", CIBA_GRANT_TYPE),
                ("auth_req_id", ciba.auth_req_id.as_str()),
            ])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    });
    assert_eq!(status, 200, "{body}");
    assert!(body["id_token"].is_string());

    // A wrong PIN is reported with the tries left, and the exit code says so.
    let ciba2: CibaResponse = rt.block_on(async {
        http.post(format!("{url}{PATH_CIBA}"))
            .basic_auth(&client_id, Some(secret.as_str()))
            .form(&[
                ("login_hint", RPPS),
                ("binding_message", "Second"),
                ("scope", "openid"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let _ = ciba2;
    let mut approve = vistalid(state.path(), &["approve", "--wait", "10"]);
    approve.expect("Code (number").unwrap();
    approve.send_line("1").unwrap();
    approve.expect("PIN: ").unwrap();
    approve.send_line("975318").unwrap();
    approve.expect("Wrong PIN. 4 tries left").unwrap();
    let status = approve.get_process_mut().wait().unwrap();
    assert_eq!(status, WaitStatus::Exited(approve.get_process().pid(), 3));
    rt.block_on(server.shutdown());
}
