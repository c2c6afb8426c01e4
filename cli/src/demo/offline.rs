// SPDX-License-Identifier: Apache-2.0
//! The demo's offline-code login (issue 16): the phone has no network; the practitioner
//! chooses "My phone has no network" on the login page, the wallet shows the code after the
//! PIN, the page takes it, and the service's ID token says `amr` `otp` and `pin`.

use vistalid_core::protocol::CodeMode;
use vistalid_core::secret::Pin;
use vistalid_core::wallet::Wallet;
use vistalid_server::relying_party::login_flow::BrowserLogin;
use vistalid_server::relying_party::user_agent::UserAgent;
use vistalid_server::relying_party::{AuthorizeOptions, RelyingParty};
use vistalid_server::{Admin, ClientOptions};

use super::{step, Checks};
use crate::text::demo::Check;

const CALLBACK: &str = "http://127.0.0.1:9/dmp/offline-callback";

/// Step `n`: one login with the offline code.
pub(crate) async fn step_offline(
    base: &str,
    admin: &Admin,
    wallet: &Wallet,
    pin: &str,
    identifier: &str,
    n: u32,
    checks: &mut Checks,
) -> Result<(), String> {
    step(n);
    let e = |e: vistalid_server::relying_party::RpError| e.to_string();
    let (client_id, secret) = admin
        .add_client_with(
            "Dossier Médical Partagé",
            &ClientOptions::new(CodeMode::Pick).redirect_uri(CALLBACK),
        )
        .map_err(|e| format!("add client: {e}"))?;
    let rp = RelyingParty::new(base, &client_id, &secret);
    let ua = UserAgent::new(4).map_err(e)?;
    let (login, page) = BrowserLogin::start(&rp, &ua, CALLBACK, &AuthorizeOptions::default())
        .await
        .map_err(e)?;
    let page = login
        .submit_identifier(&page, identifier)
        .await
        .map_err(e)?;
    let mut form_url = page.url.clone();
    form_url.set_path(&format!("{}/offline", page.url.path()));
    let form_page = ua.get(&form_url).await.map_err(e)?;
    // The waiting page offers it, and its form answers (not a redirect back).
    let offered = page.state == "waiting" && form_page.status == 200;
    let form = form_page.html().form("offline").ok_or("no form#offline")?;
    let account = wallet
        .accounts()
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or("no account")?;
    let code = wallet
        .offline_code(&account.account_id, Pin::new(pin.to_owned()))
        .await
        .map_err(|e| crate::ui::explain(&e).0)?;
    println!(
        "  {}",
        crate::text::offline::shown(&code.code, code.valid_for_secs)
    );
    let mut fields: Vec<(String, String)> = vec![("code".into(), code.code.clone())];
    if let Some(csrf) = form.field("csrf") {
        fields.push(("csrf".into(), csrf.to_owned()));
    }
    let action = form_page
        .url
        .join(&form.action)
        .map_err(|_| "form action")?;
    let _posted = ua.post_form(&action, &fields).await.map_err(e)?;
    let status = login.wait_while_waiting(5).await.map_err(e)?;
    let callback = login.continue_to_client(&status).await.map_err(e)?;
    let auth_code = rp
        .callback_code(&login.request, callback.as_str())
        .map_err(e)?;
    let signed_in = rp.exchange_code(&login.request, &auth_code).await;
    let ok = signed_in.as_ref().is_ok_and(|l| {
        l.claims["amr"] == serde_json::json!(["otp", "pin"])
            && l.claims["acr"] == vistalid_server::OFFLINE_ACR
    });
    if let Ok(l) = &signed_in {
        for k in ["sub", "acr", "amr"] {
            println!("  {k:>14}: {}", l.claims[k]);
        }
    }
    checks.check(Check::OfflineCodeLogin, offered && ok);
    Ok(())
}
