// SPDX-License-Identifier: Apache-2.0
//! The SQL of devices' attested hardware keys (ADR 0001): the columns a key is kept in, the
//! App Attest counter's compare-and-set, and the counts of attestation refusals.

use rusqlite::{Connection, Row};
use vistalid_core::protocol::ErrorCode;

use super::{corrupt, opt_state, state, Tx};
use crate::attestation::{AttestedKey, HardwareKeyRecord};
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
        platform,
        security_level: state(r, first + 1)?,
        app_id: r.get(first + 2)?,
        boot_state: opt_state(r, first + 3)?,
        device_locked: r.get(first + 4)?,
        os_patch_level: r.get(first + 5)?,
        key,
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
        key.platform.as_stored(),
        key.security_level.as_stored(),
        key.app_id,
        key.boot_state.map(Stored::as_stored),
        key.device_locked,
        key.os_patch_level,
        key.key.spki_der(),
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
