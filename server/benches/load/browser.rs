// SPDX-License-Identifier: Apache-2.0
//! The load bench's browser flow (ADR 0002), walked with the relying party module's user
//! agent and login-page walk, so each step is checked as the demo and the tests check it.

use vistalid_core::protocol::CodeMode;
use vistalid_server::relying_party::login_flow::BrowserLogin;
use vistalid_server::relying_party::user_agent::UserAgent;
use vistalid_server::relying_party::{AuthorizeOptions, RelyingParty};
use vistalid_server::{Admin, ClientOptions};

use super::phone::{approve, challenges, park};
use super::Pair;

#[path = "identifier.rs"]
mod identifier;

/// The client's `redirect_uri` (never fetched: the relying party reads the code from the
/// redirect, as its callback handler would).
const CALLBACK: &str = "http://127.0.0.1:9/bench/callback";

/// The browser flow's client and user agent.
pub(super) struct Browser {
    rp: RelyingParty,
    ua: UserAgent,
}

impl Browser {
    /// Registers the bench's browser client on `admin`'s database; returns its id and
    /// secret.
    pub(super) fn register(admin: &Admin) -> (String, String) {
        let options = ClientOptions::new(CodeMode::Pick).redirect_uri(CALLBACK);
        let (client_id, secret) = admin
            .add_client_with("Bench browser RP", &options)
            .expect("browser client");
        (client_id, secret.to_string())
    }

    /// The browser client `(id, secret)` on the server at `base`, with a user agent keeping
    /// up to `idle` connections.
    pub(super) fn new(
        base: &str,
        client: &(String, String),
        http: &reqwest::Client,
        idle: usize,
    ) -> Self {
        Self {
            rp: RelyingParty::new(base, &client.0, &client.1).with_http(http.clone()),
            ua: UserAgent::new(idle).expect("user agent"),
        }
    }

    /// The identifier step's timing, unknown vs known without a device ([`identifier`]).
    pub(super) async fn identifier_timing(
        &self,
        admin: &Admin,
        tries: usize,
    ) -> Result<(), String> {
        let rpps = "19999999990";
        // A kept database has it from an earlier run (still without a device): fine.
        if let Err(e) = admin.add_practitioner(rpps, "Sans", "Appareil", "10") {
            eprintln!("identifier timing: account {rpps} not added ({e}); using the one there");
        }
        identifier::compare(&self.rp, &self.ua, CALLBACK, &format!("8{rpps}"), tries).await
    }

    /// One whole browser login of `pair` in a new browser (empty cookie jar).
    pub(super) async fn flow(
        &self,
        http: &reqwest::Client,
        base: &str,
        pair: &Pair,
    ) -> Result<(), String> {
        let ua = self.ua.fresh();
        let e = |e: vistalid_server::relying_party::RpError| e.to_string();
        let (login, page) =
            BrowserLogin::start(&self.rp, &ua, CALLBACK, &AuthorizeOptions::default())
                .await
                .map_err(e)?;
        // The phone's poll is parked when the identifier is sent.
        let identifier = format!("8{}", pair.rpps);
        let (parked, waiting) = tokio::join!(
            park(http, base, &pair.wallet),
            login.submit_identifier(&page, &identifier)
        );
        let waiting = waiting.map_err(e)?;
        if waiting.state != "waiting" {
            return Err(format!("identifier: state {}", waiting.state));
        }
        let code = waiting.code().ok_or("no code dynamique on the page")?;
        let list = challenges(http, base, &pair.wallet, parked).await?;
        // The page's status long-poll is parked when the phone answers.
        let (status, answered) = tokio::join!(
            login.wait_while_waiting(10),
            approve(http, base, &pair.wallet, &list, &code)
        );
        answered?;
        let callback = login
            .continue_to_client(&status.map_err(e)?)
            .await
            .map_err(e)?;
        let code = self
            .rp
            .callback_code(&login.request, callback.as_str())
            .map_err(e)?;
        let tokens = self
            .rp
            .exchange_code(&login.request, &code)
            .await
            .map_err(e)?;
        self.rp.userinfo_for(&tokens).await.map_err(e)?;
        Ok(())
    }
}
