// SPDX-License-Identifier: Apache-2.0
//! A browser for the tests of the token side, on `relying_party::user_agent` (the one user
//! agent of the tests, the demo and the bench): the login page read through the elements
//! ADR 0002 names (`form#identifier`, the hidden `csrf` field, `#code`). With a `Device` of `common`, it logs in as a person does: the
//! authorization request, the identifier, the phone's approval, the continue link, and
//! hands back the authorization code the client's `redirect_uri` receives.
#![allow(dead_code, unreachable_pub)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use vistalid_core::protocol::{Decision, PATH_AUTHORIZE};
use vistalid_server::relying_party::user_agent::{self, UserAgent};

use crate::common::{Device, Harness, Rp};

/// A browser: the relying party module's user agent (its cookie jar, redirects never
/// followed), with the steps these tests take.
pub struct Browser {
    pub ua: UserAgent,
}

/// An answer as the browser got it.
pub type Page = user_agent::Response;

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
    pub fn parse(location: &str) -> Self {
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
            ua: UserAgent::new(4).expect("user agent"),
        }
    }

    /// Whether the jar holds cookie `name`.
    pub fn has_cookie(&self, name: &str) -> bool {
        self.ua.cookie(name).is_some()
    }

    /// GET `url` with the cookies; keeps the ones set.
    pub async fn get(&mut self, url: &str) -> Page {
        let url = url::Url::parse(url).expect("URL");
        self.ua.get(&url).await.expect("GET")
    }

    /// POST a form to `url` with the cookies; keeps the ones set.
    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let url = url::Url::parse(url).expect("URL");
        let fields: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.ua.post_form(&url, &fields).await.expect("POST")
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
        assert_eq!(r.status, 303, "authorize answers 303");
        let location = location(&r);
        if location.starts_with(&ask.redirect_uri) {
            return Ok(Callback::parse(&location));
        }
        Err(location)
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
        assert_eq!(r.status, 303, "continue answers 303");
        let location = location(&r);
        assert!(location.starts_with(&ask.redirect_uri), "{location}");
        Callback::parse(&location)
    }

    /// On the login page `page`: types `login_id`, then the phone approves with the code the
    /// page shows.
    pub async fn approve_on(&mut self, h: &Harness, page: &str, device: &Device, login_id: &str) {
        let html = self.get(page).await.html();
        let form = html.form("identifier").expect("form#identifier");
        let csrf = form.field("csrf").expect("csrf field").to_owned();
        let r = self
            .post(page, &[("identifier", login_id), ("csrf", &csrf)])
            .await;
        let r = if r.is_redirect() {
            let next = location(&r);
            self.get(&next).await
        } else {
            r
        };
        assert!(
            r.body.contains("data-state=\"waiting\""),
            "waiting page: {}",
            r.body
        );
        let code = r.html().text_of("code").expect("#code");
        let code: String = code.chars().filter(char::is_ascii_alphanumeric).collect();
        let challenge = device.one_challenge(h).await;
        let status = device
            .answer(h, &challenge.id, Decision::Approve, Some(&code))
            .await
            .expect("answer");
        assert_eq!(status, "approved");
    }
}

/// The `Location` of a redirect, absolute.
pub fn location(r: &Page) -> String {
    r.location.as_ref().expect("Location").to_string()
}
