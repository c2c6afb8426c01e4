// SPDX-License-Identifier: Apache-2.0
//! The offline-code pages of a login attempt (issue 16): the form (`form#offline`, field
//! `#offline-code`), a wrong code with the tries left, the lock (15 minutes), in French and
//! English (this file's own catalogue, beside `messages/`).
//!
//! Guarantees: the same frame, escaping and headers as every page (`html`); the form carries
//! the attempt's CSRF token and posts to this server; the states are
//! `data-state="offline"`, `"offline-wrong"`, `"offline-locked"`.

use axum::http::StatusCode;
use axum::response::Response;
use vistalid_core::protocol::{PATH_LOGIN, PATH_LOGIN_OFFLINE};

use super::html::{esc, Document};
use super::messages::fill;
use super::mire::login_path;
use crate::domain::lang::Lang;

/// The texts of the offline-code pages, in one language.
#[derive(Debug)]
pub(crate) struct OfflineMessages {
    /// The link on the waiting page.
    pub(crate) link: &'static str,
    /// The form's heading.
    pub(crate) title: &'static str,
    /// What to do (`{service}`).
    pub(crate) lead: &'static str,
    /// The field's label.
    pub(crate) label: &'static str,
    /// The field's hint.
    pub(crate) hint: &'static str,
    /// The submit button.
    pub(crate) submit: &'static str,
    /// A wrong code (`{n}` tries left).
    pub(crate) wrong: &'static str,
    /// A typed value that is not 8 digits.
    pub(crate) shape: &'static str,
    /// The lock's heading.
    pub(crate) locked_title: &'static str,
    /// The lock (`{min}` minutes).
    pub(crate) locked_text: &'static str,
    /// Back to the phone approval.
    pub(crate) back_to_phone: &'static str,
    /// What the fallback gives less than the phone's approval.
    pub(crate) weaker: &'static str,
}

/// French.
pub(crate) const FR: OfflineMessages = OfflineMessages {
    link: "Mon téléphone n'a pas de réseau",
    title: "Code hors ligne",
    lead: "Sur votre téléphone, ouvrez Vistalid, choisissez « Code hors ligne » et saisissez votre code PIN. Tapez ici le code à 8 chiffres affiché pour vous connecter à {service}.",
    label: "Code à 8 chiffres",
    hint: "Le code change toutes les 30 secondes.",
    submit: "Valider le code",
    wrong: "Code incorrect. Essais restants avant blocage : {n}.",
    shape: "Le code doit comporter 8 chiffres.",
    locked_title: "Code hors ligne bloqué",
    locked_text: "Trop de codes incorrects : le code hors ligne de ce compte est bloqué pendant {min} minutes. Vous pouvez encore valider la connexion sur votre téléphone quand il aura du réseau.",
    back_to_phone: "Revenir à la validation sur le téléphone",
    weaker: "Ce code ne prouve pas que vous voyez cette page : ne le donnez à personne, et ne le tapez que sur le site où vous avez demandé à vous connecter.",
};

/// English.
pub(crate) const EN: OfflineMessages = OfflineMessages {
    link: "My phone has no network",
    title: "Offline code",
    lead: "On your phone, open Vistalid, choose “Offline code” and enter your PIN. Type the 8-digit code it shows here to log in to {service}.",
    label: "8-digit code",
    hint: "The code changes every 30 seconds.",
    submit: "Check the code",
    wrong: "Wrong code. Tries left before the lock: {n}.",
    shape: "The code has 8 digits.",
    locked_title: "Offline code locked",
    locked_text: "Too many wrong codes: this account's offline code is locked for {min} minutes. You can still approve the login on your phone once it has network.",
    back_to_phone: "Back to the approval on the phone",
    weaker: "This code does not prove that you see this page: give it to nobody, and type it only on the site where you asked to log in.",
};

/// The catalogue of `lang`.
pub(crate) fn of(lang: Lang) -> &'static OfflineMessages {
    match lang {
        Lang::Fr => &FR,
        Lang::En => &EN,
    }
}

/// Which offline-code page to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OfflineState {
    /// The form.
    Form,
    /// The form after a typed value that is not a code.
    Shape,
    /// The form after a wrong code, with the tries left.
    Wrong {
        /// Tries left before the lock.
        left: u32,
    },
    /// Locked for this many seconds.
    Locked {
        /// Seconds left.
        secs: i64,
    },
}

/// The `a#offline` link of the waiting page.
pub(crate) fn link(lang: Lang, attempt_id: &str) -> String {
    format!(
        "<p><a id=\"offline\" class=\"secondary\" href=\"{}\">{}</a></p>\n",
        esc(&login_path(PATH_LOGIN_OFFLINE, attempt_id)),
        esc(of(lang).link)
    )
}

/// The page of `state` for attempt `attempt_id` of `service`.
pub(crate) fn render(
    lang: Lang,
    attempt_id: &str,
    csrf: &str,
    service: &str,
    state: OfflineState,
) -> Response {
    let m = of(lang);
    let back = format!(
        "<p><a id=\"phone\" class=\"secondary\" href=\"{}\">{}</a></p>\n",
        esc(&login_path(PATH_LOGIN, attempt_id)),
        esc(m.back_to_phone)
    );
    let (title, data_state, status, main) = match state {
        OfflineState::Locked { secs } => {
            let min = ((secs + 59) / 60).max(1).to_string();
            let main = format!(
                "<h1>{}</h1>\n<p id=\"offline-locked\" role=\"alert\">{}</p>\n{back}",
                esc(m.locked_title),
                fill(m.locked_text, &[("min", &min)])
            );
            (
                m.locked_title,
                "offline-locked",
                StatusCode::TOO_MANY_REQUESTS,
                main,
            )
        }
        _ => {
            let (data_state, error) = match state {
                OfflineState::Wrong { left } => (
                    "offline-wrong",
                    Some(fill(m.wrong, &[("n", &left.to_string())])),
                ),
                OfflineState::Shape => ("offline-wrong", Some(esc(m.shape))),
                _ => ("offline", None),
            };
            let error = error.map_or(String::new(), |e| {
                format!("<p id=\"offline-error\" class=\"error\" role=\"alert\">{e}</p>\n")
            });
            let main = format!(
                "<h1>{title}</h1>\n<p>{lead}</p>\n{error}\
                 <form id=\"offline\" method=\"post\" action=\"{action}\">\n\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
                 <label for=\"offline-code\">{label}</label>\n\
                 <span class=\"hint\" id=\"offline-hint\">{hint}</span>\n\
                 <input type=\"text\" id=\"offline-code\" name=\"code\" required \
                 inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9 ]{{8,9}}\" \
                 maxlength=\"9\" aria-describedby=\"offline-hint\">\n\
                 <button type=\"submit\">{submit}</button>\n</form>\n<p>{weaker}</p>\n{back}",
                title = esc(m.title),
                lead = fill(m.lead, &[("service", service)]),
                action = esc(&login_path(PATH_LOGIN_OFFLINE, attempt_id)),
                csrf = esc(csrf),
                label = esc(m.label),
                hint = esc(m.hint),
                submit = esc(m.submit),
                weaker = esc(m.weaker),
            );
            let status = if error.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            (m.title, data_state, status, main)
        }
    };
    Document {
        lang,
        title,
        state: data_state,
        main_attrs: String::new(),
        head: String::new(),
        main,
    }
    .respond(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(t: &str) -> Vec<&str> {
        let mut v: Vec<&str> = t
            .split('{')
            .skip(1)
            .filter_map(|p| p.split('}').next())
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn both_catalogues_have_the_same_placeholders() {
        for (f, e) in [
            (FR.lead, EN.lead),
            (FR.wrong, EN.wrong),
            (FR.locked_text, EN.locked_text),
        ] {
            assert_eq!(placeholders(f), placeholders(e));
        }
        assert_eq!(FR.link, "Mon téléphone n'a pas de réseau");
        assert_eq!(EN.link, "My phone has no network");
    }
}
