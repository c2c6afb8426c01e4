// SPDX-License-Identifier: Apache-2.0
//! The SQL of devices' attested hardware keys (ADR 0001): the columns a key is kept in, the
//! App Attest counter's compare-and-set, and the counts of attestation refusals.

use rusqlite::{Connection, Row};
use vistalid_core::protocol::ErrorCode;

use super::{corrupt, opt_state, state, Tx};
use crate::attestation::{AttestedKey, DeviceAttestation, HardwareKeyRecord};
use crate::domain::{RefusalStage, Stored};
use crate::store::{RefusalCount, RefusalTally, StoreError};

/// The device columns of a hardware key, in the order [`read`] takes them (prefix `d.`).
pub(super) const COLUMNS: &str = "d.attest_platform, d.attest_level, d.attest_app_id,
    d.attest_boot_state, d.attest_device_locked, d.attest_patch_level, d.hardware_key,
    d.apple_key_id, d.attest_counter";

/// The hardware key in the [`COLUMNS`] starting at `first`; `None` for a device enrolled
/// without one.
pub(super) fn read(r: &Row<'_>, first: usize) -> rusqlite::Result<Option<HardwareKeyRecord>> {
    let Some(platform) = opt_state(r, first)? else {
        return Ok(None);
    };
    let spki: Vec<u8> = r.get(first + 6)?;
    let key = AttestedKey::from_spki_der(&spki)
        .map_err(|_| corrupt(first + 6, "devices.hardware_key"))?;
    let counter: i64 = r.get(first + 8)?;
    Ok(Some(HardwareKeyRecord {
        attested: DeviceAttestation {
            platform,
            security_level: state(r, first + 1)?,
            app_id: r.get(first + 2)?,
            boot_state: opt_state(r, first + 3)?,
            device_locked: r.get(first + 4)?,
            os_patch_level: r.get(first + 5)?,
            public_key: key,
        },
        apple_key_id: r.get(first + 7)?,
        counter: u32::try_from(counter)
            .map_err(|_| corrupt(first + 8, "devices.attest_counter"))?,
    }))
}

/// Writes `key` into the hardware-key columns of device `device_id` (at enrolment).
pub(super) fn write(
    tx: &Tx<'_>,
    device_id: &str,
    key: &HardwareKeyRecord,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE devices SET attest_platform = ?2, attest_level = ?3, attest_app_id = ?4,
             attest_boot_state = ?5, attest_device_locked = ?6, attest_patch_level = ?7,
             hardware_key = ?8, apple_key_id = ?9, attest_counter = ?10
         WHERE id = ?1",
    )?
    .execute(rusqlite::params![
        device_id,
        key.attested.platform.as_stored(),
        key.attested.security_level.as_stored(),
        key.attested.app_id,
        key.attested.boot_state.map(Stored::as_stored),
        key.attested.device_locked,
        key.attested.os_patch_level,
        key.attested.public_key.spki_der(),
        key.apple_key_id,
        key.counter,
    ])?;
    Ok(())
}

/// Moves device `device_id`'s App Attest counter from `last` to `next` if it still is
/// `last`; `false` when another answer moved it first (nothing written).
pub(super) fn advance_counter(
    tx: &Tx<'_>,
    device_id: &str,
    last: u32,
    next: u32,
) -> Result<bool, StoreError> {
    let changed = tx
        .prepare_cached(
            "UPDATE devices SET attest_counter = ?3 WHERE id = ?1 AND attest_counter = ?2",
        )?
        .execute(rusqlite::params![device_id, last, next])?;
    Ok(changed == 1)
}

/// Counts one refusal.
pub(in crate::store) fn count_refusal(tx: &Tx<'_>, r: &RefusalCount) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO attestation_refusals (stage, code, reason, count, last_at)
         VALUES (?1, ?2, ?3, 1, ?4)
         ON CONFLICT (stage, code, reason) DO UPDATE SET count = count + 1, last_at = ?4",
    )?
    .execute(rusqlite::params![
        r.stage.as_stored(),
        r.code.as_str(),
        r.reason,
        r.now
    ])?;
    Ok(())
}

/// Every refusal count, by stage, code and reason.
pub(in crate::store) fn refusals(c: &Connection) -> Result<Vec<RefusalTally>, StoreError> {
    let rows = c
        .prepare_cached(
            "SELECT stage, code, reason, count, last_at FROM attestation_refusals
             ORDER BY stage, code, reason",
        )?
        .query_map([], |r| {
            let code: String = r.get(1)?;
            Ok(RefusalTally {
                stage: state::<RefusalStage>(r, 0)?,
                code: ErrorCode::from_code(&code)
                    .ok_or_else(|| corrupt(1, "attestation_refusals.code"))?,
                reason: r.get(2)?,
                count: r.get(3)?,
                last_at: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::super::Db;
    use super::*;
    use crate::attestation::{Platform, SecurityLevel, VerifiedBootState};

    /// A P-256 SubjectPublicKeyInfo of a fresh key.
    fn spki() -> Vec<u8> {
        let point = vistalid_core::keys::SigningKey::make()
            .expect("key")
            .public_key();
        let mut der = hex_bytes("3059301306072a8648ce3d020106082a8648ce3d030107034200");
        der.extend_from_slice(point.as_sec1());
        der
    }

    fn hex_bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn db_with_device(dir: &tempfile::TempDir) -> Db {
        let db = Db::open(&dir.path().join("db.sqlite")).expect("open");
        db.write_blocking(|tx| {
            tx.execute_batch(
                "INSERT INTO accounts (id, kind, subject_name_id, given_name, family_name,
                     created_at) VALUES ('a', 'practitioner', '1', 'g', 'f', 0);
                 INSERT INTO devices (id, account_id, name, public_key, poll_token_hash,
                     created_at) VALUES ('d', 'a', 'n', x'04', x'00', 0);",
            )?;
            Ok(())
        })
        .expect("rows");
        db
    }

    fn read_back(db: &Db) -> Option<HardwareKeyRecord> {
        let sql = format!("SELECT {COLUMNS} FROM devices d WHERE d.id = 'd'");
        db.read_blocking(|c| Ok(c.query_row(&sql, [], |r| read(r, 0))?))
            .expect("read")
    }

    #[test]
    fn a_key_round_trips_and_the_counter_moves_only_from_the_value_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = db_with_device(&dir);
        assert_eq!(read_back(&db), None, "enrolled without a hardware key");
        let key = HardwareKeyRecord {
            attested: DeviceAttestation {
                platform: Platform::Android,
                security_level: SecurityLevel::StrongBox,
                app_id: "fr.example".into(),
                boot_state: Some(VerifiedBootState::Verified),
                device_locked: Some(true),
                os_patch_level: Some(202511),
                public_key: AttestedKey::from_spki_der(&spki()).expect("spki"),
            },
            apple_key_id: Some(vec![7; 32]),
            counter: 0,
        };
        let stored = key.clone();
        db.write_blocking(move |tx| write(tx, "d", &stored))
            .expect("write");
        assert_eq!(read_back(&db), Some(key.clone()));
        let step = |last, next| db.write_blocking(move |tx| advance_counter(tx, "d", last, next));
        assert!(step(0, 1).expect("cas"));
        assert!(!step(0, 2).expect("cas"), "stale: another answer moved it");
        assert_eq!(read_back(&db).expect("key").counter, 1);
        assert!(step(1, 2).expect("cas"));
        assert_eq!(read_back(&db).expect("key").counter, 2);
    }

    #[test]
    fn refusals_are_counted_by_stage_code_and_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = db_with_device(&dir);
        let count = |stage, code, reason, now| {
            let r = RefusalCount {
                stage,
                code,
                reason,
                now,
            };
            db.write_blocking(move |tx| count_refusal(tx, &r))
                .expect("count");
        };
        count(
            RefusalStage::Enrolment,
            ErrorCode::AttestationRequired,
            "missing",
            5,
        );
        count(
            RefusalStage::Enrolment,
            ErrorCode::AttestationRequired,
            "missing",
            9,
        );
        count(
            RefusalStage::Answer,
            ErrorCode::AttestationInvalid,
            "counter",
            7,
        );
        let tallies = db.read_blocking(refusals).expect("tallies");
        let seen: Vec<_> = tallies
            .iter()
            .map(|t| (t.stage, t.code, t.reason.as_str(), t.count, t.last_at))
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    RefusalStage::Answer,
                    ErrorCode::AttestationInvalid,
                    "counter",
                    1,
                    7
                ),
                (
                    RefusalStage::Enrolment,
                    ErrorCode::AttestationRequired,
                    "missing",
                    2,
                    9
                ),
            ]
        );
    }

    #[test]
    fn a_corrupt_stored_key_is_reported_by_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = db_with_device(&dir);
        db.write_blocking(|tx| {
            tx.execute_batch(
                "UPDATE devices SET attest_platform = 'android_key', attest_level = 'tee',
                     attest_app_id = 'x', hardware_key = x'3000' WHERE id = 'd'",
            )?;
            Ok(())
        })
        .expect("update");
        let sql = format!("SELECT {COLUMNS} FROM devices d WHERE d.id = 'd'");
        let r = db.read_blocking(|c| Ok(c.query_row(&sql, [], |r| read(r, 0))?));
        assert!(
            matches!(r, Err(StoreError::Corrupt("devices.hardware_key"))),
            "{r:?}"
        );
    }
}
