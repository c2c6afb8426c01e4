// SPDX-License-Identifier: Apache-2.0
//! The identifier step's timing: an unknown identifier against a known account without an
//! active device (the two answers read the same, so only their time could tell them apart).
//! Each try is one new browser's identifier POST (timed alone: its 303), the two kinds
//! interleaved so that load on the machine hits both alike. Prints both medians and fails
//! when they differ by more than [`BOUND_MS`] plus [`BOUND_SHARE`] of the larger one: well
//! above the noise of interleaved medians, well below one ES256 signature plus one database
//! write, the cost a missing decoy would leave out.

use std::time::{Duration, Instant};

use vistalid_server::relying_party::login_flow::BrowserLogin;
use vistalid_server::relying_party::user_agent::UserAgent;
use vistalid_server::relying_party::{AuthorizeOptions, RelyingParty};

/// Absolute part of the bound (ms).
const BOUND_MS: f64 = 0.4;
/// Relative part of the bound (of the larger median).
const BOUND_SHARE: f64 = 0.25;

/// The median of `v` in ms.
fn median(v: &mut [Duration]) -> f64 {
    v.sort();
    v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Times `tries` identifier POSTs of each kind; `known` names an account without a device.
/// Returns an error when the medians are told apart.
pub(super) async fn compare(
    rp: &RelyingParty,
    ua: &UserAgent,
    callback: &str,
    known: &str,
    tries: usize,
) -> Result<(), String> {
    let unknown = "819999999999";
    let (mut k, mut u) = (Vec::new(), Vec::new());
    // A few untimed rounds first (connections, caches, statements).
    for i in 0..tries + 10 {
        for (typed, out) in [(known, &mut k), (unknown, &mut u)] {
            let ua = ua.fresh();
            let (login, page) =
                BrowserLogin::start(rp, &ua, callback, &AuthorizeOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
            let mut form = page.html.form("identifier").ok_or("no identifier form")?;
            form.set("identifier", typed);
            let t = Instant::now();
            let r = ua
                .post_form(&login.page_url, &form.fields)
                .await
                .map_err(|e| e.to_string())?;
            let took = t.elapsed();
            if r.status != 303 {
                return Err(format!("identifier POST answered {}", r.status));
            }
            if i >= 10 {
                out.push(took);
            }
        }
    }
    let (mk, mu) = (median(&mut k), median(&mut u));
    let bound = BOUND_MS + BOUND_SHARE * mk.max(mu);
    println!(
        "identifier timing: known (no device) p50 {mk:.3} ms, unknown p50 {mu:.3} ms, \
         difference {:.3} ms (bound {bound:.3} ms, {tries} tries each)",
        (mk - mu).abs()
    );
    if (mk - mu).abs() > bound {
        return Err(format!(
            "an unknown identifier is told apart by time: {mk:.3} vs {mu:.3} ms"
        ));
    }
    Ok(())
}
