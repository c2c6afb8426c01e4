// SPDX-License-Identifier: Apache-2.0
//! The browser's walk through Vistalid's login page, step by step, as ADR 0002 fixes it: the
//! authorization request, the attempt's page, the identifier form, the status long-poll, the
//! continue link, the redirect back to the client, and the logout. The CLI demo prints each
//! step, the load bench times each, and tests assert on each.
//!
//! Guarantees: every step checks what the contract says the server answers, and fails with
//! [`RpError::Page`] naming the step and what it saw otherwise:
//! - the authorization endpoint answers 303 to `/login/{attempt}` on the server's own origin
//!   (or, from an SSO session, straight to the `redirect_uri`), and sets
//!   `vl_attempt_{attempt}` with `HttpOnly`, `SameSite=Lax`, `Path=/login/` and `Secure`
//!   unless the server is plain-http loopback;
//! - every page is HTML with a `<main data-state>`; a form is posted with its hidden fields
//!   (its `csrf` must be there); redirects are followed only within `/login/{attempt}`;
//! - the status answer has a `state`, and never the code dynamique;
//! - the continue link leads, by one redirect, to the `redirect_uri`, and sets `vl_session`
//!   (`HttpOnly`, `SameSite=Lax`, `Path=/`);
//! - logout redirects to the registered `post_logout_redirect_uri` with the `state`, and
//!   removes `vl_session`.

use serde::Deserialize;
use url::Url;
use vistalid_core::protocol::{PATH_LOGIN, PATH_LOGIN_STATUS};

use super::code_flow::{AuthorizationRequest, AuthorizeOptions};
use super::html::Html;
use super::user_agent::{Response, UserAgent};
use super::{RelyingParty, RpError};

/// The most redirects a step follows inside the login pages.
const MAX_HOPS: usize = 3;

/// One state of the login page.
#[derive(Debug, Clone)]
pub struct LoginPage {
    /// `<main data-state>`: `identifier`, `waiting`, `approved`, `declined`, …
    pub state: String,
    /// The page's URL.
    pub url: Url,
    /// The page.
    pub html: Html,
}

impl LoginPage {
    fn read(step: &'static str, resp: &Response) -> Result<Self, RpError> {
        if resp.status != 200 {
            return Err(RpError::page(
                step,
                format!("{} answered {}", resp.url, resp.status),
            ));
        }
        let html = resp.html();
        let state = html
            .first("main")
            .and_then(|m| m.attr("data-state").map(str::to_owned))
            .ok_or_else(|| RpError::page(step, format!("{}: no <main data-state>", resp.url)))?;
        Ok(Self {
            state,
            url: resp.url.clone(),
            html,
        })
    }

    /// The text of the element `id` (`code`, `service`, `device`, `countdown`).
    pub fn text(&self, id: &str) -> Option<String> {
        self.html.text_of(id)
    }

    /// The code dynamique shown (`#code`, its digits).
    pub fn code(&self) -> Option<String> {
        let digits: String = self
            .text("code")?
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        (!digits.is_empty()).then_some(digits)
    }
}

/// The status endpoint's answer (ADR 0002).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Status {
    /// The attempt's state (the page's `data-state` values).
    pub state: String,
    /// Seconds left on the current phone challenge.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// After approval: the continue URL.
    #[serde(default, rename = "continue")]
    pub continue_url: Option<String>,
}

/// What the authorization endpoint did with a request.
#[derive(Debug)]
pub enum Started {
    /// A login attempt: its page.
    Login(Box<(BrowserLogin, LoginPage)>),
    /// An answer at once (an SSO session, or an error sent back to the client): the URL the
    /// browser was sent to.
    Redirected(AuthorizationRequest, Url),
}

/// One login attempt, walked by one user agent.
#[derive(Debug)]
pub struct BrowserLogin {
    /// The relying party's request.
    pub request: AuthorizationRequest,
    /// The attempt's id (the last segment of its page's path).
    pub attempt: String,
    /// The attempt's page.
    pub page_url: Url,
    ua: UserAgent,
    secure_cookies: bool,
}

impl BrowserLogin {
    /// Sends `ua` to a new authorization request of `rp` back to `redirect_uri`, and reads
    /// what comes back: a login attempt's first page, or a redirect.
    pub async fn authorize(
        rp: &RelyingParty,
        ua: &UserAgent,
        redirect_uri: &str,
        options: &AuthorizeOptions,
    ) -> Result<Started, RpError> {
        const STEP: &str = "authorize";
        let request = rp.authorization_request(redirect_uri, options)?;
        let url = Url::parse(&request.url).map_err(|_| RpError::Malformed("authorization URL"))?;
        let resp = ua.get(&url).await?;
        let Some(next) = resp.location.clone().filter(|_| resp.is_redirect()) else {
            return Err(RpError::page(
                STEP,
                format!("answered {} without a redirect", resp.status),
            ));
        };
        if resp.status != 303 {
            return Err(RpError::page(
                STEP,
                format!("redirected with {}, not 303", resp.status),
            ));
        }
        let base = Url::parse(rp.base_url()).map_err(|_| RpError::Malformed("base URL"))?;
        let attempt = (next.origin() == base.origin())
            .then(|| {
                next.path()
                    .strip_prefix(PATH_LOGIN.trim_end_matches("{attempt}"))
            })
            .flatten()
            .filter(|a| !a.is_empty() && !a.contains('/'))
            .map(str::to_owned);
        let Some(attempt) = attempt else {
            return Ok(Started::Redirected(request, next));
        };
        let secure_cookies = !(base.scheme() == "http" && is_loopback(&base));
        let cookie = format!("vl_attempt_{attempt}");
        check_cookie(STEP, &resp, &cookie, "/login/", secure_cookies)?;
        let login = Self {
            request,
            attempt,
            page_url: next,
            ua: ua.clone(),
            secure_cookies,
        };
        let page = LoginPage::read(
            STEP,
            &login.within("page", ua.get(&login.page_url).await?).await?,
        )?;
        Ok(Started::Login(Box::new((login, page))))
    }

    /// [`Self::authorize`], requiring a login attempt.
    pub async fn start(
        rp: &RelyingParty,
        ua: &UserAgent,
        redirect_uri: &str,
        options: &AuthorizeOptions,
    ) -> Result<(Self, LoginPage), RpError> {
        match Self::authorize(rp, ua, redirect_uri, options).await? {
            Started::Login(started) => Ok(*started),
            Started::Redirected(_, to) => Err(RpError::page(
                "authorize",
                format!("sent back to {} without a login page", to.path()),
            )),
        }
    }

    /// The user agent of this attempt.
    pub fn user_agent(&self) -> &UserAgent {
        &self.ua
    }

    /// Types `identifier` into `form#identifier` of `page` and submits it.
    pub async fn submit_identifier(
        &self,
        page: &LoginPage,
        identifier: &str,
    ) -> Result<LoginPage, RpError> {
        self.submit(
            "identifier",
            page,
            "identifier",
            &[("identifier", identifier)],
        )
        .await
    }

    /// Presses the retry button (`form#retry`) of `page`.
    pub async fn retry(&self, page: &LoginPage) -> Result<LoginPage, RpError> {
        self.submit("retry", page, "retry", &[]).await
    }

    /// Reloads the attempt's page (what the JavaScript-off refresh does).
    pub async fn reload(&self) -> Result<LoginPage, RpError> {
        let resp = self.ua.get(&self.page_url).await?;
        LoginPage::read("reload", &self.within("reload", resp).await?)
    }

    /// Posts form `id` of `page` with `values` set; reads the page it leads to.
    async fn submit(
        &self,
        step: &'static str,
        page: &LoginPage,
        id: &str,
        values: &[(&str, &str)],
    ) -> Result<LoginPage, RpError> {
        let mut form = page.html.form(id).ok_or_else(|| {
            RpError::page(step, format!("no form#{id} on the {} page", page.state))
        })?;
        if form.method != "post" {
            return Err(RpError::page(step, format!("form#{id} is not POST")));
        }
        if form.field("csrf").is_none_or(str::is_empty) {
            return Err(RpError::page(step, format!("form#{id} has no csrf field")));
        }
        for (k, v) in values {
            form.set(k, v);
        }
        let action = page
            .url
            .join(&form.action)
            .map_err(|_| RpError::page(step, "form action is not a URL"))?;
        if !action.path().starts_with(self.page_url.path())
            || action.origin() != self.page_url.origin()
        {
            return Err(RpError::page(
                step,
                format!("form#{id} posts outside the attempt: {action}"),
            ));
        }
        let resp = self.ua.post_form(&action, &form.fields).await?;
        LoginPage::read(step, &self.within(step, resp).await?)
    }

    /// Follows redirects while they stay on this attempt's pages (at most [`MAX_HOPS`]).
    async fn within(&self, step: &'static str, mut resp: Response) -> Result<Response, RpError> {
        for _ in 0..MAX_HOPS {
            if !resp.is_redirect() {
                return Ok(resp);
            }
            let next = resp
                .location
                .as_ref()
                .ok_or_else(|| RpError::page(step, "no Location"))?;
            if next.origin() != self.page_url.origin()
                || !next.path().starts_with(self.page_url.path())
            {
                return Err(RpError::page(
                    step,
                    format!("redirected outside the attempt: {next}"),
                ));
            }
            resp = self.ua.follow(&resp).await?;
        }
        Err(RpError::page(step, "too many redirects"))
    }

    /// One status request, long-polling up to `wait` seconds for a change.
    pub async fn status(&self, wait: u32) -> Result<Status, RpError> {
        const STEP: &str = "status";
        let mut url = self.page_url.clone();
        url.set_path(&PATH_LOGIN_STATUS.replace("{attempt}", &self.attempt));
        url.set_query(Some(&format!("wait={wait}")));
        let resp = self.ua.get(&url).await?;
        if resp.status != 200 {
            return Err(RpError::page(STEP, format!("answered {}", resp.status)));
        }
        let json: serde_json::Value =
            serde_json::from_str(&resp.body).map_err(|_| RpError::page(STEP, "not JSON"))?;
        let status =
            Status::deserialize(&json).map_err(|_| RpError::page(STEP, "not the status JSON"))?;
        if json.get("code").is_some() || json.get("identifier").is_some() {
            return Err(RpError::page(
                STEP,
                "the status carries the code or the identifier",
            ));
        }
        Ok(status)
    }

    /// Long-polls the status until it leaves `waiting` (or `deadline_secs` pass).
    pub async fn wait_while_waiting(&self, deadline_secs: u32) -> Result<Status, RpError> {
        let started = std::time::Instant::now();
        loop {
            let left = u64::from(deadline_secs).saturating_sub(started.elapsed().as_secs());
            let status = self
                .status(u32::try_from(left.min(25)).unwrap_or(25))
                .await?;
            if status.state != "waiting" || left == 0 {
                return Ok(status);
            }
        }
    }

    /// Follows the continue link of an `approved` status: one redirect to the
    /// `redirect_uri`, which sets the SSO session cookie. Returns the callback URL.
    pub async fn continue_to_client(&self, status: &Status) -> Result<Url, RpError> {
        const STEP: &str = "continue";
        if status.state != "approved" {
            return Err(RpError::page(
                STEP,
                format!("the attempt is {}, not approved", status.state),
            ));
        }
        let link = status
            .continue_url
            .as_deref()
            .ok_or_else(|| RpError::page(STEP, "no continue URL"))?;
        let url = self
            .page_url
            .join(link)
            .map_err(|_| RpError::page(STEP, "continue is not a URL"))?;
        if url.origin() != self.page_url.origin() || !url.path().starts_with(self.page_url.path()) {
            return Err(RpError::page(
                STEP,
                format!("continue leads outside the attempt: {url}"),
            ));
        }
        let resp = self.ua.get(&url).await?;
        let callback = self.to_client(STEP, &resp)?;
        check_cookie(STEP, &resp, "vl_session", "/", self.secure_cookies)?;
        Ok(callback)
    }

    /// The redirect of `resp` to this request's `redirect_uri`.
    fn to_client(&self, step: &'static str, resp: &Response) -> Result<Url, RpError> {
        let next = resp
            .location
            .clone()
            .filter(|_| resp.status == 303)
            .ok_or_else(|| RpError::page(step, format!("answered {}, not a 303", resp.status)))?;
        if !next.as_str().starts_with(&self.request.redirect_uri) {
            return Err(RpError::page(
                step,
                format!("redirected to {next}, not the client"),
            ));
        }
        Ok(next)
    }
}

/// RP-initiated logout in `ua`'s session: the end-session URL of `rp` with `id_token_hint`,
/// `post_logout_redirect_uri` and `state`; returns the URL the browser was sent back to.
pub async fn logout(
    rp: &RelyingParty,
    ua: &UserAgent,
    id_token: &str,
    post_logout_redirect_uri: &str,
    state: &str,
) -> Result<Url, RpError> {
    const STEP: &str = "logout";
    let url = rp.end_session_url(Some(id_token), Some(post_logout_redirect_uri), Some(state));
    let url = Url::parse(&url).map_err(|_| RpError::Malformed("end-session URL"))?;
    let resp = ua.get(&url).await?;
    let next = resp
        .location
        .clone()
        .filter(|_| resp.is_redirect())
        .ok_or_else(|| {
            RpError::page(STEP, format!("answered {} without a redirect", resp.status))
        })?;
    let mut bare = next.clone();
    bare.set_query(None);
    if bare.as_str() != post_logout_redirect_uri
        && bare.as_str().trim_end_matches('?') != post_logout_redirect_uri
    {
        return Err(RpError::page(
            STEP,
            format!("sent to {next}, not the registered URI"),
        ));
    }
    if !next.query_pairs().any(|(k, v)| k == "state" && v == state) {
        return Err(RpError::page(STEP, "the state did not come back"));
    }
    if ua.cookie("vl_session").is_some() {
        return Err(RpError::page(STEP, "the session cookie is still set"));
    }
    Ok(next)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// Checks that `resp` set cookie `name` with `HttpOnly`, `SameSite=Lax`, `path` and `Secure`
/// as `secure` says.
fn check_cookie(
    step: &'static str,
    resp: &Response,
    name: &str,
    path: &str,
    secure: bool,
) -> Result<(), RpError> {
    let c = resp
        .set_cookie(name)
        .ok_or_else(|| RpError::page(step, format!("no cookie {name}")))?;
    let same_site_lax = c
        .same_site
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("lax"));
    if !c.http_only || !same_site_lax || c.path != path || c.secure != secure {
        return Err(RpError::page(
            step,
            format!(
                "cookie {name}: HttpOnly {}, SameSite {:?}, Path {}, Secure {} (want HttpOnly, Lax, {path}, Secure {secure})",
                c.http_only, c.same_site, c.path, c.secure
            ),
        ));
    }
    Ok(())
}
