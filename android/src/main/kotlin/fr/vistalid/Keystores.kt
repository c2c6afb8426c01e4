// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.DeviceAttestation
import fr.vistalid.ffi.HardwareSignature
import fr.vistalid.ffi.KeystoreDescription
import fr.vistalid.ffi.PlatformKeystore
import fr.vistalid.ffi.VistalidException
import fr.vistalid.ffi.describeKeystore
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Runs this keystore once through the Rust bridge the wallet uses (one PRF call on
 * [probeInput] and the hardware flag) and reports what it saw. It makes no hardware key.
 *
 * Suspends on [Dispatchers.IO]: hardware keystores (StrongBox in particular) can take
 * hundreds of milliseconds and must not run on the main thread.
 *
 * @throws VistalidException whatever the keystore threw, typed: for example
 *   [VistalidException.KeystoreUnavailable] while the device is locked.
 */
@Throws(VistalidException::class)
public suspend fun PlatformKeystore.describe(
    probeInput: ByteArray = "vistalid-keystore-probe".toByteArray(),
): KeystoreDescription = withContext(Dispatchers.IO) { describeKeystore(this@describe, probeInput) }

/**
 * A [PlatformKeystore] with the PRF only: it has no hardware keys, so [attest] and
 * [signAttested] answer `null` ("not supported") and [deleteAttested] has nothing to delete,
 * as core's software keystores do. The wallet then enrols without an attestation, which a
 * server accepts only where its policy lets unattested keystores enrol (desktop, tests).
 */
public interface PrfOnlyKeystore : PlatformKeystore {
    /** Always `null`: no hardware keys. */
    override fun attest(alias: String, challenge: ByteArray): DeviceAttestation? = null

    /** Always `null`: no hardware keys. */
    override fun signAttested(alias: String, message: ByteArray): HardwareSignature? = null

    /** Nothing to delete. */
    override fun deleteAttested(alias: String): Unit = Unit
}
