// SPDX-License-Identifier: Apache-2.0
//! Key rotation seen from the wallet (issue 19), over loopback HTTP against the real server:
//! the challenge key rotates, the wallet meets a challenge signed by the new key, fetches
//! the rollover statement once, checks it against the pinned key, re-pins (persisted) and
//! answers; a statement not signed by the pinned key is refused with a typed error and
//! changes nothing. Then the QR issuer key rotates and a verifier's self-refreshing cache
//! accepts both keys' credentials with one fetch.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use vistalid_core::challenge::ChallengeError;
use vistalid_core::clock::{Clock, ManualClock, SystemClock};
use vistalid_core::keys::SigningKey;
use vistalid_core::keystore::MemoryKeystore;
use vistalid_core::protocol::CodeMode;
use vistalid_core::qr::{IssuerKey, IssuerKeyCache, IssuerKeySource, Mode, QrError, Verified};
use vistalid_core::rollover::{sign_rollover, RolloverError, RolloverResponse};
use vistalid_core::secret::Pin;
use vistalid_core::transport::{
    BoxFuture, HttpRequest, HttpResponse, ReqwestTransport, Transport, TransportError,
};
use vistalid_core::wallet::{AnswerOutcome, Wallet, WalletError};
use vistalid_e2e::{fast_config, Env};
use vistalid_server::KeyPurpose;

const RPPS: &str = "10101010101";
const PIN: &str = "204862";

/// The real transport, counting the rollover requests; when `forge` is set it plays a
/// man in the middle that swaps the statement for one signed by `attacker`.
struct Watched {
    inner: ReqwestTransport,
    rollovers: AtomicUsize,
    forge: AtomicBool,
    attacker: SigningKey,
    issuer: String,
}

impl Transport for Watched {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let rollover = request.url.contains("/device/key-rollover/");
            if rollover {
                self.rollovers.fetch_add(1, Ordering::SeqCst);
            }
            let resp = self.inner.send(request).await?;
            if rollover && self.forge.load(Ordering::SeqCst) && resp.status == 200 {
                let evil = SigningKey::make().unwrap();
                let statement =
                    sign_rollover(&self.attacker, &evil.public_key(), &self.issuer, 0, 0).unwrap();
                let body = serde_json::to_vec(&RolloverResponse { statement }).unwrap();
                return Ok(HttpResponse { status: 200, body });
            }
            Ok(resp)
        })
    }
}

struct Setup {
    env: Env,
    clock: Arc<ManualClock>,
    transport: Arc<Watched>,
    keystore: Arc<MemoryKeystore>,
    dir: tempfile::TempDir,
}

async fn setup() -> (Setup, Wallet) {
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let c = Arc::clone(&clock);
    let env = Env::start_with(move |config, _| {
        config.clock = c.into();
        // Challenges outlive the pre-publication, so one signed before the switch is still
        // pending after it.
        config.challenge_ttl_secs = 300;
        config.ciba_expires_in = 300;
    })
    .await;
    let transport = Arc::new(Watched {
        inner: ReqwestTransport::new().unwrap(),
        rollovers: AtomicUsize::new(0),
        forge: AtomicBool::new(false),
        attacker: SigningKey::make().unwrap(),
        issuer: env.url(),
    });
    let dir = tempfile::tempdir().unwrap();
    let s = Setup {
        env,
        clock,
        transport,
        keystore: Arc::new(MemoryKeystore::new()),
        dir,
    };
    let w = s.wallet();
    (s, w)
}

impl Setup {
    fn wallet(&self) -> Wallet {
        Wallet::open_with(
            self.dir.path(),
            Arc::clone(&self.keystore) as _,
            fast_config(),
            Arc::clone(&self.transport) as Arc<dyn Transport>,
            Arc::clone(&self.clock) as Arc<dyn Clock>,
        )
        .unwrap()
    }

    fn rollovers(&self) -> usize {
        self.transport.rollovers.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn the_wallet_follows_a_challenge_key_rotation_without_enrolling_again() {
    let (s, w) = setup().await;
    let code = s.env.practitioner(RPPS);
    w.enrol(&s.env.url(), &code, Pin::new(PIN)).await.unwrap();
    let rp = s.env.relying_party(CodeMode::Type);

    // Rotated: during the pre-publication the old key still signs; nothing to roll over.
    let r = s.env.rotate_key(KeyPurpose::Challenge, 120).await;
    let before = rp.ciba(RPPS, "Avant").await;
    let fetched = w.fetch_challenges(0).await.unwrap();
    assert_eq!(fetched.challenges.len(), 1, "{:?}", fetched.rejected);
    assert_eq!(s.rollovers(), 0);
    let old_id = fetched.challenges[0].id.clone();

    // The successor signs: two challenges under the new key, one rollover fetch.
    s.clock.set(r.active_at);
    let a = rp.ciba(RPPS, "Après 1").await;
    let _b = rp.ciba(RPPS, "Après 2").await;
    let fetched = w.fetch_challenges(0).await.unwrap();
    assert!(fetched.rejected.is_empty(), "{:?}", fetched.rejected);
    let ids: Vec<_> = fetched.challenges.iter().map(|c| c.id.clone()).collect();
    assert_eq!(
        fetched.challenges.len(),
        3,
        "the old key's challenge still verifies"
    );
    assert!(ids.contains(&old_id));
    assert_eq!(
        s.rollovers(),
        1,
        "one rollover for two challenges of the new key"
    );
    let ch = fetched
        .challenges
        .iter()
        .find(|c| c.binding_message == "Après 1")
        .unwrap();
    let outcome = w
        .approve(&ch.id, Pin::new(PIN), &a.dynamic_code)
        .await
        .unwrap();
    assert_eq!(outcome, AnswerOutcome::Approved);
    let (status, body) = rp.token(&a.auth_req_id).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let _ = before;

    // The new pin is in the wallet's files: a wallet opened again fetches no rollover.
    drop(w);
    let w = s.wallet();
    let fetched = w.fetch_challenges(0).await.unwrap();
    assert!(fetched.rejected.is_empty(), "{:?}", fetched.rejected);
    assert!(!fetched.challenges.is_empty());
    assert_eq!(s.rollovers(), 1, "the pin was persisted");
    // Nothing newer: the explicit update says so.
    let account = w.accounts().unwrap()[0].account_id.clone();
    assert!(!w.update_server_key(&account).await.unwrap());
}

#[tokio::test]
async fn a_rollover_not_signed_by_the_pinned_key_is_refused_and_changes_nothing() {
    let (s, w) = setup().await;
    let code = s.env.practitioner(RPPS);
    let account = w
        .enrol(&s.env.url(), &code, Pin::new(PIN))
        .await
        .unwrap()
        .account_id;
    let rp = s.env.relying_party(CodeMode::Type);
    let r = s.env.rotate_key(KeyPurpose::Challenge, 120).await;
    s.clock.set(r.active_at);
    let a = rp.ciba(RPPS, "Connexion").await;

    s.transport.forge.store(true, Ordering::SeqCst);
    assert_eq!(
        w.update_server_key(&account).await,
        Err(WalletError::KeyRolloverRefused(
            RolloverError::NotSignedByPinnedKey
        ))
    );
    let fetched = w.fetch_challenges(0).await.unwrap();
    assert!(fetched.challenges.is_empty());
    assert_eq!(fetched.rejected.len(), 1);
    assert_eq!(
        fetched.rejected[0].reason,
        ChallengeError::KeyRolloverRefused
    );

    // The pin is unchanged: once the statement comes through untouched, the wallet moves.
    s.transport.forge.store(false, Ordering::SeqCst);
    let fetched = w.fetch_challenges(0).await.unwrap();
    assert!(fetched.rejected.is_empty(), "{:?}", fetched.rejected);
    let ch = &fetched.challenges[0];
    assert_eq!(
        w.approve(&ch.id, Pin::new(PIN), &a.dynamic_code)
            .await
            .unwrap(),
        AnswerOutcome::Approved
    );
}

/// The real client as the cache's key source, counting its fetches.
struct CountingSource {
    client: vistalid_core::client::ServerClient,
    fetches: AtomicUsize,
}

impl IssuerKeySource for CountingSource {
    fn fetch(
        &self,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Vec<IssuerKey>, QrError>> + Send + '_>,
    > {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.client.fetch()
    }
}

#[tokio::test]
async fn a_rotated_issuer_key_keeps_its_credentials_valid_and_the_cache_fetches_once() {
    let (s, w1) = setup().await;
    let code = s.env.insured("ps-rot-1");
    let first = w1.enrol(&s.env.url(), &code, Pin::new(PIN)).await.unwrap();
    let source = Arc::new(CountingSource {
        client: vistalid_core::client::ServerClient::new(&s.env.url()).unwrap(),
        fetches: AtomicUsize::new(0),
    });
    let cache = IssuerKeyCache::new(
        Arc::clone(&source) as Arc<dyn IssuerKeySource>,
        Arc::clone(&s.clock) as Arc<dyn Clock>,
        Vec::new(),
        None,
    );
    let qr1 = w1
        .present_qr(&first.account_id, Pin::new(PIN), Mode::Offline, None)
        .await
        .unwrap();
    assert!(matches!(
        cache.verify(&qr1.text).await,
        Ok(Verified::Offline(_))
    ));
    assert_eq!(
        source.fetches.load(Ordering::SeqCst),
        1,
        "first use fetches"
    );

    // Rotate: the successor is listed at once (pre-publication), with its window.
    let r = s.env.rotate_key(KeyPurpose::Issuer, 3600).await;
    let listed = source.client.issuer_key_set().await.unwrap();
    assert_eq!(listed.len(), 2);
    let old = listed.iter().find(|k| k.retired_at.is_some()).unwrap();
    let new = listed.iter().find(|k| k.retired_at.is_none()).unwrap();
    assert_eq!(old.retired_at, Some(r.active_at));
    assert_eq!(old.not_after, Some(r.old_expires_at));
    assert_eq!(new.not_before, r.active_at);
    assert!(
        r.old_expires_at >= r.active_at + 365 * 24 * 3600,
        "the old key stays trusted as long as its credentials"
    );

    // After the switch a new insured gets a credential of the new key: the cache, which
    // does not know it, fetches once for many presentations.
    s.clock.set(r.active_at + 1);
    let dir2 = tempfile::tempdir().unwrap();
    let w2 = Wallet::open_with(
        dir2.path(),
        Arc::new(MemoryKeystore::new()),
        fast_config(),
        Arc::clone(&s.transport) as Arc<dyn Transport>,
        Arc::clone(&s.clock) as Arc<dyn Clock>,
    )
    .unwrap();
    let code = s.env.insured("ps-rot-2");
    let second = w2.enrol(&s.env.url(), &code, Pin::new(PIN)).await.unwrap();
    for _ in 0..5 {
        let qr = w2
            .present_qr(&second.account_id, Pin::new(PIN), Mode::Offline, None)
            .await
            .unwrap();
        assert!(matches!(
            cache.verify(&qr.text).await,
            Ok(Verified::Offline(_))
        ));
    }
    assert_eq!(
        source.fetches.load(Ordering::SeqCst),
        2,
        "one refresh for the unknown key, not one per presentation"
    );

    // The retired key's credential still verifies (until it expires), with no fetch.
    let qr1 = w1
        .present_qr(&first.account_id, Pin::new(PIN), Mode::Offline, None)
        .await
        .unwrap();
    assert!(matches!(
        cache.verify(&qr1.text).await,
        Ok(Verified::Offline(_))
    ));
    assert_eq!(source.fetches.load(Ordering::SeqCst), 2);

    // A credential of a key no list holds (another issuer): one fetch, then refused without
    // more fetches within the retry delay.
    let stranger = Env::start().await;
    let (w3, _d3) = vistalid_e2e::wallet();
    let code = stranger.insured("ps-other");
    let third = w3
        .enrol(&stranger.url(), &code, Pin::new(PIN))
        .await
        .unwrap();
    let foreign = w3
        .present_qr(&third.account_id, Pin::new(PIN), Mode::Offline, None)
        .await
        .unwrap();
    // The stranger's wallet runs on the system clock; ours may be ahead by a few seconds.
    for _ in 0..3 {
        assert_eq!(
            cache.verify(&foreign.text).await.err(),
            Some(QrError::UnknownIssuer)
        );
    }
    assert_eq!(source.fetches.load(Ordering::SeqCst), 3);
}
