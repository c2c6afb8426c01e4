// SPDX-License-Identifier: Apache-2.0
//! Scan mode of the browser login (issue 16) over loopback HTTP: the login page's QR code
//! (read back from its SVG with a QR decoder), the challenge the device fetches (which names
//! the attempt, never the secret), and every refusal of an answer without a valid MAC, each
//! counted: none of them records an answer, and the right MAC then logs in.

#[path = "support/browser.rs"]
mod browser;
mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use browser::{location, Ask, Browser};
use common::{expect_err, Device, Harness, Rp};
use reqwest::StatusCode;
use vistalid_core::jws;
use vistalid_core::protocol::{AnswerClaims, CodeMode, Decision, TYP_ANSWER};
use vistalid_core::scan::{self, ScanPayload, ScanSecret};
use vistalid_server::ClientOptions;

const CALLBACK: &str = "http://127.0.0.1:9/callback";
const RPPS: &str = "10003456789";
/// Tries of each refused kind (the count the note reports).
const TRIES: usize = 25;

fn client(h: &Harness, scan: bool) -> Rp {
    let options = ClientOptions::new(CodeMode::Pick)
        .redirect_uri(CALLBACK)
        .scan_login(scan);
    let (id, secret) = h
        .admin()
        .add_client_with("Dossier patient test", &options)
        .expect("client");
    Rp {
        id,
        secret: secret.to_string(),
    }
}

/// The QR text of a page's inline SVG: its path's runs drawn 4 px per module, then decoded.
fn read_qr(html: &str) -> (String, u8) {
    let at = html.find("<svg").expect("an inline svg");
    let svg = &html[at..at + html[at..].find("</svg>").expect("svg end")];
    let version: u8 = attr(svg, "data-version").parse().expect("version");
    let n: usize = attr(svg, "viewBox")
        .split(' ')
        .nth(2)
        .expect("size")
        .parse()
        .expect("n");
    let d = attr(&svg[svg.find("<path").expect("path")..], "d");
    let scale = 4;
    let w = n * scale;
    let mut img = vec![255u8; w * w];
    for run in d.split('M').filter(|r| !r.is_empty()) {
        let (xy, rest) = run.split_once('h').expect("run");
        let (x, y) = xy.split_once(' ').expect("x y");
        let (x, y): (usize, usize) = (x.parse().expect("x"), y.parse().expect("y"));
        let len: usize = rest.split('v').next().expect("len").parse().expect("len");
        for yy in y * scale..(y + 1) * scale {
            for xx in x * scale..(x + len) * scale {
                img[yy * w + xx] = 0;
            }
        }
    }
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(w, w, |x, y| img[y * w + x]);
    let grids = prepared.detect_grids();
    let (_, text) = grids.first().expect("a QR code").decode().expect("decodes");
    (text, version)
}

fn attr(tag: &str, name: &str) -> String {
    let key = format!("{name}=\"");
    let at = tag.find(&key).unwrap_or_else(|| panic!("{name}")) + key.len();
    tag[at..at + tag[at..].find('"').expect("quote")].to_owned()
}

fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("csrf") + 19;
    html[at..at + html[at..].find('"').expect("quote")].to_owned()
}

/// An answer JWS with `scan_mac`.
fn signed(
    device: &Device,
    id: &str,
    decision: Decision,
    code: Option<&str>,
    mac: Option<String>,
    now: i64,
) -> String {
    let claims = AnswerClaims {
        challenge_id: id.to_owned(),
        device_id: device.id().to_owned(),
        decision,
        code: code.map(str::to_owned),
        iat: now,
        scan_mac: mac,
    };
    jws::sign_json(&device.key, TYP_ANSWER, &claims).expect("sign")
}

/// Up to the waiting page: the page's URL and HTML; `ask_scan`: the user presses the
/// page's scan-mode button instead of the plain submit.
async fn waiting(h: &Harness, rp: &Rp, b: &mut Browser, ask_scan: bool) -> (String, String) {
    let page = b
        .authorize(h, rp, &Ask::new(CALLBACK))
        .await
        .expect_err("a login page");
    let html = b.get(&page).await.body;
    let token = csrf(&html);
    let login_id = format!("8{RPPS}");
    let mut form = vec![("identifier", login_id.as_str()), ("csrf", token.as_str())];
    if ask_scan {
        assert!(
            html.contains("id=\"scan-mode\""),
            "the page offers scan mode"
        );
        form.push(("login_mode", "scan"));
    }
    let r = b.post(&page, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let html = b.get(&location(&r)).await.body;
    assert!(html.contains("data-state=\"waiting\""), "{html}");
    (page, html)
}

#[tokio::test]
async fn a_scan_client_shows_a_qr_whose_secret_no_challenge_holds() {
    let h = Harness::start().await;
    let rp = client(&h, true);
    let device = h.practitioner(RPPS).await;
    let mut b = Browser::new();
    let page = b
        .authorize(&h, &rp, &Ask::new(CALLBACK))
        .await
        .expect_err("a login page");
    let html = b.get(&page).await.body;
    assert!(
        html.contains("id=\"scan-forced\""),
        "the page says scan mode is asked"
    );
    assert!(
        !html.contains("id=\"scan-mode\""),
        "no button to ask what is already on"
    );
    drop(b);

    let mut b = Browser::new();
    let (page, html) = waiting(&h, &rp, &mut b, false).await;
    assert!(
        html.contains("id=\"scan-protects\""),
        "the page says what it protects against"
    );
    let (text, version) = read_qr(&html);
    let payload = ScanPayload::parse(&text).expect("a scan payload");
    assert_eq!(
        Some(payload.origin.clone()),
        scan::origin_of(h.server.base_url())
    );
    assert!(
        page.contains(&payload.attempt_id),
        "the QR names this page's attempt"
    );
    println!(
        "scan payload: {} bytes, QR version {version} ({} modules)",
        text.len(),
        17 + 4 * usize::from(version)
    );

    // The long-poll's challenge names the attempt and never holds the secret.
    let tokens = device.fetch(&h, 0).await.expect("fetch");
    assert_eq!(tokens.len(), 1);
    let secret_b64 = B64URL.encode(payload.secret.expose());
    for token in &tokens {
        let body = String::from_utf8(
            B64URL
                .decode(token.split('.').nth(1).expect("payload"))
                .expect("b64"),
        )
        .expect("utf8");
        assert!(
            !body.contains(&secret_b64),
            "the secret is not in the challenge"
        );
        assert!(!token.contains(&secret_b64));
    }
    let challenge = device.verify(&tokens[0]);
    assert_eq!(challenge.scan.as_deref(), Some(payload.attempt_id.as_str()));

    // The right MAC approves, and the login goes back to the client with a code.
    let code = challenge
        .candidates
        .iter()
        .find(|c| html.contains(&format!(">{c}<")))
        .expect("the page's code")
        .clone();
    let mac = scan::answer_mac(&payload.secret, &challenge.id, Decision::Approve);
    let jws = signed(
        &device,
        &challenge.id,
        Decision::Approve,
        Some(&code),
        Some(mac),
        h.now(),
    );
    assert_eq!(
        device
            .post_answer(&h, &challenge.id, jws)
            .await
            .expect("approved"),
        "approved"
    );
    let r = b.get(&format!("{page}/continue")).await;
    assert!(
        location(&r).starts_with(CALLBACK) && location(&r).contains("code="),
        "{}",
        location(&r)
    );

    // The session this opened does not stand in for the next scan: a new login page.
    let again = b.authorize(&h, &rp, &Ask::new(CALLBACK)).await;
    assert!(
        again.is_err(),
        "a scan-mode client always gets a login page"
    );
    let mut none = Ask::new(CALLBACK);
    none.prompt = Some("none".into());
    let cb = b
        .authorize(&h, &rp, &none)
        .await
        .expect("an answer at once");
    assert_eq!(cb.error.as_deref(), Some("login_required"));
}

/// One refused kind: what it is, the signed decision, code and MAC, the error expected.
type Case<'a> = (&'a str, Decision, Option<&'a str>, Option<String>, &'a str);

#[tokio::test]
async fn every_answer_without_a_valid_mac_is_refused_and_counted() {
    let h = Harness::start().await;
    let rp = client(&h, false);
    let device = h.practitioner(RPPS).await;
    let mut b = Browser::new();
    // Scan mode on the user's request, from the page's button.
    let (page, html) = waiting(&h, &rp, &mut b, true).await;
    let (text, _) = read_qr(&html);
    let payload = ScanPayload::parse(&text).expect("a scan payload");
    let challenge = device.one_challenge(&h).await;
    assert!(challenge.scan.is_some());
    let code = challenge
        .candidates
        .iter()
        .find(|c| html.contains(&format!(">{c}<")))
        .expect("code")
        .clone();
    let id = challenge.id.clone();
    let wrong_key = ScanSecret::new([0x5a; scan::SECRET_LEN]);
    let now = h.now();

    let cases: Vec<Case<'_>> = vec![
        (
            "no MAC, approve",
            Decision::Approve,
            Some(&code),
            None,
            "scan_mac_required",
        ),
        (
            "no MAC, deny",
            Decision::Deny,
            None,
            None,
            "scan_mac_required",
        ),
        (
            "no MAC, not me",
            Decision::NotMe,
            None,
            None,
            "scan_mac_required",
        ),
        (
            "wrong key",
            Decision::Approve,
            Some(&code),
            Some(scan::answer_mac(&wrong_key, &id, Decision::Approve)),
            "scan_mac_invalid",
        ),
        (
            "MAC over deny, approving",
            Decision::Approve,
            Some(&code),
            Some(scan::answer_mac(&payload.secret, &id, Decision::Deny)),
            "scan_mac_invalid",
        ),
        (
            "MAC over approve, denying",
            Decision::Deny,
            None,
            Some(scan::answer_mac(&payload.secret, &id, Decision::Approve)),
            "scan_mac_invalid",
        ),
        (
            "MAC of another challenge",
            Decision::Approve,
            Some(&code),
            Some(scan::answer_mac(
                &payload.secret,
                "another-challenge",
                Decision::Approve,
            )),
            "scan_mac_invalid",
        ),
        (
            "malformed MAC",
            Decision::Approve,
            Some(&code),
            Some("not-a-mac".into()),
            "scan_mac_invalid",
        ),
    ];
    let mut refused = 0;
    for (what, decision, code, mac, want) in &cases {
        for _ in 0..TRIES {
            let jws = signed(&device, &id, *decision, *code, mac.clone(), now);
            let f = expect_err(device.post_answer(&h, &id, jws).await, 403, want);
            assert!(f.body.error_description.is_some(), "{what}");
            refused += 1;
        }
    }
    println!(
        "scan mode: {refused} of {} answers without a valid MAC refused",
        cases.len() * TRIES
    );
    assert_eq!(refused, cases.len() * TRIES);

    // Nothing was recorded: the page still waits, the challenge is still pending.
    let html = b.get(&page).await.body;
    assert!(html.contains("data-state=\"waiting\""));
    assert_eq!(device.fetch(&h, 0).await.expect("fetch").len(), 1);

    // The right MAC over "deny" declines it.
    let mac = scan::answer_mac(&payload.secret, &id, Decision::Deny);
    let jws = signed(&device, &id, Decision::Deny, None, Some(mac), now);
    assert_eq!(
        device.post_answer(&h, &id, jws).await.expect("denied"),
        "denied"
    );
}

#[tokio::test]
async fn a_mac_on_a_push_challenge_is_refused_and_a_push_login_needs_none() {
    let h = Harness::start().await;
    let rp = client(&h, false);
    let device = h.practitioner(RPPS).await;
    let mut b = Browser::new();
    let (_page, html) = waiting(&h, &rp, &mut b, false).await;
    assert!(!html.contains("<svg"), "no QR code without scan mode");
    let challenge = device.one_challenge(&h).await;
    assert_eq!(challenge.scan, None);
    let any = ScanSecret::new([1; scan::SECRET_LEN]);
    let mac = scan::answer_mac(&any, &challenge.id, Decision::Deny);
    let jws = signed(
        &device,
        &challenge.id,
        Decision::Deny,
        None,
        Some(mac),
        h.now(),
    );
    expect_err(
        device.post_answer(&h, &challenge.id, jws).await,
        400,
        "scan_mac_unexpected",
    );
    let status = device
        .answer(&h, &challenge.id, Decision::Deny, None)
        .await
        .expect("a push answer needs no MAC");
    assert_eq!(status, "denied");
}
