// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.HttpTransport
import fr.vistalid.ffi.PlatformKeystore
import fr.vistalid.ffi.Wallet
import fr.vistalid.ffi.WalletOptions
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Opens a wallet for the tests with `Wallet.openForTests`: tiny Argon2 parameters and no
 * back-off, the product's lockout and PIN policy. That constructor exists only in test builds
 * of the library (cargo feature `test-support`, which `mvn test` enables); an app sees only
 * [openWallet].
 */
internal suspend fun openTestWallet(
    dir: File,
    keystore: PlatformKeystore,
    deviceName: String = "JVM test",
    transport: HttpTransport = HttpUrlConnectionTransport(),
): Wallet = withContext(Dispatchers.IO) {
    Wallet.openForTests(dir.path, keystore, transport, WalletOptions(deviceName))
}
