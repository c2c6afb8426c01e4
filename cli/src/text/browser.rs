// SPDX-License-Identifier: Apache-2.0
//! Texts of the demo's browser login (`vistalid demo`) and of its sample health service
//! (`vistalid demo --serve`): what each step shows, the service's pages, and the
//! instructions for a second terminal.

use super::t;

/// The browser login's client.
pub(crate) fn client(id: &str, callback: &str) -> String {
    t!(
        "health service {id}, redirect URI {callback}",
        "service de santé {id}, URI de redirection {callback}"
    )
}

/// The login page the browser was sent to.
pub(crate) fn login_page(path: &str) -> String {
    t!(
        "the browser is on the login page {path} (its attempt cookie is HttpOnly, SameSite=Lax)",
        "le navigateur est sur la page de connexion {path} (son cookie de tentative est HttpOnly, SameSite=Lax)"
    )
}

/// What the practitioner types.
pub(crate) fn typing(identifier: &str) -> String {
    t!(
        "typing the identifier {identifier} and sending the form (with its CSRF token)",
        "saisie de l'identifiant {identifier} et envoi du formulaire (avec son jeton CSRF)"
    )
}

/// The waiting page.
pub(crate) fn waiting(state: &str, service: &str, code: &str, device: &str) -> String {
    t!(
        "page state {state}: service « {service} », code dynamique {code}, phone « {device} »",
        "état de la page {state} : service « {service} », code dynamique {code}, téléphone « {device} »"
    )
}

/// The browser is back at the service.
pub(crate) fn back_at_service(callback: &str) -> String {
    t!(
        "the browser is sent back to {callback} with a code; the service exchanges it (PKCE verifier, client secret)",
        "le navigateur revient sur {callback} avec un code ; le service l'échange (vérificateur PKCE, secret du client)"
    )
}

/// What userinfo said.
pub(crate) fn userinfo(given: &str, family: &str, id: &str) -> String {
    t!(
        "userinfo: {given} {family} ({id})",
        "userinfo : {given} {family} ({id})"
    )
}

/// A refresh gave new tokens.
pub(crate) fn refreshed(secs: u64) -> String {
    t!(
        "refreshed: a new access token ({secs} s) and a new refresh token",
        "renouvelé : un nouveau jeton d'accès ({secs} s) et un nouveau jeton de renouvellement"
    )
}

/// Logout sent the browser back.
pub(crate) fn logged_out(to: &str) -> String {
    t!(
        "logged out; the browser is sent back to {to}",
        "déconnecté ; le navigateur revient sur {to}"
    )
}

/// `--serve`: the addresses and what to do.
pub(crate) fn serve_intro(service: &str, server: &str) -> String {
    t!(
        "The sample health service runs at {service}\n\
         (identity server {server}, SQLite in a temporary directory).\n\
         Open {service} in your browser and press « Se connecter avec Vistalid ».",
        "Le service de santé d'exemple tourne sur {service}\n\
         (serveur d'identité {server}, SQLite dans un dossier temporaire).\n\
         Ouvrez {service} dans votre navigateur et appuyez sur « Se connecter avec Vistalid »."
    )
}

/// `--serve`: the second terminal's commands.
pub(crate) fn serve_phone(enrol: &str, approve: &str, identifier: &str) -> String {
    t!(
        "In a second terminal, the phone:\n  {enrol}\n  {approve}\n\
         On the login page, type the identifier {identifier}.",
        "Dans un second terminal, le téléphone :\n  {enrol}\n  {approve}\n\
         Sur la page de connexion, saisissez l'identifiant {identifier}."
    )
}

/// `--serve`: how to stop.
pub(crate) fn serve_stop() -> String {
    t!(
        "Press Ctrl-C (or close standard input) to stop.",
        "Appuyez sur Ctrl-C (ou fermez l'entrée standard) pour arrêter."
    )
}

/// `--serve`: stopped.
pub(crate) fn serve_stopped() -> String {
    t!("stopped", "arrêté")
}

/// The sample service's page texts, in the language of the process like every other text of
/// the CLI; the button keeps its brand wording, « Se connecter avec Vistalid », in both.
pub(crate) struct ServicePage {
    /// The page title and heading.
    pub(crate) title: String,
    /// The login button.
    pub(crate) login: String,
    /// Above the claims, after login.
    pub(crate) logged_in_as: String,
    /// The logout button.
    pub(crate) logout: String,
    /// After logout.
    pub(crate) logged_out: String,
    /// A login that did not finish.
    pub(crate) failed: String,
    /// The link back to the start page.
    pub(crate) home: String,
    /// The `lang` attribute.
    pub(crate) lang: &'static str,
}

/// The sample service's texts.
pub(crate) fn service_page() -> ServicePage {
    ServicePage {
        title: t!(
            "Sample health service (patient record)",
            "Service de santé d'exemple (dossier patient)"
        ),
        login: "Se connecter avec Vistalid".to_owned(),
        logged_in_as: t!("You are logged in as", "Vous êtes connecté en tant que"),
        logout: t!("Log out", "Se déconnecter"),
        logged_out: t!("You are logged out.", "Vous êtes déconnecté."),
        failed: t!("The login did not finish:", "La connexion n'a pas abouti :"),
        home: t!("Back to the start page", "Retour à l'accueil"),
        lang: match super::lang() {
            super::Lang::En => "en",
            super::Lang::Fr => "fr",
        },
    }
}
