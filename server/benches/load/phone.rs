// SPDX-License-Identifier: Apache-2.0
//! The bench's phone: its long-poll for challenges, and its answers (the challenge verified
//! with the pinned key, the answer signed with the device key; no PIN time, the keys are
//! loaded).

use std::time::Duration;

use vistalid_core::jws;
use vistalid_core::protocol::{
    AnswerClaims, AnswerRequest, ChallengeClaims, ChallengesResponse, Decision, PATH_CHALLENGES,
    TYP_ANSWER, TYP_CHALLENGE,
};

use super::{now, Wallet};

/// The phone's long-poll for challenges (up to 10 s).
pub(super) async fn park(
    http: &reqwest::Client,
    base: &str,
    w: &Wallet,
) -> Result<ChallengesResponse, String> {
    http.get(format!("{base}{PATH_CHALLENGES}?wait=10"))
        .bearer_auth(&w.enrolment.poll_token)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

/// The challenges a parked poll returned, or (when it returned before the challenge was
/// queued) those of a second poll.
pub(super) async fn challenges(
    http: &reqwest::Client,
    base: &str,
    w: &Wallet,
    parked: Result<ChallengesResponse, String>,
) -> Result<ChallengesResponse, String> {
    let list = parked?;
    if list.challenges.is_empty() {
        return park(http, base, w).await;
    }
    Ok(list)
}

/// The phone verifies the listed challenges with the pinned key and approves the newest one
/// that offers `code` (the code the login page shows: the user picks it; no PIN time). Any
/// other one is left from a flow that failed (an error the bench counted): it is declined,
/// as a user would, so that one failed flow does not make the next ones fail (a wrong pick
/// on it would hold the account).
pub(super) async fn approve(
    http: &reqwest::Client,
    base: &str,
    w: &Wallet,
    list: &ChallengesResponse,
    code: &str,
) -> Result<(), String> {
    let read = |list: &ChallengesResponse| {
        list.challenges
            .iter()
            .map(|token| jws::verify_json(token, &w.server_key, Some(TYP_CHALLENGE)))
            .collect::<Result<Vec<ChallengeClaims>, _>>()
            .map_err(|e| e.to_string())
    };
    let offers = |c: &ChallengeClaims| c.candidates.iter().any(|x| x == code);
    let mut listed = read(list)?;
    if !listed.iter().any(offers) {
        // The parked poll returned only a stale challenge, before this flow's was queued.
        listed = read(&park(http, base, w).await?)?;
    }
    let chosen = listed
        .iter()
        .rposition(offers)
        .ok_or("code not among candidates")?;
    let c = listed.remove(chosen);
    for stale in &listed {
        answer(http, base, w, stale, Decision::Deny, None).await?;
    }
    answer(http, base, w, &c, Decision::Approve, Some(code)).await
}

/// The phone's signed answer to challenge `c`.
async fn answer(
    http: &reqwest::Client,
    base: &str,
    w: &Wallet,
    c: &ChallengeClaims,
    decision: Decision,
    code: Option<&str>,
) -> Result<(), String> {
    let answer = jws::sign_json(
        &w.key,
        TYP_ANSWER,
        &AnswerClaims {
            challenge_id: c.id.clone(),
            device_id: w.enrolment.device_id.clone(),
            decision,
            code: code.map(str::to_owned),
            iat: now(),
            scan_mac: None,
        },
    )
    .map_err(|e| e.to_string())?;
    // After a 503 (a database timeout, or a write that kept conflicting: nothing written)
    // the wallet lets the user try again (core's `wallet::answer`); the bench does so at
    // once after the server's Retry-After, at most twice. Those answers show in the phase's
    // HTTP 5xx count.
    let mut tries = 0;
    let r = loop {
        tries += 1;
        let r = http
            .post(format!("{base}/device/challenges/{}/answer", c.id))
            .json(&AnswerRequest {
                answer: answer.clone(),
                hardware_signature: None,
            })
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if r.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE || tries == 3 {
            break r;
        }
        let wait = r
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .unwrap_or(1);
        tokio::time::sleep(Duration::from_secs(wait.min(5))).await;
    };
    if !r.status().is_success() {
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        return Err(format!(
            "answer: {status}: {}",
            body.chars().take(160).collect::<String>()
        ));
    }
    Ok(())
}
