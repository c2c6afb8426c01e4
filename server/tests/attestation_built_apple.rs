// SPDX-License-Identifier: Apache-2.0
//! App Attest objects and assertions the test builds itself (rcgen chains under a test root,
//! the test's own P-256 key), for what the real samples cannot show: the counter, aaguid,
//! credential id and COSE key checks each on their own, authData bytes its flags do not
//! announce, an end-entity issuer, and assertions with rising counters.

mod attestation_support;

use attestation_support::build::*;
use vistalid_server::attestation::{
    verify_app_attest, verify_app_attest_assertion, AppAttestEnvironment, ApplePolicy,
    AttestationError, TrustAnchors,
};

const APP_ID: &str = "TEAMID1234.fr.vistalid.test";

fn anchors(root_der: &[u8]) -> TrustAnchors {
    let mut t = TrustAnchors::new();
    t.add_certificate_der(root_der).expect("root");
    t
}

mod attestation {
    use super::*;

    #[test]
    fn built_app_attest_counter_environment_credential_and_trailing_bytes() {
        let policy = ApplePolicy {
            app_ids: vec![APP_ID.into()],
            environment: AppAttestEnvironment::Development,
        };
        let run = |spec: &AppAttestSpec, policy: &ApplePolicy| {
            let built = app_attest(spec, b"challenge from the server");
            verify_app_attest(
                &built.object,
                &built.key_id,
                &built.client_data_hash,
                policy,
                &anchors(&built.root_der),
                INSIDE,
            )
            .map(|v| v.key_id)
        };
        let genuine = AppAttestSpec::genuine(APP_ID);
        assert!(run(&genuine, &policy).is_ok());
        // Bytes after the COSE key that no flag announces (as real devices send): tolerated.
        let trailing = AppAttestSpec {
            trailing: vec![0xa1, 0x01, 0x02, 0x00, 0x00],
            ..AppAttestSpec::genuine(APP_ID)
        };
        assert!(run(&trailing, &policy).is_ok());
        let counter = AppAttestSpec {
            counter: 1,
            ..AppAttestSpec::genuine(APP_ID)
        };
        assert_eq!(
            run(&counter, &policy).err(),
            Some(AttestationError::Counter)
        );
        let production = AppAttestSpec {
            aaguid: *b"appattest\0\0\0\0\0\0\0",
            ..AppAttestSpec::genuine(APP_ID)
        };
        assert_eq!(
            run(&production, &policy).err(),
            Some(AttestationError::Environment)
        );
        let prod_policy = ApplePolicy {
            environment: AppAttestEnvironment::Production,
            ..policy.clone()
        };
        assert!(run(&production, &prod_policy).is_ok());
        assert_eq!(
            run(&genuine, &prod_policy).err(),
            Some(AttestationError::Environment)
        );
        let credential = AppAttestSpec {
            credential_id: Some(vec![7; 32]),
            ..AppAttestSpec::genuine(APP_ID)
        };
        assert_eq!(
            run(&credential, &policy).err(),
            Some(AttestationError::KeyId)
        );
        // A key id and credential id that agree, but are not SHA-256 of the attested key.
        let fake_id = vec![7; 32];
        let built = app_attest(
            &AppAttestSpec {
                credential_id: Some(fake_id.clone()),
                ..AppAttestSpec::genuine(APP_ID)
            },
            b"c",
        );
        assert_eq!(
            verify_app_attest(
                &built.object,
                &fake_id,
                &built.client_data_hash,
                &policy,
                &anchors(&built.root_der),
                INSIDE
            )
            .err(),
            Some(AttestationError::KeyId)
        );
        let cose = AppAttestSpec {
            other_cose_key: true,
            ..AppAttestSpec::genuine(APP_ID)
        };
        assert_eq!(run(&cose, &policy).err(), Some(AttestationError::KeyId));
        let other_app = AppAttestSpec::genuine("TEAMID1234.fr.vistalid.clone");
        assert!(matches!(
            run(&other_app, &policy),
            Err(AttestationError::AppId(_))
        ));
        let end_entity_issuer = AppAttestSpec {
            intermediate_not_ca: true,
            ..AppAttestSpec::genuine(APP_ID)
        };
        assert_eq!(
            run(&end_entity_issuer, &policy).err(),
            Some(AttestationError::ChainInvalid("issuer is not a CA")),
            "App Attest has no legacy end-entity exception"
        );
        let no_credential_flag = AppAttestSpec {
            flags: 0x01,
            ..AppAttestSpec::genuine(APP_ID)
        };
        assert!(matches!(
            run(&no_credential_flag, &policy),
            Err(AttestationError::Malformed(_))
        ));
        let fmt = AppAttestSpec {
            fmt: "packed".into(),
            ..AppAttestSpec::genuine(APP_ID)
        };
        assert!(matches!(
            run(&fmt, &policy),
            Err(AttestationError::Malformed(_))
        ));
        // An extra key in the attestation object's map.
        let built = app_attest(&genuine, b"c");
        let mut value: ciborium::Value =
            ciborium::from_reader(built.object.as_slice()).expect("cbor");
        if let ciborium::Value::Map(m) = &mut value {
            m.push((ciborium::Value::Text("extra".into()), ciborium::Value::Null));
        }
        let mut extra = Vec::new();
        ciborium::into_writer(&value, &mut extra).expect("cbor");
        assert!(matches!(
            verify_app_attest(
                &extra,
                &built.key_id,
                &built.client_data_hash,
                &policy,
                &anchors(&built.root_der),
                INSIDE
            ),
            Err(AttestationError::Malformed(_))
        ));
    }

    #[test]
    fn built_app_attest_assertions_need_a_rising_counter() {
        let built = app_attest(&AppAttestSpec::genuine(APP_ID), b"enrol");
        let policy = ApplePolicy {
            app_ids: vec![APP_ID.into()],
            environment: AppAttestEnvironment::Development,
        };
        let verdict = verify_app_attest(
            &built.object,
            &built.key_id,
            &built.client_data_hash,
            &policy,
            &anchors(&built.root_der),
            INSIDE,
        )
        .expect("attestation");
        let key = verdict.attested_key;
        let cdh = sha256(b"approve challenge ch-1");
        let mut stored = 0;
        for counter in [1, 2, 5, 6, 100] {
            let a = assertion(&built.key_pkcs8, APP_ID, counter, &cdh);
            stored = verify_app_attest_assertion(&a, &cdh, &key, APP_ID, stored)
                .expect("rising counter");
            assert_eq!(stored, counter);
            assert_eq!(
                verify_app_attest_assertion(&a, &cdh, &key, APP_ID, stored),
                Err(AttestationError::Counter),
                "the same assertion again"
            );
        }
        let lower = assertion(&built.key_pkcs8, APP_ID, 50, &cdh);
        assert_eq!(
            verify_app_attest_assertion(&lower, &cdh, &key, APP_ID, stored),
            Err(AttestationError::Counter)
        );
        let other_cdh = sha256(b"another challenge");
        let a = assertion(&built.key_pkcs8, APP_ID, 101, &cdh);
        assert_eq!(
            verify_app_attest_assertion(&a, &other_cdh, &key, APP_ID, stored),
            Err(AttestationError::Signature)
        );
        let other_key = app_attest(&AppAttestSpec::genuine(APP_ID), b"x");
        let forged = assertion(&other_key.key_pkcs8, APP_ID, 101, &cdh);
        assert_eq!(
            verify_app_attest_assertion(&forged, &cdh, &key, APP_ID, stored),
            Err(AttestationError::Signature)
        );
    }
}
