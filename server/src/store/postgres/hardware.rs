// SPDX-License-Identifier: Apache-2.0
//! The SQL of devices' attested hardware keys (ADR 0001): the columns a key is kept in, the
//! App Attest counter's compare-and-set, and the counts of attestation refusals.

use tokio_postgres::Row;
use vistalid_core::protocol::ErrorCode;

use super::{all, exec, get, opt_state, state, Tx};
use crate::attestation::{AttestedKey, DeviceAttestation, HardwareKeyRecord};
use crate::domain::{RefusalStage, Stored};
use crate::store::{RefusalCount, RefusalTally, StoreError};

/// The device columns of a hardware key, in the order [`read`] takes them (prefix `d.`).
pub(super) const COLUMNS: &str = "d.attest_platform, d.attest_level, d.attest_app_id,
    d.attest_boot_state, d.attest_device_locked, d.attest_patch_level, d.hardware_key,
    d.apple_key_id, d.attest_counter";

/// The hardware key in the [`COLUMNS`] starting at `first`; `None` for a device enrolled
/// without one.
pub(super) fn read(r: &Row, first: usize) -> Result<Option<HardwareKeyRecord>, StoreError> {
    let Some(platform) = opt_state(r, first)? else {
        return Ok(None);
    };
    let spki: Vec<u8> = get(r, first + 6)?;
    let key = AttestedKey::from_spki_der(&spki)
        .map_err(|_| StoreError::Corrupt("devices.hardware_key"))?;
    let counter: i64 = get(r, first + 8)?;
    let patch: Option<i64> = get(r, first + 5)?;
    Ok(Some(HardwareKeyRecord {
        attested: DeviceAttestation {
            platform,
            security_level: state(r, first + 1)?,
            app_id: get(r, first + 2)?,
            boot_state: opt_state(r, first + 3)?,
            device_locked: get(r, first + 4)?,
            os_patch_level: patch
                .map(u32::try_from)
                .transpose()
                .map_err(|_| StoreError::Corrupt("devices.attest_patch_level"))?,
            public_key: key,
        },
        apple_key_id: get(r, first + 7)?,
        counter: u32::try_from(counter)
            .map_err(|_| StoreError::Corrupt("devices.attest_counter"))?,
    }))
}

/// Writes `key` into the hardware-key columns of device `device_id` (at enrolment).
pub(super) async fn write(
    tx: &Tx<'_>,
    device_id: &str,
    key: &HardwareKeyRecord,
) -> Result<(), StoreError> {
    let a = &key.attested;
    exec(
        tx,
        "UPDATE devices SET attest_platform = $2, attest_level = $3, attest_app_id = $4,
             attest_boot_state = $5, attest_device_locked = $6, attest_patch_level = $7,
             hardware_key = $8, apple_key_id = $9, attest_counter = $10
         WHERE id = $1",
        &[
            &device_id,
            &a.platform.as_stored(),
            &a.security_level.as_stored(),
            &a.app_id,
            &a.boot_state.map(Stored::as_stored),
            &a.device_locked,
            &a.os_patch_level.map(i64::from),
            &a.public_key.spki_der(),
            &key.apple_key_id,
            &i64::from(key.counter),
        ],
    )
    .await?;
    Ok(())
}

/// Moves device `device_id`'s App Attest counter from `last` to `next` if it still is
/// `last`; `false` when another answer moved it first (nothing written).
pub(super) async fn advance_counter(
    tx: &Tx<'_>,
    device_id: &str,
    last: u32,
    next: u32,
) -> Result<bool, StoreError> {
    let changed = exec(
        tx,
        "UPDATE devices SET attest_counter = $3 WHERE id = $1 AND attest_counter = $2",
        &[&device_id, &i64::from(last), &i64::from(next)],
    )
    .await?;
    Ok(changed == 1)
}

/// Counts one refusal.
pub(in crate::store) async fn count_refusal(
    tx: &Tx<'_>,
    r: &RefusalCount,
) -> Result<(), StoreError> {
    exec(
        tx,
        "INSERT INTO attestation_refusals (stage, code, reason, count, last_at)
         VALUES ($1, $2, $3, 1, $4)
         ON CONFLICT (stage, code, reason) DO UPDATE
             SET count = attestation_refusals.count + 1, last_at = $4",
        &[&r.stage.as_stored(), &r.code.as_str(), &r.reason, &r.now],
    )
    .await?;
    Ok(())
}

/// Every refusal count, by stage, code and reason.
pub(in crate::store) async fn refusals(tx: &Tx<'_>) -> Result<Vec<RefusalTally>, StoreError> {
    all(
        tx,
        "SELECT stage, code, reason, count, last_at FROM attestation_refusals
         ORDER BY stage, code, reason",
        &[],
    )
    .await?
    .iter()
    .map(|r| {
        let code: String = get(r, 1)?;
        Ok(RefusalTally {
            stage: state::<RefusalStage>(r, 0)?,
            code: ErrorCode::from_code(&code)
                .ok_or(StoreError::Corrupt("attestation_refusals.code"))?,
            reason: get(r, 2)?,
            count: get(r, 3)?,
            last_at: get(r, 4)?,
        })
    })
    .collect()
}
