// SPDX-License-Identifier: Apache-2.0
//! Messages of `vistalid code` (the offline code, issue 16).

use super::t;

/// The code and how long it stays valid.
pub(crate) fn shown(code: &str, secs: u32) -> String {
    let (a, b) = code.split_at(code.len() / 2);
    t!(
        "Offline code: {a} {b}  (valid {secs} s more; type it on the login page under \"My phone has no network\")",
        "Code hors ligne : {a} {b}  (encore valable {secs} s ; tapez-le sur la page de connexion, sous « Mon téléphone n'a pas de réseau »)"
    )
}

/// No account in the wallet has the offline code.
pub(crate) fn none() -> String {
    t!(
        "This account has no offline code: it was enrolled without one (its logins need the network).",
        "Ce compte n'a pas de code hors ligne : il a été enrôlé sans (ses connexions demandent le réseau)."
    )
}

/// What the code does not check.
pub(crate) fn note() -> String {
    t!(
        "No network was used. A wrong PIN gives a wrong code, which the server refuses and counts (5 wrong codes lock it for 15 minutes).",
        "Aucun réseau n'a servi. Un code PIN erroné donne un code faux, que le serveur refuse et compte (5 codes faux le bloquent 15 minutes)."
    )
}
