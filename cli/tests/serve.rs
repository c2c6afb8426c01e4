// SPDX-License-Identifier: Apache-2.0
//! `vistalid demo --serve`: started as a person would, it prints the sample health service's
//! URL and the phone's commands; a browser (the relying party module's user agent) then clicks
//! through the whole login while the printed commands play the phone, sees who logged in, logs
//! out; closing standard input stops it.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{code, run, texts, PIN};
use url::Url;
use vistalid_server::relying_party::html::Html;
use vistalid_server::relying_party::user_agent::{Response, UserAgent};

/// What `--serve` printed.
struct Printed {
    service: String,
    state_dir: String,
    server: String,
    activation: String,
    identifier: String,
}

/// Reads the child's standard output until its "Press Ctrl-C" line.
fn read_intro(child: &mut Child) -> (Printed, String) {
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let after = |marker: &str| -> String {
        let at = seen
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker:?} in:\n{seen}"));
        seen[at + marker.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches([',', '.', ')'])
            .to_owned()
    };
    let printed = Printed {
        service: after("The sample health service runs at "),
        server: after("enrol --server "),
        state_dir: after("--state-dir "),
        activation: after("--code "),
        identifier: after("type the identifier "),
    };
    (printed, seen)
}

/// `vistalid --state-dir DIR ARGS…` as the printed command has it.
fn phone(dir: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vistalid"));
    cmd.arg("--state-dir")
        .arg(dir)
        .args(args)
        .env("VISTALID_LANG", "en");
    cmd
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// Follows redirects from `resp` (at most 5) and returns the first answer that is not one.
async fn settle(ua: &UserAgent, mut resp: Response) -> Response {
    for _ in 0..5 {
        if !resp.is_redirect() {
            return resp;
        }
        resp = ua.follow(&resp).await.unwrap();
    }
    panic!("too many redirects from {}", resp.url);
}

fn state(resp: &Response) -> String {
    resp.html()
        .first("main")
        .and_then(|m| m.attr("data-state").map(str::to_owned))
        .unwrap_or_else(|| panic!("{} has no <main data-state>: {}", resp.url, resp.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_logs_in_through_the_sample_service() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vistalid"))
        .args(["demo", "--serve"])
        .env("VISTALID_LANG", "en")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (p, intro) = read_intro(&mut child);
    assert!(p.service.starts_with("http://127.0.0.1:"), "{intro}");
    assert!(p.server.starts_with("http://127.0.0.1:"), "{intro}");
    assert!(intro.contains(" approve --wait "), "{intro}");

    // The phone: the printed enrol command.
    let out = run(
        phone(
            &p.state_dir,
            &["enrol", "--server", &p.server, "--code", &p.activation],
        ),
        &format!("{PIN}\n"),
    );
    assert_eq!(code(&out), 0, "enrol: {:?}", texts(&out));

    // The browser: the start page's button.
    let ua = UserAgent::new(4).unwrap();
    let home = ua.get(&url(&p.service)).await.unwrap();
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains("Se connecter avec Vistalid"),
        "{}",
        home.body
    );
    let button = home.html().form("login").map(|f| f.action);
    let login = ua
        .get(
            &url(&p.service)
                .join(&button.unwrap_or("/login".into()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(login.status, 303);
    let to = login.location.clone().unwrap();
    assert!(
        to.as_str()
            .starts_with(&format!("{}/protocol/openid-connect/auth?", p.server)),
        "{to}"
    );
    let page = settle(&ua, ua.follow(&login).await.unwrap()).await;
    assert_eq!(state(&page), "identifier", "{}", page.body);
    let html = page.html();
    let mut form = html.form("identifier").unwrap();
    form.set("identifier", &p.identifier);
    let action = page.url.join(&form.action).unwrap();
    let waiting = settle(&ua, ua.post_form(&action, &form.fields).await.unwrap()).await;
    assert_eq!(state(&waiting), "waiting", "{}", waiting.body);
    let shown: String = Html::new(waiting.body.clone())
        .text_of("code")
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();

    // The phone: the printed approve command, with the page's code and the PIN.
    let out = run(
        phone(&p.state_dir, &["approve", "--wait", "20"]),
        &format!("{shown}\n{PIN}\n"),
    );
    assert_eq!(code(&out), 0, "approve: {:?}", texts(&out));

    // The page moves on (what its script or its refresh does): approved, then back to the
    // service, which exchanges the code and shows who logged in.
    let deadline = Instant::now() + Duration::from_secs(20);
    let back = loop {
        let resp = ua.get(&waiting.url).await.unwrap();
        let resp = settle_to_service(&ua, resp, &p.service).await;
        if let Some(back) = resp {
            break back;
        }
        assert!(Instant::now() < deadline, "the login page never moved on");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let home = settle(&ua, back).await;
    assert_eq!(state(&home), "home", "{}", home.body);
    let who = Html::new(home.body.clone()).text_of("who").unwrap();
    assert!(who.contains("Camille Martin"), "{who}");
    assert!(who.contains(&p.identifier), "{who}");

    // Logout: the service, the identity server's end-session, back to the service.
    let html = home.html();
    let logout = html
        .form("logout")
        .map(|f| f.action)
        .unwrap_or("/logout".into());
    let bye = settle(
        &ua,
        ua.get(&url(&p.service).join(&logout).unwrap())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(state(&bye), "logged_out", "{}", bye.body);
    assert!(bye.url.as_str().starts_with(&p.service), "{}", bye.url);

    // Closing standard input stops it.
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("--serve did not stop when its input closed");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");
}

/// From the login page's answer: once the attempt is approved, its continue link (from the
/// status JSON) followed to the service's callback; `None` while it waits.
async fn settle_to_service(ua: &UserAgent, page: Response, service: &str) -> Option<Response> {
    let page = settle(ua, page).await;
    if state(&page) == "waiting" {
        return None;
    }
    assert_eq!(state(&page), "approved", "{}", page.body);
    let mut status_url = page.url.clone();
    status_url.set_path(&format!("{}/status", page.url.path()));
    let status = ua.get(&status_url).await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&status.body).unwrap();
    let cont = page
        .url
        .join(json["continue"].as_str().expect("continue"))
        .unwrap();
    let to_client = ua.get(&cont).await.unwrap();
    assert_eq!(to_client.status, 303, "{}", to_client.body);
    let callback = to_client.location.clone().unwrap();
    assert!(
        callback
            .as_str()
            .starts_with(&format!("{service}/callback?")),
        "{callback}"
    );
    Some(ua.follow(&to_client).await.unwrap())
}
