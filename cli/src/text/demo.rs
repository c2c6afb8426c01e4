// SPDX-License-Identifier: Apache-2.0
//! Texts of `vistalid demo`: the steps, what each shows, and the names of its checks. The
//! summary's tags (`ok`, `FAIL`) and its closing `demo: N passed, N failed` line are read by
//! scripts and are not translated.

use super::t;

/// The title of step `n`.
pub(crate) fn step(n: u32) -> String {
    match n {
        1 => t!(
            "Reference identity server on loopback",
            "Serveur d'identité de référence en local"
        ),
        2 => t!(
            "Practitioner enrols a phone (software keystore, PIN)",
            "Le professionnel de santé active un téléphone (magasin de clés logiciel, code PIN)"
        ),
        3 => t!(
            "A health service asks for a login (CIBA, poll mode)",
            "Un service de santé demande une connexion (CIBA, mode interrogation)"
        ),
        4 => t!(
            "The phone gets the challenge",
            "Le téléphone reçoit la demande"
        ),
        5 => t!(
            "The practitioner enters the PIN and picks the code",
            "Le professionnel saisit son code PIN et choisit le code"
        ),
        6 => t!(
            "The health service polls the token endpoint",
            "Le service de santé interroge le point d'accès de jeton"
        ),
        7 => t!(
            "A health service sends the browser to the login page (authorization code, PKCE)",
            "Un service de santé envoie le navigateur sur la page de connexion (code d'autorisation, PKCE)"
        ),
        8 => t!(
            "The practitioner types their identifier; the page shows the code dynamique",
            "Le professionnel saisit son identifiant ; la page affiche le code dynamique"
        ),
        9 => t!(
            "The phone gets the challenge; PIN and the page's code",
            "Le téléphone reçoit la demande ; code PIN et code de la page"
        ),
        10 => t!(
            "The browser comes back to the service, which exchanges the code",
            "Le navigateur revient sur le service, qui échange le code"
        ),
        11 => t!(
            "Userinfo, refresh, single sign-on, logout",
            "Userinfo, renouvellement, session unique, déconnexion"
        ),
        12 => t!(
            "An insured citizen enrols (appli carte Vitale role)",
            "Un assuré active son compte (rôle de l'appli carte Vitale)"
        ),
        13 => t!(
            "The insured shows a QR code (offline mode: verifiable without network)",
            "L'assuré présente un QR code (mode hors ligne : vérifiable sans réseau)"
        ),
        14 => t!(
            "The professional's software verifies it, then redeems it online",
            "Le logiciel du professionnel le vérifie, puis le valide en ligne"
        ),
        15 => t!(
            "The phone has no network: a login with the offline code (PIN, 8 digits)",
            "Le téléphone n'a pas de réseau : connexion avec le code hors ligne (code PIN, 8 chiffres)"
        ),
        _ => t!(
            "Wrong PINs are counted, slowed down, then lock the vault",
            "Les codes PIN erronés sont comptés, ralentis, puis verrouillent le coffre"
        ),
    }
}

/// A check of the demo, by its place in the run.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Check {
    /// Step 2.
    PractitionerEnrolled,
    /// Step 4.
    ChallengeVerified,
    /// Step 4.
    CodeAmongCandidates,
    /// Step 5.
    AnswerAccepted,
    /// Step 6.
    IdTokenVerifies,
    /// Step 6.
    IdTokenNamesPractitioner,
    /// Step 7.
    LoginPageBound,
    /// Step 8.
    PageShowsServiceAndCode,
    /// Step 9.
    BrowserCodeAmongCandidates,
    /// Step 9.
    BrowserAnswerAccepted,
    /// Step 10.
    CodeExchanged,
    /// Step 10.
    BrowserIdTokenNamesPractitioner,
    /// Step 11.
    Userinfo,
    /// Step 11.
    RefreshRotated,
    /// Step 11.
    RefreshReplayRevokes,
    /// Step 11.
    SingleSignOn,
    /// Step 11.
    LoggedOut,
    /// Step 12.
    InsuredEnrolled,
    /// Step 13.
    PngDecodes,
    /// Step 14.
    OfflineVerified,
    /// Step 14.
    Redeemed,
    /// Step 14.
    SingleUse,
    /// Step 15.
    OfflineCodeLogin,
    /// Step 16.
    TriesLeftThenBackoff,
    /// Step 16.
    LockedAfterFive,
    /// Step 11b (scan mode, issue 16).
    ScanQrRead,
    /// Step 11b.
    ScanBlindRefused,
    /// Step 11b.
    ScanApproved,
}

/// The name of a check, as the run and the summary show it.
pub(crate) fn check(c: Check) -> String {
    use Check as C;
    match c {
        C::PractitionerEnrolled => t!(
            "practitioner enrolled, server key pinned",
            "professionnel activé, clé du serveur épinglée"
        ),
        C::ChallengeVerified => t!(
            "challenge signed by the pinned server key, fresh, 3 candidates",
            "demande signée par la clé épinglée du serveur, récente, 3 codes proposés"
        ),
        C::CodeAmongCandidates => t!(
            "the login page's code is among the candidates",
            "le code de la page de connexion fait partie des codes proposés"
        ),
        C::AnswerAccepted => t!(
            "answer signed by the device key and accepted",
            "réponse signée par la clé de l'appareil et acceptée"
        ),
        C::IdTokenVerifies => t!(
            "ID token (ES256) verifies against the JWKS",
            "le jeton d'identité (ES256) se vérifie avec le JWKS"
        ),
        C::IdTokenNamesPractitioner => t!(
            "ID token names the practitioner",
            "le jeton d'identité nomme le professionnel"
        ),
        C::LoginPageBound => t!(
            "the authorization request opens a login page bound to this browser",
            "la demande d'autorisation ouvre une page de connexion liée à ce navigateur"
        ),
        C::PageShowsServiceAndCode => t!(
            "the waiting page names the service and shows the code dynamique",
            "la page d'attente nomme le service et affiche le code dynamique"
        ),
        C::BrowserCodeAmongCandidates => t!(
            "the phone's challenge names the service; the page's code is among its candidates",
            "la demande du téléphone nomme le service ; le code de la page fait partie des codes proposés"
        ),
        C::BrowserAnswerAccepted => t!(
            "the phone's approval is accepted",
            "l'approbation du téléphone est acceptée"
        ),
        C::CodeExchanged => t!(
            "the code is exchanged; the ID token verifies (signature, nonce, at_hash)",
            "le code est échangé ; le jeton d'identité se vérifie (signature, nonce, at_hash)"
        ),
        C::BrowserIdTokenNamesPractitioner => t!(
            "the browser login's ID token names the practitioner",
            "le jeton d'identité de la connexion par navigateur nomme le professionnel"
        ),
        C::Userinfo => t!(
            "userinfo answers the practitioner's claims for the access token",
            "userinfo donne les informations du professionnel pour le jeton d'accès"
        ),
        C::RefreshRotated => t!(
            "a refresh gives new tokens and a new refresh token",
            "un renouvellement donne de nouveaux jetons et un nouveau jeton de renouvellement"
        ),
        C::RefreshReplayRevokes => t!(
            "a replayed refresh token is refused and revokes its whole family",
            "un jeton de renouvellement rejoué est refusé et révoque toute sa famille"
        ),
        C::SingleSignOn => t!(
            "a second visit in the same browser logs in without the phone (same auth_time)",
            "une seconde visite dans le même navigateur se connecte sans le téléphone (même auth_time)"
        ),
        C::LoggedOut => t!(
            "logout ends the session: the next visit shows the login page again",
            "la déconnexion ferme la session : la visite suivante affiche de nouveau la page de connexion"
        ),
        C::InsuredEnrolled => t!(
            "insured enrolled with an issuer-signed credential",
            "assuré activé avec une attestation signée par l'émetteur"
        ),
        C::PngDecodes => t!(
            "the PNG decodes back to the same text",
            "le PNG se décode en le même texte"
        ),
        C::OfflineVerified => t!(
            "offline check: issuer signature, device signature, time",
            "vérification hors ligne : signature de l'émetteur, de l'appareil, heure"
        ),
        C::Redeemed => t!(
            "online redemption answers the insured's identity",
            "la validation en ligne donne l'identité de l'assuré"
        ),
        C::SingleUse => t!(
            "a second redemption is refused (single use)",
            "une seconde validation est refusée (usage unique)"
        ),
        C::TriesLeftThenBackoff => t!(
            "wrong PINs give the tries left, then a back-off",
            "les codes PIN erronés donnent les essais restants, puis un délai d'attente"
        ),
        C::OfflineCodeLogin => t!(
            "an offline code logs in; the ID token says amr otp+pin and the offline acr",
            "un code hors ligne connecte ; le jeton d'identité dit amr otp+pin et l'acr hors ligne"
        ),
        C::LockedAfterFive => t!(
            "after 5 wrong PINs the vault is locked, even for the right PIN",
            "après 5 codes PIN erronés le coffre est verrouillé, même pour le bon code"
        ),
        C::ScanQrRead => t!(
            "scan mode: the page's QR code reads back (PNG, the CLI's decoder) and names this server",
            "mode scan : le QR code de la page se relit (PNG, décodeur de la CLI) et nomme ce serveur"
        ),
        C::ScanBlindRefused => t!(
            "scan mode: the push alone cannot approve (the wallet asks for the scan)",
            "mode scan : la notification seule ne permet pas de valider (le portefeuille demande le scan)"
        ),
        C::ScanApproved => t!(
            "scan mode: the approval carries the MAC; the code is exchanged for the practitioner's ID token",
            "mode scan : la validation porte le MAC ; le code est échangé contre le jeton du professionnel"
        ),
    }
}

/// Step 11b's title (scan mode, issue 16).
pub(crate) fn scan_step() -> String {
    t!(
        "Scan mode: the phone approves only after scanning the login page's QR code",
        "Mode scan : le téléphone ne valide qu'après avoir scanné le QR code de la page"
    )
}

/// Scan mode: what the QR code holds (never its secret).
pub(crate) fn scan_qr(version: u8, modules: usize, bytes: usize, origin: &str) -> String {
    t!(
        "The page shows a QR code (version {version}, {modules}×{modules} modules, {bytes} bytes: the attempt, a 128-bit secret, {origin})",
        "La page affiche un QR code (version {version}, {modules}×{modules} modules, {bytes} octets : la tentative, un secret de 128 bits, {origin})"
    )
}

/// Scan mode: the blind approval's result.
pub(crate) fn scan_blind(result: &str) -> String {
    t!(
        "Approving from the notification alone: {result}",
        "Validation depuis la seule notification : {result}"
    )
}

/// The demo stopped early.
pub(crate) fn aborted(why: &str) -> String {
    t!("demo aborted: {why}", "démo interrompue : {why}")
}

/// The summary's heading.
pub(crate) fn summary(secs: f64) -> String {
    t!("== Summary ({secs:.1} s) ==", "== Bilan ({secs:.1} s) ==")
}

/// Where the server listens.
pub(crate) fn listening(base: &str) -> String {
    t!(
        "listening on {base} (SQLite in a temporary directory)",
        "à l'écoute sur {base} (SQLite dans un dossier temporaire)"
    )
}

/// The demo's accounts.
pub(crate) fn accounts(client_id: &str, rpps: &str, code: &str) -> String {
    t!(
        "relying party {client_id}; practitioner RPPS {rpps}, activation code {code}",
        "service {client_id} ; professionnel RPPS {rpps}, code d'activation {code}"
    )
}

/// The practitioner's account.
pub(crate) fn account(id: &str, given: &str, family: &str) -> String {
    t!(
        "account {id} for {given} {family}",
        "compte {id} de {given} {family}"
    )
}

/// The code the login page shows.
pub(crate) fn dynamic_code(code: &str) -> String {
    t!(
        "the login page shows the code dynamique: {code}",
        "la page de connexion affiche le code dynamique : {code}"
    )
}

/// Non-interactive mode picks the right code.
pub(crate) fn picking(code: &str) -> String {
    t!(
        "(non-interactive: picking {code})",
        "(sans interaction : choix de {code})"
    )
}

/// One wrong-PIN try and what it gave.
pub(crate) fn wrong_pin_try(result: &str) -> String {
    t!(
        "try with a wrong PIN: {result}",
        "essai avec un code PIN erroné : {result}"
    )
}

/// The right PIN after the lockout, and what it gave.
pub(crate) fn right_pin_after(result: &str) -> String {
    t!(
        "right PIN after that: {result}",
        "bon code PIN ensuite : {result}"
    )
}

/// The insured's identity, as redeemed.
pub(crate) fn redeemed(given: &str, family: &str, subject: &str) -> String {
    t!(
        "redeemed: {given} {family} ({subject})",
        "validé : {given} {family} ({subject})"
    )
}

/// Prompt: the demo phone's PIN.
pub(crate) fn prompt_demo_pin() -> String {
    t!(
        "Choose a 6-digit PIN for the demo phone: ",
        "Choisissez un code PIN à 6 chiffres pour le téléphone de démonstration : "
    )
}
