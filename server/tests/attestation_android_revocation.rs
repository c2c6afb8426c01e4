// SPDX-License-Identifier: Apache-2.0
//! Google's revocation status list against the real Android samples: a list naming one
//! sample's intermediate serial makes that chain fail (however the serial is spelled), other
//! chains still verify, and a list file reloads without a restart.

mod attestation_support;

use attestation_support::*;
use vistalid_server::attestation::{
    verify_android, AttestationError, RevocationList, RevocationSource,
};

const CAIMAN: &str = "caiman__sdk36__TEE_EC_RKP";

/// The caiman chain under the strict policy with `list`.
fn verify_caiman(
    chain: &[Vec<u8>],
    list: &RevocationList,
    now: i64,
) -> Result<vistalid_server::attestation::AndroidVerdict, AttestationError> {
    verify_android(
        chain,
        &challenge(CAIMAN),
        &strict(),
        &google_roots(),
        list,
        now,
    )
}

mod attestation {
    use super::*;

    #[test]
    fn android_revocation_list_naming_an_intermediate_refuses_its_chain() {
        let name = CAIMAN;
        let chain = android_chain(name);
        let now = clock_inside(&chain);
        let intermediate = &serials(&chain)[1];
        assert_eq!(
            intermediate, "f165849ef08b4658dd0a8ab95be53006",
            "the RKP intermediate"
        );
        let run = |list: &RevocationList| verify_caiman(&chain, list, now);
        let listed = |serial: &str, status: &str| {
            let json = format!(
                r#"{{"entries":{{"{serial}":{{"status":"{status}","reason":"KEY_COMPROMISE"}}}}}}"#
            );
            RevocationList::from_json(json.as_bytes()).expect("list")
        };
        assert!(
            run(&listed("deadbeef", "REVOKED")).is_ok(),
            "an unrelated serial"
        );
        assert_eq!(
            run(&listed(intermediate, "REVOKED")).err(),
            Some(AttestationError::Revoked)
        );
        assert_eq!(
            run(&listed(intermediate, "SUSPENDED")).err(),
            Some(AttestationError::Revoked)
        );
        let upper = format!("00{}", intermediate.to_uppercase());
        assert_eq!(
            run(&listed(&upper, "REVOKED")).err(),
            Some(AttestationError::Revoked),
            "spelling"
        );
        // Other chains, sharing no serial, still verify with that list.
        let tegu = "tegu__sdk36__TEE_EC_2026_ROOT";
        let tegu_chain = android_chain(tegu);
        assert!(verify_android(
            &tegu_chain,
            &challenge(tegu),
            &strict(),
            &google_roots(),
            &listed(intermediate, "REVOKED"),
            clock_inside(&tegu_chain)
        )
        .is_ok());
    }

    #[test]
    fn android_revocation_source_reloads_without_restart() {
        let name = CAIMAN;
        let chain = android_chain(name);
        let now = clock_inside(&chain);
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("status.json");
        std::fs::write(&path, r#"{"entries":{}}"#).expect("write");
        let source = RevocationSource::load(&path).expect("load");
        let run = |list: &RevocationList| verify_caiman(&chain, list, now);
        let before = source.current();
        assert!(run(&before).is_ok());
        let serial = &serials(&chain)[1];
        std::fs::write(
            &path,
            format!(r#"{{"entries":{{"{serial}":{{"status":"REVOKED"}}}}}}"#),
        )
        .expect("write");
        assert_eq!(source.reload(), Ok(1));
        assert_eq!(
            run(&source.current()).err(),
            Some(AttestationError::Revoked)
        );
        assert!(run(&before).is_ok(), "a request keeps the list it took");
        std::fs::write(&path, "{not json").expect("write");
        assert!(matches!(
            source.reload(),
            Err(AttestationError::RevocationList(_))
        ));
        assert_eq!(
            run(&source.current()).err(),
            Some(AttestationError::Revoked),
            "old list kept"
        );
        assert!(matches!(
            RevocationList::from_json(br#"{"entries":{"xyz":{"status":"REVOKED"}}}"#),
            Err(AttestationError::RevocationList(_))
        ));
        assert!(matches!(
            RevocationList::from_json(br#"{"entries":{"ab":{}}}"#),
            Err(AttestationError::RevocationList(_))
        ));
    }
}
