// SPDX-License-Identifier: Apache-2.0
//! The insured's flow end to end: enrolment with an issuer credential, a QR presentation in
//! both modes, the professional's offline verification, and single-use online redemption.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;

use vistalid_core::client::{ClientError, ServerClient};
use vistalid_core::clock::{Clock, ManualClock, SystemClock};
use vistalid_core::keys::SigningKey;
use vistalid_core::protocol::CodeMode;
use vistalid_core::qr::{self, Mode, QrError, QrMatrix, Verified, Verifier};
use vistalid_core::secret::Pin;
use vistalid_core::vault::PinRefusal;
use vistalid_core::wallet::WalletError;
use vistalid_e2e::{wallet, Env};

const PIN: &str = "739184";
const INSURED: &str = "ps-4f2a9c";

/// A server with a professional's client, and a wallet enrolled as an insured account.
struct Insured {
    env: Env,
    pro: vistalid_e2e::RelyingParty,
    w: vistalid_core::wallet::Wallet,
    _dir: tempfile::TempDir,
    account: vistalid_core::wallet::AccountInfo,
}

impl Insured {
    async fn enrolled() -> Insured {
        let env = Env::start().await;
        let pro = env.relying_party(CodeMode::Pick);
        let (w, _dir) = wallet();
        let account = w
            .enrol(&env.url(), &env.insured(INSURED), Pin::new(PIN))
            .await
            .unwrap();
        Insured {
            env,
            pro,
            w,
            _dir,
            account,
        }
    }
}

#[tokio::test]
async fn offline_qr_verifies_without_network_then_redeems_once() {
    let Insured {
        env,
        pro,
        w,
        _dir,
        account,
    } = Insured::enrolled().await;
    assert_eq!(account.identity.subject_name_id, INSURED);

    let shown = w
        .present_qr(&account.account_id, Pin::new(PIN), Mode::Offline, None)
        .await
        .unwrap();
    assert!(shown.text.starts_with(qr::PREFIX));
    let matrix = QrMatrix::encode(&shown.text).unwrap();
    assert!(
        matrix.version() <= 13,
        "offline QR is version {}",
        matrix.version()
    );

    let client = ServerClient::new(&env.url()).unwrap();
    let trusted = client.issuer_keys().await.unwrap();
    let verifier = Verifier::new(trusted, Arc::new(SystemClock));
    match verifier.verify(&shown.text).unwrap() {
        Verified::Offline(v) => {
            assert_eq!(v.credential.claims.subject, INSURED);
            assert_eq!(v.credential.claims.family_name, "Bernard");
        }
        other => panic!("expected offline, got {other:?}"),
    }
    let redeemed = client
        .redeem(&shown.text, &pro.id, &pro.secret)
        .await
        .unwrap();
    assert_eq!(redeemed.identity.subject_name_id, INSURED);
    let again = client.redeem(&shown.text, &pro.id, &pro.secret).await;
    assert_eq!(
        again,
        Err(ClientError::Server {
            status: 409,
            code: "already_redeemed".into()
        })
    );
}

#[tokio::test]
async fn online_qr_is_small_and_only_the_server_can_vouch_for_it() {
    let Insured {
        env,
        pro,
        w,
        _dir,
        account,
    } = Insured::enrolled().await;
    let plain = w
        .present_qr(&account.account_id, Pin::new(PIN), Mode::Online, None)
        .await
        .unwrap();
    let matrix = QrMatrix::encode(&plain.text).unwrap();
    assert!(
        matrix.version() <= 7,
        "online QR is version {}",
        matrix.version()
    );
    // An audience costs its length: a short one keeps the code at version 8 or less.
    let shown = w
        .present_qr(
            &account.account_id,
            Pin::new(PIN),
            Mode::Online,
            Some("cabinet-42"),
        )
        .await
        .unwrap();
    assert!(QrMatrix::encode(&shown.text).unwrap().version() <= 8);

    let client = ServerClient::new(&env.url()).unwrap();
    let verifier = Verifier::new(client.issuer_keys().await.unwrap(), Arc::new(SystemClock));
    // Addressed to someone else: refused.
    assert_eq!(
        verifier.verify(&shown.text).unwrap_err(),
        QrError::WrongAudience
    );
    let verifier = verifier.with_audience("cabinet-42");
    assert!(matches!(
        verifier.verify(&shown.text).unwrap(),
        Verified::RedeemOnline(_)
    ));
    // Online redemption is bound to the audience too (issue 13 item 1): the professional's
    // client is registered with it.
    let cabinet = env.relying_party_for(CodeMode::Pick, "cabinet-42");
    let redeemed = client
        .redeem(&shown.text, &cabinet.id, &cabinet.secret)
        .await
        .unwrap();
    assert_eq!(redeemed.identity.given_name, "Léa");
    assert!(matches!(
        client
            .redeem(&shown.text, &cabinet.id, &cabinet.secret)
            .await,
        Err(ClientError::Server { status: 409, .. })
    ));
    // Redemption needs a registered client.
    assert!(matches!(
        client.redeem(&shown.text, &pro.id, "wrong-secret").await,
        Err(ClientError::Server { status: 401, .. })
    ));
}

#[tokio::test]
async fn expired_forged_and_untrusted_presentations_are_refused() {
    let Insured {
        env,
        pro,
        w,
        _dir,
        account,
    } = Insured::enrolled().await;
    let shown = w
        .present_qr(&account.account_id, Pin::new(PIN), Mode::Offline, None)
        .await
        .unwrap();
    let client = ServerClient::new(&env.url()).unwrap();
    let trusted = client.issuer_keys().await.unwrap();

    let later = Arc::new(ManualClock::new(SystemClock.now() + 120 + 31));
    let verifier = Verifier::new(trusted.clone(), later);
    assert_eq!(verifier.verify(&shown.text).unwrap_err(), QrError::Expired);

    let stranger = Verifier::new(
        vec![SigningKey::make().unwrap().public_key()],
        Arc::new(SystemClock),
    );
    assert_eq!(
        stranger.verify(&shown.text).unwrap_err(),
        QrError::UnknownIssuer
    );

    let verifier = Verifier::new(trusted, Arc::new(SystemClock));
    assert_eq!(
        verifier.verify("HC1:NCFOXN").unwrap_err(),
        QrError::BadPrefix
    );
    let mut forged = shown.text.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    assert!(verifier.verify(&forged).is_err());
    assert!(matches!(
        client.redeem(&forged, &pro.id, &pro.secret).await,
        Err(ClientError::Server {
            status: 400 | 401 | 404,
            ..
        })
    ));
    // The genuine one still redeems: the forged attempt did not spend it.
    assert!(client
        .redeem(&shown.text, &pro.id, &pro.secret)
        .await
        .is_ok());
}

#[tokio::test]
async fn a_practitioner_account_has_no_qr_and_a_wrong_pin_shows_nothing() {
    let env = Env::start().await;
    let (w, _dir) = wallet();
    let doc = w
        .enrol(&env.url(), &env.practitioner("10101010101"), Pin::new(PIN))
        .await
        .unwrap();
    assert_eq!(
        w.present_qr(&doc.account_id, Pin::new(PIN), Mode::Online, None)
            .await,
        Err(WalletError::NoCredential)
    );
    let me = w
        .enrol(&env.url(), &env.insured(INSURED), Pin::new(PIN))
        .await
        .unwrap();
    assert_eq!(w.accounts().unwrap().len(), 2);
    assert_eq!(
        w.present_qr(&me.account_id, Pin::new("975310"), Mode::Online, None)
            .await,
        Err(WalletError::Pin(PinRefusal::WrongPin { tries_left: 4 }))
    );
}

/// Issue 13 item 1: a QR addressed to "Cabinet A" is refused to any other client (and does not
/// spend its single use there); a client with a registered audience refuses audience-less QR
/// codes; audience-less clients redeem only audience-less ones.
#[tokio::test]
async fn audience_bound_qr_is_redeemed_only_by_its_audience() {
    let Insured {
        env,
        pro: no_audience,
        w,
        _dir,
        account,
    } = Insured::enrolled().await;
    let a = env.relying_party_for(CodeMode::Pick, "Cabinet A");
    let b = env.relying_party_for(CodeMode::Pick, "Cabinet B");
    let for_a = w
        .present_qr(
            &account.account_id,
            Pin::new(PIN),
            Mode::Online,
            Some("Cabinet A"),
        )
        .await
        .unwrap();
    let client = ServerClient::new(&env.url()).unwrap();
    let wrong_audience = Err(ClientError::Server {
        status: 403,
        code: "wrong_audience".into(),
    });
    for other in [&b, &no_audience] {
        assert_eq!(
            client.redeem(&for_a.text, &other.id, &other.secret).await,
            wrong_audience
        );
    }
    // Still redeemable, once, by its audience.
    let redeemed = client.redeem(&for_a.text, &a.id, &a.secret).await.unwrap();
    assert_eq!(redeemed.identity.subject_name_id, INSURED);
    assert!(matches!(
        client.redeem(&for_a.text, &a.id, &a.secret).await,
        Err(ClientError::Server { status: 409, .. })
    ));
    // A client with an audience refuses a QR that names none.
    let plain = w
        .present_qr(&account.account_id, Pin::new(PIN), Mode::Online, None)
        .await
        .unwrap();
    assert_eq!(
        client.redeem(&plain.text, &a.id, &a.secret).await,
        wrong_audience
    );
    // Offline mode is bound the same way at redemption.
    let offline_for_a = w
        .present_qr(
            &account.account_id,
            Pin::new(PIN),
            Mode::Offline,
            Some("Cabinet A"),
        )
        .await
        .unwrap();
    assert_eq!(
        client
            .redeem(&offline_for_a.text, &no_audience.id, &no_audience.secret)
            .await,
        wrong_audience
    );
    client
        .redeem(&offline_for_a.text, &a.id, &a.secret)
        .await
        .unwrap();
    client
        .redeem(&plain.text, &no_audience.id, &no_audience.secret)
        .await
        .unwrap();
}

/// The wallet keeps the login identifier its enrolment gave (ADR 0002), across a reopen: an
/// identifier of the insured's own, which is not the pseudonymous id every QR carries.
#[tokio::test]
async fn the_wallet_keeps_the_login_identifier_that_no_qr_shows() {
    let Insured {
        w, _dir, account, ..
    } = Insured::enrolled().await;
    let login_id = account
        .login_id
        .clone()
        .expect("the server gives an insured account a login identifier");
    assert!(login_id.starts_with('V'), "{login_id}");
    assert_ne!(login_id, account.identity.subject_name_id);
    assert_ne!(login_id, account.account_id);
    let listed = w.accounts().unwrap();
    assert_eq!(listed[0].login_id.as_deref(), Some(login_id.as_str()));
    let shown = w
        .present_qr(&account.account_id, Pin::new(PIN), Mode::Offline, None)
        .await
        .unwrap();
    assert!(!shown.text.contains(&login_id));
}
