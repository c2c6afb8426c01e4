// SPDX-License-Identifier: Apache-2.0
//! A browser for the tests of the token side: cookies kept by hand, redirects not followed,
//! the login page read through the elements ADR 0002 names (`form#identifier`, the hidden
//! `csrf` field, `#code`). With a `Device` of `common`, it logs in as a person does: the
//! authorization request, the identifier, the phone's approval, the continue link, and
//! hands back the authorization code the client's `redirect_uri` receives.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use vistalid_core::protocol::{Decision, PATH_AUTHORIZE};

use crate::common::{Device, Harness, Rp};

/// A browser: its own cookie jar, no automatic redirects.
pub struct Browser {
    pub http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

/// The parameters of one authorization request.
#[derive(Clone, Debug)]
pub struct Ask {
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub prompt: Option<String>,
    pub max_age: Option<i64>,
}

impl Ask {
    /// A request to `redirect_uri` with fresh random `state`, `nonce` and PKCE verifier.
    pub fn new(redirect_uri: &str) -> Self {
        Self {
            redirect_uri: redirect_uri.to_owned(),
            state: random(12),
            nonce: random(12),
            verifier: random(32),
            prompt: None,
            max_age: None,
        }
    }

    /// The S256 challenge of the verifier.
    pub fn challenge(&self) -> String {
        B64URL.encode(ring::digest::digest(
            &ring::digest::SHA256,
            self.verifier.as_bytes(),
        ))
    }
}

/// `n` random bytes, base64url.
pub fn random(n: usize) -> String {
    let mut b = vec![0u8; n];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).expect("random");
    B64URL.encode(b)
}

/// What came back to the client's `redirect_uri`.
#[derive(Debug)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub iss: Option<String>,
}

impl Callback {
    fn parse(location: &str) -> Self {
        let url = url::Url::parse(location).expect("callback URL");
        let get = |k: &str| {
            url.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        Self {
            code: get("code"),
            state: get("state"),
            error: get("error"),
            iss: get("iss"),
        }
    }

    pub fn code(&self) -> &str {
        self.code
            .as_deref()
            .unwrap_or_else(|| panic!("no code: {self:?}"))
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps (or drops, on `Max-Age=0` or an empty value) the cookies `r` sets.
    fn keep(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all(SET_COOKIE) {
            let text = v.to_str().expect("cookie text");
            let first = text.split(';').next().unwrap_or_default();
            let (name, value) = first.split_once('=').expect("cookie pair");
            let gone = value.is_empty() || text.to_ascii_lowercase().contains("max-age=0");
            if gone {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    /// GET `url` with the cookies; keeps the ones set.
    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        let r = self
            .http
            .get(url)
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .expect("GET");
        self.keep(&r);
        r
    }

    /// POST a form to `url` with the cookies; keeps the ones set.
    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let r = self
            .http
            .post(url)
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .expect("POST");
        self.keep(&r);
        r
    }

    /// The authorization request URL of `ask` for `rp`.
    pub fn authorize_url(h: &Harness, rp: &Rp, ask: &Ask) -> String {
        let mut url = url::Url::parse(&h.url(PATH_AUTHORIZE)).expect("url");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &rp.id)
                .append_pair("redirect_uri", &ask.redirect_uri)
                .append_pair("scope", "openid")
                .append_pair("state", &ask.state)
                .append_pair("nonce", &ask.nonce)
                .append_pair("code_challenge", &ask.challenge())
                .append_pair("code_challenge_method", "S256");
            if let Some(p) = &ask.prompt {
                q.append_pair("prompt", p);
            }
            if let Some(m) = ask.max_age {
                q.append_pair("max_age", &m.to_string());
            }
        }
        url.into()
    }

    /// Sends the authorization request: `Ok(callback)` when the server answered at once
    /// (from the SSO session, or an error redirect), `Err(login page URL)` when a login
    /// attempt started.
    pub async fn authorize(&mut self, h: &Harness, rp: &Rp, ask: &Ask) -> Result<Callback, String> {
        let r = self.get(&Self::authorize_url(h, rp, ask)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "authorize answers 303");
        let location = location(&r);
        if location.starts_with(&ask.redirect_uri) {
            return Ok(Callback::parse(&location));
        }
        Err(absolute(h, &location))
    }

    /// A whole login: the authorization request, and when it needs the phone, the
    /// identifier `login_id`, `device`'s approval with the shown code, and the continue link.
    pub async fn login(
        &mut self,
        h: &Harness,
        rp: &Rp,
        device: &Device,
        login_id: &str,
        ask: &Ask,
    ) -> Callback {
        let page = match self.authorize(h, rp, ask).await {
            Ok(callback) => return callback,
            Err(page) => page,
        };
        self.approve_on(h, &page, device, login_id).await;
        let r = self.get(&format!("{page}/continue")).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "continue answers 303");
        let location = location(&r);
        assert!(location.starts_with(&ask.redirect_uri), "{location}");
        Callback::parse(&location)
    }

    /// On the login page `page`: types `login_id`, then the phone approves with the code the
    /// page shows.
    pub async fn approve_on(&mut self, h: &Harness, page: &str, device: &Device, login_id: &str) {
        let html = self.get(page).await.text().await.expect("page");
        let csrf = attribute_after(&html, "name=\"csrf\"", "value").expect("csrf field");
        let r = self
            .post(page, &[("identifier", login_id), ("csrf", &csrf)])
            .await;
        let html = if r.status() == StatusCode::SEE_OTHER {
            let next = absolute(h, &location(&r));
            self.get(&next).await.text().await.expect("page")
        } else {
            r.text().await.expect("page")
        };
        assert!(
            html.contains("data-state=\"waiting\""),
            "waiting page: {html}"
        );
        let code = element_text(&html, "id=\"code\"").expect("#code");
        let code: String = code.chars().filter(char::is_ascii_alphanumeric).collect();
        let challenge = device.one_challenge(h).await;
        let status = device
            .answer(h, &challenge.id, Decision::Approve, Some(&code))
            .await
            .expect("answer");
        assert_eq!(status, "approved");
    }
}

/// The `Location` of a redirect.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(LOCATION)
        .expect("Location")
        .to_str()
        .expect("text")
        .to_owned()
}

fn absolute(h: &Harness, location: &str) -> String {
    if location.starts_with('/') {
        h.url(location)
    } else {
        location.to_owned()
    }
}

/// The value of attribute `name` in the tag holding `marker`.
fn attribute_after(html: &str, marker: &str, name: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let key = format!("{name}=\"");
    let v = tag.find(&key)? + key.len();
    let len = tag[v..].find('"')?;
    Some(tag[v..v + len].to_owned())
}

/// The text inside the element whose start tag holds `marker` (tags inside it dropped).
fn element_text(html: &str, marker: &str) -> Option<String> {
    let at = html.find(marker)?;
    let open_end = at + html[at..].find('>')? + 1;
    let rest = &html[open_end..];
    let mut out = String::new();
    let mut depth_tag = false;
    for c in rest.chars() {
        match c {
            '<' if !out.trim().is_empty() => break,
            '<' => depth_tag = true,
            '>' if depth_tag => depth_tag = false,
            c if !depth_tag => out.push(c),
            _ => {}
        }
    }
    Some(out.trim().to_owned())
}
