// SPDX-License-Identifier: Apache-2.0
//! The French catalogue (the default language).

use super::Messages;

/// Every text of the pages, in French.
pub(super) const MESSAGES: Messages = Messages {
    brand: "Vistalid — Connexion",
    skip: "Aller au contenu",
    service_label: "Service en ligne",
    device_label: "Téléphone",
    back: "Retour au service",

    identifier_title: "Connexion à {service}",
    identifier_label: "Identifiant",
    identifier_hint: "Professionnel de santé : votre identifiant national (8 suivi de votre \
                      numéro RPPS, ou le numéro RPPS seul). Assuré : l'identifiant affiché \
                      par l'application Vistalid.",
    identifier_submit: "Continuer",

    waiting_title: "Validez sur votre téléphone",
    waiting_pick: "Ouvrez l'application Vistalid sur « {device} », saisissez votre code PIN \
                   puis choisissez le code affiché ci-dessous.",
    waiting_type: "Ouvrez l'application Vistalid sur « {device} », saisissez votre code PIN \
                   puis tapez le code affiché ci-dessous.",
    code_label: "Code à choisir sur le téléphone",
    code_label_type: "Code à taper sur le téléphone",
    countdown: "Temps restant : {m} min {s} s",
    refreshes: "Cette page se met à jour toute seule toutes les quelques secondes.",

    approved_title: "Connexion validée",
    approved_text: "Vous allez être redirigé vers {service}.",
    approved_continue: "Continuer vers le service",

    declined_title: "Connexion refusée",
    declined_text: "Vous avez refusé cette connexion sur votre téléphone. Aucune information \
                    n'a été transmise au service.",

    not_me_title: "Demande signalée",
    not_me_text: "Vous avez indiqué que cette demande ne venait pas de vous : elle a été \
                  refusée et signalée. Les nouvelles demandes pour votre compte sont \
                  suspendues quelque temps. Si vous ne l'avez pas faite, quelqu'un connaît \
                  votre identifiant : prévenez le support.",

    wrong_code_title: "Code incorrect",
    wrong_code_text: "Le code choisi sur le téléphone ne correspond pas à celui de cette \
                      page : la connexion a été refusée.",
    retries_left: "Essais restants : {n}.",
    retry: "Nouvel essai",

    expired_title: "Demande expirée",
    expired_text: "Le téléphone n'a pas répondu à temps.",

    held_title: "Connexion suspendue",
    held_not_me: "Une demande récente a été signalée comme ne venant pas de vous : les \
                  connexions de ce compte sont suspendues.",
    held_wrong_pick: "Un code incorrect a été choisi récemment : un délai est imposé avant \
                      un nouvel essai.",
    held_too_many: "Trop de demandes de connexion attendent déjà une réponse sur ce compte.",
    held_wait: "Vous pourrez réessayer dans {min} min environ : rechargez alors cette \
                page pour faire un nouvel essai.",
    held_help: "S'il s'agit d'une erreur, le support peut lever la suspension.",

    no_device_title: "Connexion impossible",
    no_device_text: "Aucune demande de connexion ne peut être envoyée pour cet identifiant. \
                     Vérifiez l'identifiant saisi. Si l'application Vistalid n'est pas encore \
                     activée sur votre téléphone, activez-la avec le code d'activation reçu.",
    no_device_again: "Saisir un autre identifiant",

    locked_title: "Trop d'essais",
    locked_text: "Le nombre maximal d'essais pour cette connexion est atteint. Retournez au \
                  service pour recommencer.",

    gone_title: "Page de connexion expirée",
    gone_text: "Cette page de connexion a expiré, est terminée ou a été ouverte dans un autre \
                navigateur. Retournez au service pour recommencer.",
    csrf_text: "Ce formulaire a expiré ou ne vient pas de cette page. Rechargez la page puis \
                recommencez.",
    slow_down_text: "Trop de tentatives de connexion depuis votre réseau. Patientez une minute \
                     puis réessayez.",
    bad_request_title: "Demande de connexion invalide",
    bad_request_text: "Le service qui vous a envoyé ici a fait une demande incorrecte, et \
                       vous ne pouvez pas y être renvoyé sans risque. Contactez ce service.",
    fault_client: "Service inconnu (client_id absent ou non enregistré).",
    fault_redirect: "Adresse de retour absente ou non enregistrée pour ce service \
                     (redirect_uri).",
    fault_malformed: "Un paramètre est répété ou trop long.",

    logged_out_title: "Session fermée",
    logged_out_text: "Vous êtes déconnecté. Vous pouvez fermer cette fenêtre.",
    logout_bad_redirect: "L'adresse de retour demandée après la déconnexion n'est pas \
                          enregistrée pour ce service : vous n'y êtes pas renvoyé.",
    logout_failed_title: "Déconnexion impossible",
    logout_bad_hint: "Le service a envoyé une preuve de connexion que ce serveur n'a pas émise.",
    logout_client_mismatch: "Le service nommé ne correspond pas à la preuve de connexion \
                             envoyée.",
    logout_unknown_client: "Le service qui demande la déconnexion n'est pas connu.",
    logout_not_ended: "Votre session n'a pas été fermée. Retournez sur le service et \
                       réessayez, ou fermez votre navigateur.",

    scan_offer: "Valider en scannant un QR code",
    scan_offer_text: "Avec le QR code, votre téléphone ne peut valider qu’une connexion qu’il \
                      a vue sur cet écran : une demande lancée par quelqu’un d’autre ne peut \
                      pas être validée d’un geste sur une notification.",
    scan_forced: "Ce service vous demande de scanner un QR code avec l’application Vistalid \
                  pour valider la connexion.",
    scan_title: "Scannez ce QR code",
    scan_lead: "Dans l’application Vistalid sur « {device} », choisissez « Scanner », visez \
                ce code, saisissez votre code PIN, puis répondez comme d’habitude.",
    scan_qr_label: "QR code à scanner avec l’application Vistalid",
    scan_protects: "Pourquoi un QR code : votre téléphone doit voir cette page, donc une \
                    connexion lancée ailleurs par quelqu’un d’autre ne peut pas être validée \
                    à l’aveugle depuis une notification.",
    // Branch perf15.
    held_ready: "La suspension est terminée : vous pouvez faire un nouvel essai.",
    login_binding: "Connexion à {service}",
    logout_confirm_title: "Se déconnecter ?",
    logout_confirm_text: "Un service demande la fermeture de votre session Vistalid. \
                          Confirmez pour vous déconnecter de tous les services.",
    logout_confirm_submit: "Se déconnecter",
};
