// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.KeystoreDescription
import fr.vistalid.ffi.PlatformKeystore
import fr.vistalid.ffi.VistalidException
import fr.vistalid.ffi.describeKeystore
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Runs this keystore once through the Rust bridge the wallet uses (one PRF call on
 * [probeInput], the attestation and the hardware flag) and reports what it saw.
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
