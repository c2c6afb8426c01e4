// SPDX-License-Identifier: Apache-2.0
//! The login page (the *mire*): one page per state of an attempt (ADR 0002), with the
//! elements the browser tests select on (`form#identifier`, `#code`, `#service`, `#device`,
//! `#countdown`, `form#retry button`, `a#back`).
//!
//! Guarantees:
//! - Every form carries the attempt's `csrf` field and posts to this server only.
//! - The waiting state shows the service, the device name(s), the *code dynamique* in large
//!   digits, and a countdown whose live region is polite and changes at most every 30 s; with
//!   JavaScript off it refreshes every 3 s (`<noscript>` meta refresh).
//! - The page never shows the account's identity: only what the user typed (or the
//!   client's `login_hint`) and the device names once a challenge was sent.

use axum::http::StatusCode;
use axum::response::Response;
use vistalid_core::protocol::{
    CodeMode, PATH_LOGIN, PATH_LOGIN_CONTINUE, PATH_LOGIN_RETRY, PATH_LOGIN_STATUS,
};

use super::html::{esc, Document};
use super::messages::{self, fill, Messages};
use crate::domain::attempt::{HoldReason, LoginState};
use crate::domain::lang::Lang;

/// The path of `template` (a `PATH_LOGIN*` constant) for attempt `id`.
pub(crate) fn login_path(template: &str, id: &str) -> String {
    template.replace("{attempt}", id)
}

/// What a login page shows.
pub(crate) struct View<'a> {
    /// The attempt's language.
    pub(crate) lang: Lang,
    /// The attempt id.
    pub(crate) attempt_id: &'a str,
    /// Its CSRF token.
    pub(crate) csrf: &'a str,
    /// The client's name.
    pub(crate) service: &'a str,
    /// The client's *code dynamique* mode.
    pub(crate) mode: CodeMode,
    /// The current *code dynamique*.
    pub(crate) code: Option<&'a str>,
    /// The names of the account's active devices.
    pub(crate) devices: &'a [String],
    /// What pre-fills the identifier field.
    pub(crate) login_hint: Option<&'a str>,
    /// The state to show.
    pub(crate) state: LoginState,
    /// A message above the form (e.g. the per-network limit), from the catalogue.
    pub(crate) notice: Option<&'a str>,
    /// Scan mode (issue 16): the attempt is in scan mode.
    pub(crate) scan: bool,
    /// Scan mode: the QR code's inline SVG (built by the caller from core's renderer).
    pub(crate) scan_qr: Option<&'a str>,
    /// Whether to offer the offline code ("My phone has no network", issue 16).
    pub(crate) offline: bool,
}

/// The page of `view` (200; an unknown attempt is the caller's error page).
pub(crate) fn render(view: &View<'_>) -> Response {
    let m = messages::of(view.lang);
    let mut head = String::new();
    let mut attrs = String::new();
    let (title, main) = match view.state {
        LoginState::Identifier => (
            m.identifier_title.replace("{service}", view.service),
            identifier_form(view, m),
        ),
        LoginState::Waiting { expires_in } => {
            head.push_str("<noscript><meta http-equiv=\"refresh\" content=\"3\"></noscript>\n");
            attrs = format!(
                " data-status=\"{}\" data-expires-in=\"{expires_in}\"",
                esc(&login_path(PATH_LOGIN_STATUS, view.attempt_id))
            );
            let mut main = waiting(view, m, expires_in);
            if view.offline {
                main.push_str(&super::offline::link(view.lang, view.attempt_id));
            }
            (m.waiting_title.to_owned(), main)
        }
        LoginState::Approved => {
            let next = login_path(PATH_LOGIN_CONTINUE, view.attempt_id);
            head.push_str(&format!(
                "<meta http-equiv=\"refresh\" content=\"0;url={}\">\n",
                esc(&next)
            ));
            let main = format!(
                "<h1>{}</h1>\n<p>{}</p>\n<p><a id=\"continue\" class=\"button\" href=\"{}\">{}</a></p>\n",
                esc(m.approved_title),
                fill(m.approved_text, &[("service", view.service)]),
                esc(&next),
                esc(m.approved_continue)
            );
            (m.approved_title.to_owned(), main)
        }
        LoginState::Declined => refusal(view, m, m.declined_title, m.declined_text, ""),
        LoginState::NotMe => refusal(view, m, m.not_me_title, m.not_me_text, ""),
        LoginState::WrongCode { retries_left } => {
            let extra = retry_form(view, m, retries_left);
            refusal(view, m, m.wrong_code_title, m.wrong_code_text, &extra)
        }
        LoginState::Expired { retries_left } => {
            let mut extra = retry_form(view, m, retries_left);
            if view.offline {
                extra.push_str(&super::offline::link(view.lang, view.attempt_id));
            }
            refusal(view, m, m.expired_title, m.expired_text, &extra)
        }
        LoginState::Held { reason, wait_secs } => {
            let why = match reason {
                HoldReason::NotMe => m.held_not_me,
                HoldReason::WrongPick => m.held_wrong_pick,
                HoldReason::TooManyPending => m.held_too_many,
            };
            // While held a new try cannot work: no retry form, only when it will. Once the
            // hold is over (the page reloaded), the retry form.
            let extra = if wait_secs > 0 {
                let minutes = ((wait_secs + 59) / 60).max(1).to_string();
                format!(
                    "<p id=\"held-until\">{}</p>\n<p>{}</p>\n",
                    fill(m.held_wait, &[("min", &minutes)]),
                    esc(m.held_help)
                )
            } else {
                format!("<p>{}</p>\n{}", esc(m.held_ready), retry_button(view, m))
            };
            refusal(view, m, m.held_title, why, &extra)
        }
        LoginState::NoDevice => {
            let extra = identifier_fields(view, m, m.no_device_again, None);
            refusal(view, m, m.no_device_title, m.no_device_text, &extra)
        }
        LoginState::Locked => refusal(view, m, m.locked_title, m.locked_text, ""),
        LoginState::Gone => refusal(view, m, m.gone_title, m.gone_text, ""),
    };
    Document {
        lang: view.lang,
        title: &title,
        state: view.state.as_str(),
        main_attrs: attrs,
        head,
        main,
    }
    .respond(StatusCode::OK)
}

/// The identifier step's page.
fn identifier_form(view: &View<'_>, m: &Messages) -> String {
    let mut out = format!(
        "<h1>{}</h1>\n",
        fill(m.identifier_title, &[("service", view.service)])
    );
    if let Some(notice) = view.notice {
        out.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>\n",
            esc(notice)
        ));
    }
    if view.scan {
        out.push_str(&format!(
            "<p id=\"scan-forced\">{}</p>\n",
            esc(m.scan_forced)
        ));
    }
    out.push_str(&identifier_fields(
        view,
        m,
        m.identifier_submit,
        view.login_hint,
    ));
    out.push_str(&back_link(view, m));
    out
}

/// Scan mode (issue 16): the identifier form's second button, that asks for scan mode, and
/// what it protects against; nothing when the attempt is in scan mode already.
fn scan_offer(view: &View<'_>, m: &Messages) -> String {
    if view.scan {
        return String::new();
    }
    format!(
        "<p class=\"hint\" id=\"scan-offer-text\">{}</p>\n\
         <button type=\"submit\" name=\"login_mode\" value=\"scan\" id=\"scan-mode\" \
         class=\"secondary\" aria-describedby=\"scan-offer-text\">{}</button>\n",
        esc(m.scan_offer_text),
        esc(m.scan_offer)
    )
}

/// Scan mode: the waiting page's QR code, what to do and what it protects against.
fn scan_block(view: &View<'_>, m: &Messages, device: &str) -> String {
    let Some(svg) = view.scan_qr else {
        return String::new();
    };
    format!(
        "<section id=\"scan\" aria-labelledby=\"scan-title\">\n<h2 id=\"scan-title\">{}</h2>\n\
         <p>{}</p>\n<div class=\"scan-frame\">{svg}</div>\n<p id=\"scan-protects\">{}</p>\n</section>\n",
        esc(m.scan_title),
        fill(m.scan_lead, &[("device", device)]),
        esc(m.scan_protects)
    )
}

/// The identifier form (`form#identifier`).
fn identifier_fields(view: &View<'_>, m: &Messages, submit: &str, value: Option<&str>) -> String {
    let value = value.map_or(String::new(), |v| format!(" value=\"{}\"", esc(v)));
    format!(
        "<form id=\"identifier\" method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"identifier-input\">{label}</label>\n\
         <span class=\"hint\" id=\"identifier-hint\">{hint}</span>\n\
         <input type=\"text\" id=\"identifier-input\" name=\"identifier\" required \
         autocomplete=\"username\" spellcheck=\"false\" autocapitalize=\"characters\" \
         maxlength=\"64\" aria-describedby=\"identifier-hint\"{value}>\n\
         <button type=\"submit\">{submit}</button>\n{scan}</form>\n",
        scan = scan_offer(view, m),
        action = esc(&login_path(PATH_LOGIN, view.attempt_id)),
        csrf = esc(view.csrf),
        label = esc(m.identifier_label),
        hint = esc(m.identifier_hint),
        submit = esc(submit),
    )
}

/// The waiting page's content.
fn waiting(view: &View<'_>, m: &Messages, expires_in: i64) -> String {
    let device = view.devices.join(", ");
    let (lead, code_label) = match view.mode {
        CodeMode::Pick => (m.waiting_pick, m.code_label),
        CodeMode::Type => (m.waiting_type, m.code_label_type),
    };
    let s = expires_in.max(0);
    let said = fill(
        m.countdown,
        &[("m", &(s / 60).to_string()), ("s", &(s % 60).to_string())],
    );
    format!(
        "<h1>{title}</h1>\n<dl>\n<dt>{sl}</dt><dd id=\"service\">{service}</dd>\n\
         <dt>{dl}</dt><dd id=\"device\">{device}</dd>\n</dl>\n<p>{lead}</p>\n\
         <p id=\"code-label\">{code_label}</p>\n\
         <p id=\"code\" class=\"code\">{code}</p>\n\
         <p class=\"timer\" id=\"timer\" aria-hidden=\"true\">{mm}:{ss:02}</p>\n\
         <p id=\"countdown\" aria-live=\"polite\" aria-atomic=\"true\" data-template=\"{template}\">{said}</p>\n\
         <noscript><p>{refreshes}</p></noscript>\n{scan}",
        scan = scan_block(view, m, &device),
        title = esc(m.waiting_title),
        sl = esc(m.service_label),
        service = esc(view.service),
        dl = esc(m.device_label),
        device = esc(&device),
        lead = fill(lead, &[("device", &device)]),
        code_label = esc(code_label),
        code = esc(view.code.unwrap_or_default()),
        mm = s / 60,
        ss = s % 60,
        template = esc(m.countdown),
        refreshes = esc(m.refreshes),
    )
}

/// A refusing state's page: heading, text, `extra` (escaped HTML), the back link.
fn refusal(
    view: &View<'_>,
    m: &Messages,
    heading: &str,
    text: &str,
    extra: &str,
) -> (String, String) {
    let main = format!(
        "<h1>{}</h1>\n<p>{}</p>\n{extra}{}",
        esc(heading),
        esc(text),
        back_link(view, m)
    );
    (heading.to_owned(), main)
}

/// The retries left and the retry form.
fn retry_form(view: &View<'_>, m: &Messages, retries_left: u32) -> String {
    format!(
        "<p>{}</p>\n{}",
        fill(m.retries_left, &[("n", &retries_left.to_string())]),
        retry_button(view, m)
    )
}

/// `form#retry`.
fn retry_button(view: &View<'_>, m: &Messages) -> String {
    format!(
        "<form id=\"retry\" method=\"post\" action=\"{}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\n\
         <button type=\"submit\">{}</button>\n</form>\n",
        esc(&login_path(PATH_LOGIN_RETRY, view.attempt_id)),
        esc(view.csrf),
        esc(m.retry)
    )
}

/// `a#back`: back to the service (with `access_denied` unless approved).
fn back_link(view: &View<'_>, m: &Messages) -> String {
    format!(
        "<p><a id=\"back\" class=\"secondary\" href=\"{}\">{}</a></p>\n",
        esc(&login_path(PATH_LOGIN_CONTINUE, view.attempt_id)),
        esc(m.back)
    )
}
