// SPDX-License-Identifier: Apache-2.0
//! The demo's browser login (issue 15, ADR 0002): a health service sends a browser to the
//! login page (authorization code, PKCE S256, `state`, `nonce`), the practitioner types their
//! identifier, the page shows the service and the *code dynamique*, the phone approves, the
//! browser comes back with a code that the service exchanges; then userinfo, refresh (and a
//! replayed refresh token refused), single sign-on, and logout.
//!
//! The browser is the relying party module's user agent (cookies, forms, one redirect at a
//! time, each checked by `login_flow` against the ADR); the service is the shared relying
//! party. The browser's last hop, the redirect to the service's `redirect_uri`, is read by
//! the service from the redirect itself (what its callback handler would receive): nothing
//! listens on that address in this run (`vistalid demo --serve` runs a real service).

use vistalid_core::protocol::CodeMode;
use vistalid_core::secret::Pin;
use vistalid_core::wallet::{AnswerOutcome, Wallet};
use vistalid_server::relying_party::login_flow::{self, BrowserLogin, Started};
use vistalid_server::relying_party::user_agent::UserAgent;
use vistalid_server::relying_party::{AuthorizeOptions, Login, RelyingParty, RpError};
use vistalid_server::{Admin, ClientOptions};

use super::{step, Checks};
use crate::text::browser as says;
use crate::text::demo::Check;
use crate::text::wallet;
use crate::ui;

/// The service's name, as the login page and the phone show it.
pub(crate) const SERVICE: &str = "Dossier Médical Partagé";
/// Where the service wants the browser back (never fetched in this run: see the module docs).
const CALLBACK: &str = "http://127.0.0.1:9/dmp/callback";
/// Where the service wants the browser after logout.
const LOGGED_OUT: &str = "http://127.0.0.1:9/dmp/logged-out";

/// What the browser steps need from the demo's earlier steps.
pub(crate) struct Practitioner<'a> {
    /// The practitioner's phone (enrolled).
    pub(crate) wallet: &'a Wallet,
    /// Its PIN.
    pub(crate) pin: &'a str,
    /// What the practitioner types on the login page (the national id).
    pub(crate) identifier: &'a str,
}

/// Runs the browser steps (`first` is the number of the first step).
pub(crate) async fn steps(
    base: &str,
    admin: &Admin,
    who: &Practitioner<'_>,
    non_interactive: bool,
    first: u32,
    checks: &mut Checks,
) -> Result<(), String> {
    step(first);
    let options = ClientOptions::new(CodeMode::Pick)
        .redirect_uri(CALLBACK)
        .post_logout_redirect_uri(LOGGED_OUT);
    let (client_id, secret) = admin
        .add_client_with(SERVICE, &options)
        .map_err(|e| format!("add client: {e}"))?;
    println!("  {}", says::client(&client_id, CALLBACK));
    let rp = RelyingParty::new(base, &client_id, &secret);
    let ua = UserAgent::new(4).map_err(|e| e.to_string())?;
    let (login, page) = BrowserLogin::start(&rp, &ua, CALLBACK, &AuthorizeOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    println!("  {}", says::login_page(page.url.path()));
    checks.check(Check::LoginPageBound, page.state == "identifier");

    step(first + 1);
    println!("  {}", says::typing(who.identifier));
    let page = login
        .submit_identifier(&page, who.identifier)
        .await
        .map_err(|e| e.to_string())?;
    let shown = page.code().unwrap_or_default();
    let service = page.text("service").unwrap_or_default();
    println!(
        "  {}",
        says::waiting(
            &page.state,
            &service,
            &shown,
            &page.text("device").unwrap_or_default()
        )
    );
    checks.check(
        Check::PageShowsServiceAndCode,
        page.state == "waiting" && service.contains(SERVICE) && shown.len() >= 2,
    );

    step(first + 2);
    approve_on_phone(who, &shown, non_interactive, checks).await?;

    step(first + 3);
    let status = login
        .wait_while_waiting(30)
        .await
        .map_err(|e| e.to_string())?;
    let callback = login
        .continue_to_client(&status)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "  {}",
        says::back_at_service(&strip_query(callback.as_str()))
    );
    let first_login = exchange(&rp, &login, callback.as_str()).await;
    checks.check(Check::CodeExchanged, first_login.is_ok());
    let first_login = first_login?;
    for k in ["sub", "SubjectNameID", "acr", "amr", "auth_time", "sid"] {
        println!("  {k:>14}: {}", first_login.claims[k]);
    }
    checks.check(
        Check::BrowserIdTokenNamesPractitioner,
        first_login.claims["SubjectNameID"] == who.identifier,
    );

    step(first + 4);
    after_login(&rp, &ua, &first_login, checks).await
}

/// The phone fetches the challenge and approves with the code the page shows (or, in
/// interactive mode, the code and PIN the person enters).
async fn approve_on_phone(
    who: &Practitioner<'_>,
    shown: &str,
    non_interactive: bool,
    checks: &mut Checks,
) -> Result<(), String> {
    let fetched = who
        .wallet
        .fetch_challenges(10)
        .await
        .map_err(|e| ui::explain(&e).0)?;
    let ch = fetched
        .challenges
        .first()
        .ok_or("no challenge arrived")?
        .clone();
    ui::show_challenge(&ch);
    checks.check(
        Check::BrowserCodeAmongCandidates,
        ch.service == SERVICE && ch.candidates.iter().any(|c| c == shown),
    );
    let (code, pin) = if non_interactive {
        println!("  {}", crate::text::demo::picking(shown));
        (shown.to_owned(), who.pin.to_owned())
    } else {
        let code = ui::ask_code(&ch).map_err(|e| e.to_string())?;
        let pin = ui::read_pin(&wallet::prompt_pin()).map_err(|e| e.to_string())?;
        // EXPOSE: the PIN goes straight into the approval.
        (code, pin.expose().to_owned())
    };
    let outcome = who.wallet.approve(&ch.id, Pin::new(pin), &code).await;
    checks.check(
        Check::BrowserAnswerAccepted,
        outcome == Ok(AnswerOutcome::Approved),
    );
    Ok(())
}

/// The service reads the code from the redirect and exchanges it (ID token verified: nonce,
/// `at_hash`, signature, `iss`, `aud`, `exp`).
pub(super) async fn exchange(
    rp: &RelyingParty,
    login: &BrowserLogin,
    callback: &str,
) -> Result<Login, String> {
    let code = rp
        .callback_code(&login.request, callback)
        .map_err(|e| e.to_string())?;
    rp.exchange_code(&login.request, &code)
        .await
        .map_err(|e| e.to_string())
}

/// Userinfo, refresh and its replay, single sign-on, logout.
async fn after_login(
    rp: &RelyingParty,
    ua: &UserAgent,
    login: &Login,
    checks: &mut Checks,
) -> Result<(), String> {
    let info = rp.userinfo_for(login).await;
    if let Ok(info) = &info {
        println!(
            "  {}",
            says::userinfo(
                info["given_name"].as_str().unwrap_or_default(),
                info["family_name"].as_str().unwrap_or_default(),
                info["SubjectNameID"].as_str().unwrap_or_default()
            )
        );
    }
    checks.check(
        Check::Userinfo,
        info.as_ref()
            .is_ok_and(|i| i["SubjectNameID"] == login.claims["SubjectNameID"]),
    );

    let refreshed = rp.refresh(login).await.map_err(|e| e.to_string())?;
    let old = login.tokens.refresh_token.clone().unwrap_or_default();
    let new = refreshed.tokens.refresh_token.clone().unwrap_or_default();
    println!("  {}", says::refreshed(refreshed.tokens.expires_in));
    checks.check(Check::RefreshRotated, !new.is_empty() && new != old);
    let replay = rp.refresh_raw(&old).await;
    let after = rp.refresh_raw(&new).await;
    checks.check(
        Check::RefreshReplayRevokes,
        is_code(&replay, "invalid_grant") && is_code(&after, "invalid_grant"),
    );

    // A second visit in the same browser: the SSO session answers at once.
    let again = BrowserLogin::authorize(rp, ua, CALLBACK, &AuthorizeOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let sso = match again {
        Started::Redirected(request, to) => {
            let code = rp.callback_code(&request, to.as_str());
            match code {
                Ok(code) => rp.exchange_code(&request, &code).await.ok(),
                Err(_) => None,
            }
        }
        Started::Login(_) => None,
    };
    checks.check(
        Check::SingleSignOn,
        sso.as_ref()
            .is_some_and(|s| s.claims["auth_time"] == login.claims["auth_time"]),
    );

    let back = login_flow::logout(rp, ua, &login.tokens.id_token, LOGGED_OUT, "bye").await;
    if let Ok(to) = &back {
        println!("  {}", says::logged_out(&strip_query(to.as_str())));
    }
    let relogin = BrowserLogin::authorize(rp, ua, CALLBACK, &AuthorizeOptions::default()).await;
    checks.check(
        Check::LoggedOut,
        back.is_ok() && matches!(relogin, Ok(Started::Login(_))),
    );
    Ok(())
}

fn is_code<T>(r: &Result<T, RpError>, code: &str) -> bool {
    matches!(r, Err(e) if e.code() == Some(code))
}

/// A URL without its query (codes and states are not for the terminal).
fn strip_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_owned()
}
