// SPDX-License-Identifier: Apache-2.0
//! The identifier step's timing: an unknown identifier against a known account without an
//! active device (the two answers read the same, so only their time could tell them apart).
//! Each try is one new browser's identifier POST (timed alone: its 303), a known and an
//! unknown one back to back, so that load on the machine hits both of a pair alike. Prints
//! both medians and a sign test on the pairs: under "same time" the known one is the slower
//! of its pair half the time; the bench fails when the count of slower known tries is more
//! than [`MAX_Z`] standard deviations from half (a chance of about 1 in 15,000 under the
//! null). Pairing makes the test blind to the machine's load; a missing decoy (one ES256
//! signature, ~30 µs in a release build) shifts nearly every pair and is caught.

use std::time::{Duration, Instant};

use vistalid_server::relying_party::login_flow::BrowserLogin;
use vistalid_server::relying_party::user_agent::UserAgent;
use vistalid_server::relying_party::{AuthorizeOptions, RelyingParty};

/// Largest accepted distance, in standard deviations, of the sign count from half.
const MAX_Z: f64 = 4.0;

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
        // Alternate which goes first, so that an order effect cancels out.
        let order = if i % 2 == 0 {
            [(known, true), (unknown, false)]
        } else {
            [(unknown, false), (known, true)]
        };
        for (typed, is_known) in order {
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
                if is_known {
                    k.push(took)
                } else {
                    u.push(took)
                }
            }
        }
    }
    let slower = k.iter().zip(&u).filter(|(a, b)| a > b).count() as f64;
    let n = k.len() as f64;
    let z = (slower - n / 2.0) / (n / 4.0).sqrt().max(f64::MIN_POSITIVE);
    let (mk, mu) = (median(&mut k), median(&mut u));
    println!(
        "identifier timing: known (no device) p50 {mk:.3} ms, unknown p50 {mu:.3} ms, \
         difference {:.3} ms; known slower in {slower:.0} of {n:.0} pairs (z = {z:.2}, \
         bound {MAX_Z})",
        mk - mu
    );
    if z.abs() > MAX_Z {
        return Err(format!(
            "an unknown identifier is told apart by time: {mk:.3} vs {mu:.3} ms, z = {z:.2}"
        ));
    }
    Ok(())
}
