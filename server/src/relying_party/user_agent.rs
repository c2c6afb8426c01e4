// SPDX-License-Identifier: Apache-2.0
//! A browser without a screen, for tests, demos and benches: a cookie jar, GET and form
//! POST, and redirects handled one at a time by the caller (so each can be checked), over
//! reqwest. Not a browser for the web: it keeps host-only cookies, reads no scripts, and
//! knows only the pages its callers read with [`Html`].
//!
//! Guarantees:
//! - Redirects are never followed by the HTTP client: a 30x comes back as it is, with its
//!   `Location` resolved against the request's URL.
//! - Cookies follow RFC 6265's rules for host-only cookies: kept per host, name and path
//!   (default path: the request path's directory), sent to the same host on a path that
//!   path-matches, replaced by a later `Set-Cookie` of the same name and path, and removed by
//!   `Max-Age` ≤ 0 or an `Expires` in the past. Their attributes are kept for tests to check.
//! - A body larger than [`MAX_BODY`] is refused, never read whole.

use std::sync::{Arc, Mutex};

use reqwest::header::{HeaderMap, ACCEPT_LANGUAGE, COOKIE, LOCATION, SET_COOKIE};
use url::Url;

use super::html::Html;
use super::{transport, RpError};

/// The largest body read (1 MiB).
pub const MAX_BODY: usize = 1024 * 1024;

/// A cookie as the server set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// The host that set it.
    pub host: String,
    /// Its `Path` (or the default path).
    pub path: String,
    /// `HttpOnly`.
    pub http_only: bool,
    /// `Secure`.
    pub secure: bool,
    /// `SameSite` as written (`Lax`, `Strict`, `None`).
    pub same_site: Option<String>,
    /// `Max-Age`, when given.
    pub max_age: Option<i64>,
}

impl Cookie {
    /// Parses one `Set-Cookie` value received from `url`; `now` is the time in seconds since
    /// the epoch. `None` for a header without `name=value`; the second value says whether
    /// the cookie is already expired (a deletion).
    fn parse(header: &str, url: &Url, now: i64) -> Option<(Self, bool)> {
        let mut parts = header.split(';');
        let (name, value) = parts.next()?.split_once('=')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let mut cookie = Self {
            name: name.to_owned(),
            value: value.trim().to_owned(),
            host: url.host_str()?.to_owned(),
            path: default_path(url.path()),
            http_only: false,
            secure: false,
            same_site: None,
            max_age: None,
        };
        let mut expired = false;
        for attr in parts {
            let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
            let v = v.trim();
            match k.trim().to_ascii_lowercase().as_str() {
                "path" if v.starts_with('/') => cookie.path = v.to_owned(),
                "httponly" => cookie.http_only = true,
                "secure" => cookie.secure = true,
                "samesite" => cookie.same_site = Some(v.to_owned()),
                "max-age" => {
                    let age = v.parse::<i64>().ok()?;
                    cookie.max_age = Some(age);
                    expired = age <= 0;
                }
                "expires" if cookie.max_age.is_none() => {
                    expired = http_date(v).is_some_and(|at| at <= now);
                }
                _ => {}
            }
        }
        Some((cookie, expired))
    }

    /// Whether this cookie goes with a request for `url` (host and path match).
    fn matches(&self, url: &Url) -> bool {
        let path = url.path();
        url.host_str() == Some(self.host.as_str())
            && (path == self.path
                || (path.starts_with(&self.path)
                    && (self.path.ends_with('/') || path[self.path.len()..].starts_with('/'))))
    }
}

/// RFC 6265 §5.1.4: the request path up to its last `/` (`/` when none).
fn default_path(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => path[..i].to_owned(),
    }
}

/// Seconds since the epoch of an IMF-fixdate (`Thu, 01 Jan 1970 00:00:00 GMT`).
fn http_date(text: &str) -> Option<i64> {
    let f: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = f.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = i64::try_from(MONTHS.iter().position(|x| x == month)?).ok()? + 1;
    let (d, y): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [h, min, s] = hms.as_slice() else {
        return None;
    };
    // Days from the civil date (H. Hinnant's algorithm).
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3_600 + min * 60 + s)
}

/// One answer, as the user agent got it.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The URL asked for.
    pub url: Url,
    /// `Location`, resolved against [`Self::url`], for a redirect.
    pub location: Option<Url>,
    /// The cookies this answer set (deletions included).
    pub set_cookies: Vec<Cookie>,
    /// The answer's headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Response {
    /// Whether this is a redirect (301, 302, 303, 307, 308) with a `Location`.
    pub fn is_redirect(&self) -> bool {
        matches!(self.status, 301 | 302 | 303 | 307 | 308) && self.location.is_some()
    }

    /// The body as HTML.
    pub fn html(&self) -> Html {
        Html::new(self.body.clone())
    }

    /// A header's value, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The cookie named `name` that this answer set.
    pub fn set_cookie(&self, name: &str) -> Option<&Cookie> {
        self.set_cookies.iter().find(|c| c.name == name)
    }
}

/// The user agent: one cookie jar over a connection pool that clones share.
#[derive(Debug, Clone)]
pub struct UserAgent {
    http: reqwest::Client,
    jar: Arc<Mutex<Vec<Cookie>>>,
    accept_language: Option<String>,
}

impl UserAgent {
    /// A user agent with an empty jar, its own connection pool (keeping up to `idle`
    /// connections per host), and no `Accept-Language`.
    pub fn new(idle: usize) -> Result<Self, RpError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(idle)
            .build()
            .map_err(transport)?;
        Ok(Self {
            http,
            jar: Arc::default(),
            accept_language: None,
        })
    }

    /// Another user agent (a new browser: empty jar) on this one's connection pool.
    pub fn fresh(&self) -> Self {
        Self {
            http: self.http.clone(),
            jar: Arc::default(),
            accept_language: self.accept_language.clone(),
        }
    }

    /// Sends `Accept-Language: value` with every request.
    pub fn with_accept_language(mut self, value: impl Into<String>) -> Self {
        self.accept_language = Some(value.into());
        self
    }

    /// The cookies in the jar.
    pub fn cookies(&self) -> Vec<Cookie> {
        self.jar.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The cookie named `name` in the jar.
    pub fn cookie(&self, name: &str) -> Option<Cookie> {
        self.cookies().into_iter().find(|c| c.name == name)
    }

    /// GET `url`.
    pub async fn get(&self, url: &Url) -> Result<Response, RpError> {
        self.send(self.http.get(url.clone()), url).await
    }

    /// POSTs `fields` as `application/x-www-form-urlencoded` to `url`.
    pub async fn post_form(
        &self,
        url: &Url,
        fields: &[(String, String)],
    ) -> Result<Response, RpError> {
        self.send(self.http.post(url.clone()).form(fields), url)
            .await
    }

    /// GETs the `Location` of the redirect `resp`.
    pub async fn follow(&self, resp: &Response) -> Result<Response, RpError> {
        match &resp.location {
            Some(next) if resp.is_redirect() => self.get(next).await,
            _ => Err(RpError::page(
                "redirect",
                format!("{} answered {} without a redirect", resp.url, resp.status),
            )),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder, url: &Url) -> Result<Response, RpError> {
        let mut request = request;
        let cookies: Vec<String> = self
            .jar
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|c| c.matches(url))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        if !cookies.is_empty() {
            request = request.header(COOKIE, cookies.join("; "));
        }
        if let Some(lang) = &self.accept_language {
            request = request.header(ACCEPT_LANGUAGE, lang);
        }
        let mut resp = request.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let headers = std::mem::take(resp.headers_mut());
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| url.join(l).ok());
        let now = vistalid_core::clock::Clock::now(&vistalid_core::clock::SystemClock);
        let mut set_cookies = Vec::new();
        for value in headers.get_all(SET_COOKIE) {
            let Some((cookie, expired)) =
                value.to_str().ok().and_then(|v| Cookie::parse(v, url, now))
            else {
                continue;
            };
            self.store(&cookie, expired);
            set_cookies.push(cookie);
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(RpError::Malformed(
                    "a body larger than the user agent reads",
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            url: url.clone(),
            location,
            set_cookies,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    fn store(&self, cookie: &Cookie, expired: bool) {
        let mut jar = self.jar.lock().unwrap_or_else(|p| p.into_inner());
        jar.retain(|c| !(c.name == cookie.name && c.path == cookie.path && c.host == cookie.host));
        if !expired {
            jar.push(cookie.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("URL")
    }

    #[test]
    fn set_cookie_attributes_are_kept() {
        let at = url("http://127.0.0.1:8/protocol/openid-connect/auth?x=1");
        let (c, expired) = Cookie::parse(
            "vl_attempt_ab=s3; HttpOnly; SameSite=Lax; Path=/login/; Secure",
            &at,
            0,
        )
        .expect("cookie");
        assert!(!expired);
        assert_eq!((c.name.as_str(), c.value.as_str()), ("vl_attempt_ab", "s3"));
        assert_eq!((c.host.as_str(), c.path.as_str()), ("127.0.0.1", "/login/"));
        assert!(c.http_only && c.secure);
        assert_eq!(c.same_site.as_deref(), Some("Lax"));
        let (c, _) = Cookie::parse("a=b", &at, 0).expect("cookie");
        assert_eq!(c.path, "/protocol/openid-connect");
        assert!(!c.http_only && !c.secure && c.same_site.is_none());
        assert!(Cookie::parse("novalue", &at, 0).is_none());
        assert!(Cookie::parse("=x", &at, 0).is_none());
    }

    #[test]
    fn deletions_are_seen() {
        let at = url("http://h/");
        assert!(Cookie::parse("a=; Max-Age=0", &at, 100).expect("c").1);
        assert!(
            Cookie::parse("a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", &at, 100)
                .expect("c")
                .1
        );
        assert!(
            !Cookie::parse("a=b; Expires=Fri, 01 Jan 2100 00:00:00 GMT", &at, 100)
                .expect("c")
                .1
        );
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            http_date("Tue, 01 Dec 2026 23:29:11 GMT"),
            Some(1_796_167_751)
        );
        assert_eq!(http_date("yesterday"), None);
    }

    #[test]
    fn cookies_go_only_to_their_host_and_path() {
        let (c, _) = Cookie::parse("a=b; Path=/login/", &url("http://h/x"), 0).expect("c");
        assert!(c.matches(&url("http://h/login/abc")));
        assert!(c.matches(&url("http://h/login/")));
        assert!(!c.matches(&url("http://h/login")));
        assert!(!c.matches(&url("http://h/loginx/abc")));
        assert!(!c.matches(&url("http://other/login/abc")));
        let (c, _) = Cookie::parse("a=b; Path=/login", &url("http://h/x"), 0).expect("c");
        assert!(c.matches(&url("http://h/login/abc")));
        assert!(!c.matches(&url("http://h/loginx")));
    }

    #[test]
    fn the_jar_replaces_and_deletes() {
        let ua = UserAgent::new(1).expect("ua");
        let at = url("http://h/");
        let (c, e) = Cookie::parse("s=1; Path=/", &at, 0).expect("c");
        ua.store(&c, e);
        let (c, e) = Cookie::parse("s=2; Path=/", &at, 0).expect("c");
        ua.store(&c, e);
        assert_eq!(ua.cookies().len(), 1);
        assert_eq!(ua.cookie("s").expect("s").value, "2");
        let (c, e) = Cookie::parse("s=; Path=/; Max-Age=0", &at, 0).expect("c");
        ua.store(&c, e);
        assert!(ua.cookie("s").is_none());
        assert!(ua.fresh().cookies().is_empty());
    }
}
