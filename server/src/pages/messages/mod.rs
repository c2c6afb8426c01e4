// SPDX-License-Identifier: Apache-2.0
//! The message catalogues of the pages a person reads (ADR 0002): one per language, every
//! text of the login page, the authorization endpoint's error page and the logout page.
//!
//! Guarantees: both catalogues fill every field (the type says so); a template's
//! placeholders (`{service}`, `{device}`, `{n}`, `{min}`, `{m}`, `{s}`) are the same in
//! both languages (checked by a test), and [`fill`] escapes what it puts in them.

mod en;
mod fr;

use crate::domain::lang::Lang;

/// Every text of the pages, in one language.
#[derive(Debug)]
pub(crate) struct Messages {
    /// The product name in titles.
    pub(crate) brand: &'static str,
    /// The skip-to-content link.
    pub(crate) skip: &'static str,
    /// Label of the service's name.
    pub(crate) service_label: &'static str,
    /// Label of the device's name.
    pub(crate) device_label: &'static str,
    /// The "back to the service" link.
    pub(crate) back: &'static str,

    /// Identifier step: heading (`{service}`).
    pub(crate) identifier_title: &'static str,
    /// Identifier step: the field's label.
    pub(crate) identifier_label: &'static str,
    /// Identifier step: the field's hint.
    pub(crate) identifier_hint: &'static str,
    /// Identifier step: the submit button.
    pub(crate) identifier_submit: &'static str,

    /// Waiting: heading.
    pub(crate) waiting_title: &'static str,
    /// Waiting, pick mode: what to do (`{device}`).
    pub(crate) waiting_pick: &'static str,
    /// Waiting, type mode: what to do (`{device}`).
    pub(crate) waiting_type: &'static str,
    /// Waiting, pick mode: the code's label.
    pub(crate) code_label: &'static str,
    /// Waiting, type mode: the code's label.
    pub(crate) code_label_type: &'static str,
    /// Waiting: the polite countdown (`{m}` minutes, `{s}` seconds).
    pub(crate) countdown: &'static str,
    /// Waiting: the note shown when JavaScript is off.
    pub(crate) refreshes: &'static str,

    /// Approved: heading.
    pub(crate) approved_title: &'static str,
    /// Approved: text (`{service}`).
    pub(crate) approved_text: &'static str,
    /// Approved: the continue link.
    pub(crate) approved_continue: &'static str,

    /// Declined: heading.
    pub(crate) declined_title: &'static str,
    /// Declined: text.
    pub(crate) declined_text: &'static str,

    /// "Not me": heading.
    pub(crate) not_me_title: &'static str,
    /// "Not me": text (the request was reported).
    pub(crate) not_me_text: &'static str,

    /// Wrong code: heading.
    pub(crate) wrong_code_title: &'static str,
    /// Wrong code: text.
    pub(crate) wrong_code_text: &'static str,
    /// Retries left (`{n}`).
    pub(crate) retries_left: &'static str,
    /// The retry button.
    pub(crate) retry: &'static str,

    /// Expired challenge: heading.
    pub(crate) expired_title: &'static str,
    /// Expired challenge: text.
    pub(crate) expired_text: &'static str,

    /// Held: heading.
    pub(crate) held_title: &'static str,
    /// Held after "not me".
    pub(crate) held_not_me: &'static str,
    /// Held after a wrong pick.
    pub(crate) held_wrong_pick: &'static str,
    /// Held: too many pending requests.
    pub(crate) held_too_many: &'static str,
    /// Held: when to try again (`{min}` minutes).
    pub(crate) held_wait: &'static str,
    /// Held: what to do if it was a mistake.
    pub(crate) held_help: &'static str,

    /// No device (or unknown identifier): heading.
    pub(crate) no_device_title: &'static str,
    /// No device (or unknown identifier): text.
    pub(crate) no_device_text: &'static str,
    /// No device: the button to type another identifier.
    pub(crate) no_device_again: &'static str,

    /// Locked (no retry left): heading.
    pub(crate) locked_title: &'static str,
    /// Locked: text.
    pub(crate) locked_text: &'static str,

    /// Error: heading of a login page that is gone or bound to another browser.
    pub(crate) gone_title: &'static str,
    /// Error: text of a login page that is gone or bound to another browser.
    pub(crate) gone_text: &'static str,
    /// Error: a form without its anti-forgery token (or with a stale one).
    pub(crate) csrf_text: &'static str,
    /// Error: too many login starts from this network.
    pub(crate) slow_down_text: &'static str,
    /// Error: heading of a bad authorization request.
    pub(crate) bad_request_title: &'static str,
    /// Error: text of a bad authorization request that cannot go back to the service.
    pub(crate) bad_request_text: &'static str,
    /// Bad request detail: no or unknown `client_id`.
    pub(crate) fault_client: &'static str,
    /// Bad request detail: no or unregistered `redirect_uri`.
    pub(crate) fault_redirect: &'static str,
    /// Bad request detail: a parameter given twice, or too long.
    pub(crate) fault_malformed: &'static str,

    /// Logout page: heading.
    pub(crate) logged_out_title: &'static str,
    /// Logout page: text.
    pub(crate) logged_out_text: &'static str,
    /// Logout with an unregistered `post_logout_redirect_uri`: text.
    pub(crate) logout_bad_redirect: &'static str,
    /// A refused logout: heading.
    pub(crate) logout_failed_title: &'static str,
    /// Logout with an `id_token_hint` this server did not sign: text.
    pub(crate) logout_bad_hint: &'static str,
    /// Logout whose `client_id` is not the hint's audience: text.
    pub(crate) logout_client_mismatch: &'static str,
    /// Logout with a return address but no known client to check it: text.
    pub(crate) logout_unknown_client: &'static str,
    /// A refused logout: what it means and what to do.
    pub(crate) logout_not_ended: &'static str,

    /// Scan mode (issue 16), identifier step: the button that asks for scan mode.
    pub(crate) scan_offer: &'static str,
    /// Scan mode, identifier step: what scan mode protects against.
    pub(crate) scan_offer_text: &'static str,
    /// Scan mode, identifier step: the service asks for scan mode.
    pub(crate) scan_forced: &'static str,
    /// Scan mode, waiting: heading of the QR code.
    pub(crate) scan_title: &'static str,
    /// Scan mode, waiting: what to do (`{device}`).
    pub(crate) scan_lead: &'static str,
    /// Scan mode, waiting: the QR code's text alternative.
    pub(crate) scan_qr_label: &'static str,
    /// Scan mode, waiting: what it protects against.
    pub(crate) scan_protects: &'static str,
    // Branch perf15: held page, the phone card's binding message, logout confirmation.
    /// Held page, once the hold is over: a new try can be asked now.
    pub(crate) held_ready: &'static str,
    /// The phone card's binding message of a browser login, `{service}` (at most 128
    /// characters once filled; the service name is cut to fit).
    pub(crate) login_binding: &'static str,
    /// Logout without `id_token_hint`: the confirmation page's heading.
    pub(crate) logout_confirm_title: &'static str,
    /// Logout confirmation: text.
    pub(crate) logout_confirm_text: &'static str,
    /// Logout confirmation: the button that ends the session.
    pub(crate) logout_confirm_submit: &'static str,
}

/// The catalogue of `lang`.
pub(crate) fn of(lang: Lang) -> &'static Messages {
    match lang {
        Lang::Fr => &fr::MESSAGES,
        Lang::En => &en::MESSAGES,
    }
}

/// `template` with each `{name}` replaced by its value, HTML-escaped.
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = super::html::esc(template);
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), &super::html::esc(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The placeholders of a template, sorted.
    fn holes(t: &str) -> Vec<String> {
        let mut v: Vec<String> = t
            .split('{')
            .skip(1)
            .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_owned()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn both_catalogues_have_the_same_placeholders_and_no_empty_text() {
        let fr = format!("{:?}", of(Lang::Fr));
        let en = format!("{:?}", of(Lang::En));
        let fields = |dbg: &str| -> Vec<(String, String)> {
            dbg.trim_start_matches("Messages {")
                .trim_end_matches('}')
                .split("\", ")
                .filter_map(|kv| {
                    let (k, v) = kv.split_once(": \"")?;
                    Some((k.trim().to_owned(), v.trim_end_matches('"').to_owned()))
                })
                .collect()
        };
        let (f, e) = (fields(&fr), fields(&en));
        assert!(f.len() > 40, "{} fields read", f.len());
        assert_eq!(f.len(), e.len());
        for ((kf, vf), (ke, ve)) in f.iter().zip(&e) {
            assert_eq!(kf, ke);
            assert!(!vf.is_empty() && !ve.is_empty(), "{kf} is empty");
            assert_eq!(holes(vf), holes(ve), "{kf}: placeholders differ");
            assert_ne!(vf, ve, "{kf}: not translated");
        }
    }

    #[test]
    fn filling_escapes_values() {
        assert_eq!(
            fill("Connexion à {service}", &[("service", "<b>&\"")]),
            "Connexion à &lt;b&gt;&amp;&quot;"
        );
    }
}
