// SPDX-License-Identifier: Apache-2.0
//! The English catalogue.

use super::Messages;

/// Every text of the pages, in English.
pub(super) const MESSAGES: Messages = Messages {
    brand: "Vistalid — Sign in",
    skip: "Skip to content",
    service_label: "Online service",
    device_label: "Phone",
    back: "Back to the service",

    identifier_title: "Sign in to {service}",
    identifier_label: "Identifier",
    identifier_hint: "Health professional: your national id (8 followed by your RPPS number, \
                      or the RPPS number alone). Insured person: the identifier the Vistalid \
                      app shows.",
    identifier_submit: "Continue",

    waiting_title: "Approve on your phone",
    waiting_pick: "Open the Vistalid app on “{device}”, enter your PIN, then pick the code \
                   shown below.",
    waiting_type: "Open the Vistalid app on “{device}”, enter your PIN, then type the code \
                   shown below.",
    code_label: "Code to pick on the phone",
    code_label_type: "Code to type on the phone",
    countdown: "Time left: {m} min {s} s",
    refreshes: "This page updates itself every few seconds.",

    approved_title: "Sign-in approved",
    approved_text: "You are being sent back to {service}.",
    approved_continue: "Continue to the service",

    declined_title: "Sign-in declined",
    declined_text: "You declined this sign-in on your phone. Nothing was sent to the service.",

    not_me_title: "Request reported",
    not_me_text: "You said this request was not yours: it was refused and reported. New \
                  requests for your account are held for a while. If you did not make it, \
                  someone knows your identifier: tell support.",

    wrong_code_title: "Wrong code",
    wrong_code_text: "The code picked on the phone does not match this page's: the sign-in \
                      was refused.",
    retries_left: "Tries left: {n}.",
    retry: "Try again",

    expired_title: "Request expired",
    expired_text: "The phone did not answer in time.",

    held_title: "Sign-in on hold",
    held_not_me: "A recent request was reported as not yours: sign-ins to this account are \
                  on hold.",
    held_wrong_pick: "A wrong code was picked recently: a new try must wait.",
    held_too_many: "Too many sign-in requests are already waiting for an answer on this \
                    account.",
    held_wait: "You can try again in about {min} min: reload this page then to try \
                again.",
    held_help: "If this is a mistake, support can lift the hold.",

    no_device_title: "Cannot sign in",
    no_device_text: "No sign-in request can be sent for this identifier. Check the identifier \
                     you typed. If the Vistalid app is not activated on your phone yet, \
                     activate it with the activation code you received.",
    no_device_again: "Type another identifier",

    locked_title: "Too many tries",
    locked_text: "This sign-in has used all its tries. Go back to the service to start again.",

    gone_title: "Sign-in page expired",
    gone_text: "This sign-in page expired, is finished, or was opened in another browser. Go \
                back to the service to start again.",
    csrf_text: "This form expired or does not come from this page. Reload the page and try \
                again.",
    slow_down_text: "Too many sign-in attempts from your network. Wait a minute and try again.",
    bad_request_title: "Invalid sign-in request",
    bad_request_text: "The service that sent you here made a wrong request, and you cannot be \
                       sent back to it safely. Contact that service.",
    fault_client: "Unknown service (client_id missing or not registered).",
    fault_redirect: "Return address missing or not registered for this service \
                     (redirect_uri).",
    fault_malformed: "A parameter is repeated or too long.",

    logged_out_title: "Session closed",
    logged_out_text: "You are signed out. You can close this window.",
    logout_bad_redirect: "The return address asked after sign-out is not registered for this \
                          service: you are not sent to it.",
    logout_failed_title: "Sign-out failed",
    logout_bad_hint: "The service sent a sign-in proof this server did not issue.",
    logout_client_mismatch: "The service named does not match the sign-in proof sent.",
    logout_unknown_client: "The service asking for the sign-out is not known.",
    logout_not_ended: "Your session was not closed. Go back to the service and try again, or \
                       close your browser.",

    scan_offer: "Approve by scanning a QR code",
    scan_offer_text: "With the QR code, your phone can only approve a sign-in it has seen on \
                      this screen: a request someone else started cannot be approved by a \
                      tap on a notification.",
    scan_forced: "This service asks you to scan a QR code with the Vistalid app to approve \
                  the sign-in.",
    scan_title: "Scan this QR code",
    scan_lead: "In the Vistalid app on “{device}”, choose “Scan”, point the camera at this \
                code, enter your PIN, then answer as usual.",
    scan_qr_label: "QR code to scan with the Vistalid app",
    scan_protects: "Why a QR code: your phone must see this page, so a sign-in someone else \
                    started elsewhere cannot be approved blindly from a notification.",
    // Branch perf15.
    held_ready: "The hold is over: you can try again.",
    login_binding: "Sign in to {service}",
    logout_confirm_title: "Sign out?",
    logout_confirm_text: "A service asks to close your Vistalid session. Confirm to sign out \
                          of every service.",
    logout_confirm_submit: "Sign out",
};
