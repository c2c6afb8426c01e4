// SPDX-License-Identifier: Apache-2.0
//! Texts of the wallet commands: prompts, the "phone screen" of a login request, results,
//! and one message per wallet error (the same wording wherever the error shows).

use vistalid_core::client::ClientError;
use vistalid_core::protocol::AccountKind;
use vistalid_core::vault::PinRefusal;
use vistalid_core::wallet::WalletError;

use super::{plural, t};

/// The message for a wallet error (no secrets in it).
pub(crate) fn error(e: &WalletError) -> String {
    use ClientError as C;
    use PinRefusal as P;
    use WalletError as W;
    match e {
        W::Pin(P::WrongPin { tries_left: 0 }) => t!(
            "Wrong PIN. No tries left: the wallet is locked. Wipe it (`vistalid wipe`) and enrol again.",
            "Code PIN erroné. Plus aucun essai : le portefeuille est verrouillé. Effacez-le \
             (`vistalid wipe`) et activez à nouveau votre compte."
        ),
        W::Pin(P::WrongPin { tries_left }) => {
            let left = plural(u64::from(*tries_left), ("try", "tries"), ("essai", "essais"));
            t!(
                "Wrong PIN. {left} left before the wallet locks.",
                "Code PIN erroné. Encore {left} avant le verrouillage du portefeuille."
            )
        }
        W::Pin(P::Locked) => t!(
            "The wallet is locked on this device after too many wrong PINs. Wipe it (`vistalid wipe`) and enrol again.",
            "Le portefeuille est verrouillé sur cet appareil après trop de codes PIN erronés. \
             Effacez-le (`vistalid wipe`) et activez à nouveau votre compte."
        ),
        W::BlockedByServer => t!(
            "The server blocked this account after too many wrong PINs: it can no longer be opened on this device. Ask the service for a new activation code, wipe the wallet (`vistalid wipe`) and enrol again.",
            "Le serveur a bloqué ce compte après trop de codes PIN erronés : il ne peut plus être \
             ouvert sur cet appareil. Demandez un nouveau code d'activation au service, effacez le \
             portefeuille (`vistalid wipe`) et activez à nouveau votre compte."
        ),
        W::VaultOutdated => t!(
            "This wallet was made by an older version of Vistalid and cannot be upgraded. Wipe it (`vistalid wipe`) and enrol your accounts again.",
            "Ce portefeuille a été créé par une ancienne version de Vistalid et ne peut pas être \
             mis à jour. Effacez-le (`vistalid wipe`) et activez à nouveau vos comptes."
        ),
        W::Pin(P::Backoff { retry_after_secs: s }) => t!(
            "Too many tries: wait {s} s before trying again.",
            "Trop d'essais : attendez {s} s avant de réessayer."
        ),
        W::Pin(P::WeakPin(why)) => {
            let why = pin_rule(why);
            t!("PIN refused: {why}.", "Code PIN refusé : {why}.")
        }
        W::ChallengeExpired => t!(
            "The request expired. Start the login again on the website.",
            "La demande a expiré. Recommencez la connexion sur le site."
        ),
        W::ChallengeReplayed => t!(
            "This request was already answered.",
            "Cette demande a déjà reçu une réponse."
        ),
        W::WrongCode => t!(
            "Wrong code: the login was refused. Start again and pick the code shown on the login page.",
            "Code erroné : la connexion est refusée. Recommencez et choisissez le code affiché sur \
             la page de connexion."
        ),
        W::InvalidCode => t!(
            "That code is not one of the choices.",
            "Ce code ne fait pas partie des choix."
        ),
        W::Client(C::Network { retryable: true }) => t!(
            "The server cannot be reached (it also checks the PIN). Check the URL and your connection, then retry.",
            "Le serveur est injoignable (c'est aussi lui qui vérifie le code PIN). Vérifiez \
             l'adresse et votre connexion, puis réessayez."
        ),
        W::Client(C::Network { retryable: false }) => t!(
            "The connection to the server failed.",
            "La connexion au serveur a échoué."
        ),
        W::Client(C::Server { status, code }) => t!(
            "The server refused the request ({status}, {code}).",
            "Le serveur a refusé la demande ({status}, {code})."
        ),
        W::Client(C::InsecureUrl) => t!(
            "The server URL must start with https:// (http:// only on this machine's loopback).",
            "L'adresse du serveur doit commencer par https:// (http:// seulement sur la boucle \
             locale de cette machine)."
        ),
        W::NotEnrolled => t!(
            "No account yet: run `vistalid enrol` first.",
            "Aucun compte pour l'instant : lancez d'abord `vistalid enrol`."
        ),
        W::NoCredential => t!(
            "No insured account with a QR credential in this wallet.",
            "Aucun compte d'assuré avec une attestation QR dans ce portefeuille."
        ),
        W::Scan(_) => t!(
            "This is not a Vistalid login QR code (or it was misread): scan the code shown on the login page.",
            "Ce n'est pas un QR code de connexion Vistalid (ou il a été mal lu) : scannez le code \
             affiché sur la page de connexion."
        ),
        W::ScanUnknownServer { scanned, enrolled } => {
            let enrolled = enrolled.join(", ");
            t!(
                "This login QR code comes from {scanned}, but your accounts are with {enrolled}: nothing was sent. If you did not expect this site, close it.",
                "Ce QR code de connexion vient de {scanned}, mais vos comptes sont chez {enrolled} : \
                 rien n'a été envoyé. Si vous n'attendiez pas ce site, fermez-le."
            )
        }
        W::ScanNoChallenge => t!(
            "No sign-in request waits for this QR code: enter your identifier on the page first, then scan again.",
            "Aucune demande de connexion n'attend ce QR code : saisissez d'abord votre \
             identifiant sur la page, puis scannez à nouveau."
        ),
        W::ScanRequired => t!(
            "This request can only be answered by scanning the QR code on the login page (`vistalid scan`).",
            "Cette demande ne peut être validée qu'en scannant le QR code de la page de connexion \
             (`vistalid scan`)."
        ),
        W::ScanRefused(code) => t!(
            "The server refused the scanned code ({code}): scan the QR code of this very page again.",
            "Le serveur a refusé le code scanné ({code}) : scannez à nouveau le QR code de cette \
             page."
        ),
        other => t!("Error: {other}.", "Erreur : {other}."),
    }
}

/// After a scan: the request found.
pub(crate) fn scanned() -> String {
    t!(
        "QR code read: the server's request for this page:",
        "QR code lu : la demande du serveur pour cette page :"
    )
}

/// The PIN policy's reason in the current language (core names it in English).
fn pin_rule(why: &str) -> String {
    let fr = match why {
        "the PIN must contain digits only" => "le code PIN ne doit contenir que des chiffres",
        "the PIN does not have an allowed length" => "le code PIN n'a pas une longueur permise",
        "the PIN repeats one digit" => "le code PIN répète un seul chiffre",
        "the PIN is a run of consecutive digits" => "le code PIN est une suite de chiffres",
        other => other,
    };
    t!("{why}", "{fr}")
}

/// A result that was accepted (the demo's wrong-PIN loop prints it).
pub(crate) fn accepted() -> String {
    t!("accepted", "accepté")
}

/// Standard input or the terminal could not be read.
pub(crate) fn cannot_read_terminal(e: &std::io::Error) -> String {
    t!(
        "Cannot read from the terminal: {e}",
        "Lecture impossible depuis le terminal : {e}"
    )
}

/// The async runtime could not start.
pub(crate) fn no_runtime(e: &std::io::Error) -> String {
    t!(
        "Cannot start the async runtime: {e}",
        "Impossible de démarrer l'environnement d'exécution : {e}"
    )
}

/// Prompt: the first PIN of a new wallet.
pub(crate) fn prompt_new_pin() -> String {
    t!(
        "Choose a 6-digit PIN: ",
        "Choisissez un code PIN à 6 chiffres : "
    )
}

/// Prompt: the PIN of an existing wallet when adding an account.
pub(crate) fn prompt_wallet_pin() -> String {
    t!("Wallet PIN: ", "Code PIN du portefeuille : ")
}

/// Prompt: the PIN.
pub(crate) fn prompt_pin() -> String {
    t!("PIN: ", "Code PIN : ")
}

/// Prompt: the current PIN (PIN change).
pub(crate) fn prompt_current_pin() -> String {
    t!("Current PIN: ", "Code PIN actuel : ")
}

/// Prompt: the new PIN (PIN change).
pub(crate) fn prompt_changed_pin() -> String {
    t!("New PIN: ", "Nouveau code PIN : ")
}

/// Prompt: the code to send for a login request.
pub(crate) fn prompt_code() -> String {
    t!(
        "Code (number of the choice, or the code; empty to deny): ",
        "Code (numéro du choix, ou le code ; vide pour refuser) : "
    )
}

/// Prompt: confirmation of a wipe.
pub(crate) fn prompt_wipe() -> String {
    t!(
        "Erase the wallet and all its accounts? Type 'wipe' to confirm: ",
        "Effacer le portefeuille et tous ses comptes ? Tapez « wipe » pour confirmer : "
    )
}

/// The activation code is not of the form the server issues.
pub(crate) fn bad_activation_code() -> String {
    t!(
        "The activation code is malformed: it has 12 characters, XXXX-XXXX-XXXX (digits and \
         letters, no U). Check it and try again.",
        "Le code d'activation est mal formé : il a 12 caractères, XXXX-XXXX-XXXX (chiffres et \
         lettres, sans U). Vérifiez-le et réessayez."
    )
}

/// An account kind, as a noun.
pub(crate) fn kind(kind: AccountKind) -> String {
    match kind {
        AccountKind::Practitioner => t!("practitioner", "professionnel de santé"),
        AccountKind::Insured => t!("insured", "assuré"),
    }
}

/// Enrolment succeeded.
pub(crate) fn enrolled(
    kind: AccountKind,
    given: &str,
    family: &str,
    id: &str,
    account: &str,
) -> String {
    let kind = self::kind(kind);
    t!(
        "Enrolled {kind} {given} {family} ({id}) as account {account}.",
        "Compte {kind} activé : {given} {family} ({id}), compte {account}."
    )
}

/// The identifier to type on a login page (after enrolment and in `vistalid accounts`).
pub(crate) fn login_id(id: &str) -> String {
    t!(
        "Identifier to type on a service's login page: {id}",
        "Identifiant à saisir sur la page de connexion d'un service : {id}"
    )
}

/// `vistalid accounts` on an empty wallet.
pub(crate) fn no_account() -> String {
    t!("No account enrolled.", "Aucun compte activé.")
}

/// `vistalid approve` waits.
pub(crate) fn waiting(secs: u32) -> String {
    t!(
        "Waiting up to {secs} s for a login request…",
        "Attente d'une demande de connexion ({secs} s au plus)…"
    )
}

/// A fetched request failed verification and was dropped.
pub(crate) fn ignored_request(reason: &str) -> String {
    t!(
        "Ignored a request that failed verification: {reason}",
        "Demande ignorée, sa vérification a échoué : {reason}"
    )
}

/// No login request arrived.
pub(crate) fn no_request() -> String {
    t!("No login request.", "Aucune demande de connexion.")
}

/// The login was approved.
pub(crate) fn approved() -> String {
    t!("Login approved.", "Connexion approuvée.")
}

/// The login was declined.
pub(crate) fn declined() -> String {
    t!("Login declined.", "Connexion refusée.")
}

/// The login was declined and reported.
pub(crate) fn reported() -> String {
    t!(
        "Login declined and reported as not yours.",
        "Connexion refusée et signalée comme n'étant pas de vous."
    )
}

/// The PIN was changed.
pub(crate) fn pin_changed() -> String {
    t!("PIN changed.", "Code PIN modifié.")
}

/// The wipe was not confirmed.
pub(crate) fn nothing_erased() -> String {
    t!("Nothing erased.", "Rien n'a été effacé.")
}

/// The wallet was wiped.
pub(crate) fn wiped() -> String {
    t!("Wallet erased.", "Portefeuille effacé.")
}

/// The "phone screen" of a login request: its fixed labels.
pub(crate) struct CardLabels {
    /// Title.
    pub(crate) title: String,
    /// The relying party.
    pub(crate) service: String,
    /// The binding message.
    pub(crate) reason: String,
    /// The requester's IP address.
    pub(crate) address: String,
    /// The requester's approximate place.
    pub(crate) place: String,
    /// The requester's browser.
    pub(crate) browser: String,
    /// Pick mode: before the candidates.
    pub(crate) pick: String,
    /// Type mode: the instruction.
    pub(crate) type_code: String,
}

/// The labels of the login request card (the value labels padded to one width).
pub(crate) fn card_labels() -> CardLabels {
    CardLabels {
        title: t!("Login request", "Demande de connexion"),
        service: t!("Service: ", "Service : "),
        reason: t!("Reason:  ", "Motif   : "),
        address: t!("Address: ", "Adresse : "),
        place: t!("Place:   ", "Lieu    : "),
        browser: t!("Browser: ", "Navigateur : "),
        pick: t!("Pick the code shown: ", "Choisissez le code affiché : "),
        type_code: t!(
            "Type the 2-digit code shown on the page",
            "Tapez le code à 2 chiffres affiché sur la page"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tests::with_lang;
    use crate::text::Lang;

    #[test]
    fn wrong_pin_has_plural_forms_and_says_when_it_locks() {
        let msg = |n| error(&WalletError::Pin(PinRefusal::WrongPin { tries_left: n }));
        with_lang(Lang::En, || {
            assert_eq!(msg(4), "Wrong PIN. 4 tries left before the wallet locks.");
            assert_eq!(msg(1), "Wrong PIN. 1 try left before the wallet locks.");
            assert!(msg(0).contains("No tries left"), "{}", msg(0));
        });
        with_lang(Lang::Fr, || {
            assert_eq!(
                msg(2),
                "Code PIN erroné. Encore 2 essais avant le verrouillage du portefeuille."
            );
            assert_eq!(
                msg(1),
                "Code PIN erroné. Encore 1 essai avant le verrouillage du portefeuille."
            );
            assert!(msg(0).contains("Plus aucun essai"), "{}", msg(0));
        });
    }

    #[test]
    fn each_limit_says_which_it_is_and_what_to_do() {
        with_lang(Lang::En, || {
            assert!(error(&WalletError::Pin(PinRefusal::Locked)).contains("on this device"));
            let blocked = error(&WalletError::BlockedByServer);
            assert!(
                blocked.contains("The server blocked this account"),
                "{blocked}"
            );
            assert!(blocked.contains("new activation code"), "{blocked}");
            assert!(error(&WalletError::VaultOutdated).contains("older version"));
        });
        with_lang(Lang::Fr, || {
            assert!(error(&WalletError::Pin(PinRefusal::Locked)).contains("sur cet appareil"));
            let blocked = error(&WalletError::BlockedByServer);
            assert!(
                blocked.contains("Le serveur a bloqué ce compte"),
                "{blocked}"
            );
            assert!(blocked.contains("nouveau code d'activation"), "{blocked}");
            assert!(error(&WalletError::VaultOutdated).contains("ancienne version"));
        });
    }

    #[test]
    fn pin_rules_are_translated_with_a_fallback() {
        let weak = |why| error(&WalletError::Pin(PinRefusal::WeakPin(why)));
        with_lang(Lang::Fr, || {
            assert_eq!(
                weak("the PIN repeats one digit"),
                "Code PIN refusé : le code PIN répète un seul chiffre."
            );
            assert_eq!(weak("a new rule"), "Code PIN refusé : a new rule.");
        });
        with_lang(Lang::En, || {
            assert_eq!(
                weak("the PIN repeats one digit"),
                "PIN refused: the PIN repeats one digit."
            );
        });
    }
}
