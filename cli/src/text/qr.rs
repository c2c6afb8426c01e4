// SPDX-License-Identifier: Apache-2.0
//! Texts of `vistalid qr` and `vistalid verify`: the QR's figures, why a QR code is refused,
//! the saved issuer keys, and the client secret's sources.

use std::path::Path;

use vistalid_core::qr::{Mode, QrError};

use super::{local_time, t};

/// The line under a shown QR code.
pub(crate) fn figures(mode: Mode, chars: usize, version: u8, expires_at: i64) -> String {
    let until = local_time(expires_at);
    match mode {
        Mode::Offline => t!(
            "offline mode, {chars} characters, QR version {version} (ECC M), valid until {until}",
            "mode hors ligne, {chars} caractères, QR version {version} (ECC M), valable jusqu'au {until}"
        ),
        Mode::Online => t!(
            "online mode, {chars} characters, QR version {version} (ECC M), valid until {until}",
            "mode en ligne, {chars} caractères, QR version {version} (ECC M), valable jusqu'au {until}"
        ),
    }
}

/// The demo's comparison of the two modes' sizes.
pub(crate) fn sizes(
    online: usize,
    online_version: u8,
    offline: usize,
    offline_version: u8,
) -> String {
    t!(
        "online mode: {online} characters, QR version {online_version}; offline: {offline} \
         characters, version {offline_version}",
        "mode en ligne : {online} caractères, QR version {online_version} ; hors ligne : \
         {offline} caractères, version {offline_version}"
    )
}

/// The QR matrix could not be made.
pub(crate) fn cannot_draw(e: &QrError) -> String {
    t!(
        "Cannot draw the QR code: {e}",
        "Impossible de dessiner le QR code : {e}"
    )
}

/// The QR files could not be written.
pub(crate) fn cannot_write(e: &std::io::Error) -> String {
    t!(
        "Cannot write the QR files: {e}",
        "Impossible d'écrire les fichiers du QR code : {e}"
    )
}

/// The QR files were written.
pub(crate) fn written(dir: &Path) -> String {
    let dir = dir.display();
    t!(
        "written: {dir}/qr.png, qr.svg, qr.txt (readable by you only)",
        "écrits : {dir}/qr.png, qr.svg, qr.txt (lisibles par vous seul)"
    )
}

/// Why a PNG gave no QR text.
pub(crate) enum PngProblem<'a> {
    /// The file could not be opened.
    Open(&'a Path, std::io::Error),
    /// Not a PNG, or a damaged one.
    NotPng(String),
    /// The image is too large to decode.
    TooLarge,
    /// No QR code in the picture.
    NoCode,
    /// A QR code was found but could not be read.
    Unreadable(String),
}

/// The message for a PNG that gave no QR text.
pub(crate) fn png_problem(p: &PngProblem<'_>) -> String {
    match p {
        PngProblem::Open(path, e) => {
            let path = path.display();
            t!(
                "Cannot open {path}: {e}",
                "Impossible d'ouvrir {path} : {e}"
            )
        }
        PngProblem::NotPng(e) => t!("Not a readable PNG image: {e}", "Image PNG illisible : {e}"),
        PngProblem::TooLarge => t!(
            "The PNG image is too large.",
            "L'image PNG est trop grande."
        ),
        PngProblem::NoCode => t!(
            "No QR code found in the image.",
            "Aucun QR code trouvé dans l'image."
        ),
        PngProblem::Unreadable(e) => t!(
            "The QR code is unreadable: {e}",
            "Le QR code est illisible : {e}"
        ),
    }
}

/// Why a QR code was refused.
pub(crate) fn refused(e: &QrError) -> String {
    match e {
        QrError::Expired => t!(
            "The QR code has expired: ask the patient to show a new one.",
            "Le QR code a expiré : demandez au patient d'en présenter un nouveau."
        ),
        QrError::NotYetValid => t!(
            "The QR code is dated in the future: check this computer's clock.",
            "Le QR code est daté dans le futur : vérifiez l'horloge de cet ordinateur."
        ),
        QrError::UnknownIssuer => t!(
            "The QR code was issued by an issuer this software does not trust.",
            "Le QR code vient d'un émetteur auquel ce logiciel ne fait pas confiance."
        ),
        QrError::IssuerKeyNotValid => t!(
            "The QR code's credential was signed by an issuer key outside its validity \
             (after its retirement, or after its trust ended): it is refused.",
            "L'attestation du QR code a été signée par une clé de l'émetteur hors de sa \
             période de validité (après son retrait, ou après la fin de sa confiance) : elle \
             est refusée."
        ),
        QrError::KeysUnavailable => t!(
            "The issuer's keys could not be fetched: check the connection, or use --offline \
             with the saved keys.",
            "Les clés de l'émetteur n'ont pas pu être récupérées : vérifiez la connexion, ou \
             utilisez --offline avec les clés enregistrées."
        ),
        QrError::WrongAudience => t!(
            "The QR code is addressed to another recipient.",
            "Le QR code est destiné à un autre destinataire."
        ),
        QrError::BadPrefix => t!(
            "This is not a Vistalid QR code (prefix VL1: expected).",
            "Ce n'est pas un QR code Vistalid (préfixe VL1: attendu)."
        ),
        other => t!(
            "The QR code is invalid: {other}.",
            "Le QR code est invalide : {other}."
        ),
    }
}

/// Neither `--text` nor `--png`.
pub(crate) fn text_or_png() -> String {
    t!("Give either --text or --png.", "Donnez --text ou --png.")
}

/// A fully verified offline presentation.
pub(crate) fn valid_offline(given: &str, family: &str, subject: &str) -> String {
    t!(
        "Valid offline presentation: {given} {family} ({subject}).",
        "Présentation hors ligne valide : {given} {family} ({subject})."
    )
}

/// A well-formed online presentation (to redeem).
pub(crate) fn redeem_online() -> String {
    t!(
        "Well-formed online presentation: it must be redeemed at the server.",
        "Présentation en ligne bien formée : elle doit être validée auprès du serveur."
    )
}

/// `--offline` with an online-mode QR code.
pub(crate) fn online_needs_server() -> String {
    t!(
        "This is an online-mode QR code: it carries no identity, only the server can check it. \
         Verify it without --offline when the server can be reached.",
        "Ce QR code est en mode en ligne : il ne porte pas l'identité, seul le serveur peut le \
         vérifier. Vérifiez-le sans --offline quand le serveur est joignable."
    )
}

/// The server answered the insured's identity at redemption.
pub(crate) fn redeemed(given: &str, family: &str, subject: &str) -> String {
    t!(
        "Redeemed: {given} {family} ({subject}).",
        "Validé : {given} {family} ({subject})."
    )
}

/// The presentation was redeemed before.
pub(crate) fn already_redeemed() -> String {
    t!(
        "Already redeemed: this QR code was used before.",
        "Déjà validé : ce QR code a déjà servi."
    )
}

/// No issuer keys saved (for that server, or at all).
pub(crate) fn no_saved_keys(server: Option<&str>) -> String {
    match server {
        Some(s) => t!(
            "No issuer keys saved for {s}: run `vistalid verify --server {s} …` once while it can \
             be reached.",
            "Aucune clé d'émetteur enregistrée pour {s} : lancez une fois `vistalid verify \
             --server {s} …` quand il est joignable."
        ),
        None => t!(
            "No issuer keys saved: run `vistalid verify --server URL …` once while the server can \
             be reached.",
            "Aucune clé d'émetteur enregistrée : lancez une fois `vistalid verify --server URL …` \
             quand le serveur est joignable."
        ),
    }
}

/// The saved issuer keys cannot be used.
pub(crate) fn unusable_saved_keys(path: &Path, why: &str) -> String {
    let path = path.display();
    t!(
        "The saved issuer keys ({path}) cannot be used: {why}. Fetch them again with \
         `vistalid verify --server URL …`.",
        "Les clés d'émetteur enregistrées ({path}) sont inutilisables : {why}. Récupérez-les à \
         nouveau avec `vistalid verify --server URL …`."
    )
}

/// The issuer keys were fetched but could not be saved (the check goes on).
pub(crate) fn cannot_save_keys(path: &Path, e: &std::io::Error) -> String {
    let path = path.display();
    t!(
        "Warning: the issuer keys could not be saved to {path} ({e}); --offline will not have them.",
        "Attention : les clés d'émetteur n'ont pas pu être enregistrées dans {path} ({e}) ; \
         --offline ne les aura pas."
    )
}

/// `--client-secret` was given on the command line.
pub(crate) fn secret_flag_warning() -> String {
    t!(
        "Warning: --client-secret is visible to other users of this machine (ps, /proc); use \
         --client-secret-file or VISTALID_CLIENT_SECRET instead.",
        "Attention : --client-secret est visible des autres utilisateurs de cette machine (ps, \
         /proc) ; utilisez plutôt --client-secret-file ou VISTALID_CLIENT_SECRET."
    )
}

/// `--client-id` without any secret, or a secret without `--client-id`.
pub(crate) fn secret_needs_id() -> String {
    t!(
        "Redeeming needs both --client-id and a client secret (--client-secret-file PATH, or \
         VISTALID_CLIENT_SECRET).",
        "La validation demande --client-id et un secret client (--client-secret-file CHEMIN, \
         ou VISTALID_CLIENT_SECRET)."
    )
}

/// The secret file could not be read.
pub(crate) fn cannot_read_secret(path: &Path, e: &std::io::Error) -> String {
    let path = path.display();
    t!(
        "Cannot read the client secret from {path}: {e}",
        "Impossible de lire le secret client dans {path} : {e}"
    )
}

/// The secret (file or variable) is empty.
pub(crate) fn empty_secret() -> String {
    t!("The client secret is empty.", "Le secret client est vide.")
}
