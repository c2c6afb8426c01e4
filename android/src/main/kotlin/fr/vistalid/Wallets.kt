// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.AnswerOutcome
import fr.vistalid.ffi.Challenge
import fr.vistalid.ffi.CodeMode
import fr.vistalid.ffi.FetchedChallenges
import fr.vistalid.ffi.HttpTransport
import fr.vistalid.ffi.PlatformKeystore
import fr.vistalid.ffi.RedeemedIdentity
import fr.vistalid.ffi.VistalidException
import fr.vistalid.ffi.Wallet
import fr.vistalid.ffi.WalletOptions
import java.io.File
import kotlin.time.Duration
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Opens the Vistalid wallet stored in [dir] (created at the first enrolment) with the app's
 * hardware [keystore] (on Android: `AndroidKeystoreKeystore`). Requests to identity servers
 * go through [transport]: the platform's HTTP stack by default ([HttpUrlConnectionTransport]);
 * pass the app's own (OkHttp with certificate pinning, say) to share its configuration.
 *
 * The returned [Wallet] holds native memory and, while a call runs, key material: close it
 * when done, ideally with `use { }`:
 * ```
 * openWallet(context.filesDir.resolve("vistalid"), AndroidKeystoreKeystore(), "Pixel 8").use { w ->
 *     val fetched = w.fetchChallenges(30.seconds)
 * }
 * ```
 * Every other wallet call is already a `suspend fun` (Rust runs it on its own threads); this
 * one reads files, so it suspends on [Dispatchers.IO].
 *
 * The vault always uses the product's Argon2 parameters and back-off. (The binding tests use
 * `Wallet.openForTests`, which exists only in test builds of the library.)
 *
 * @throws VistalidException for example [VistalidException.KeyInvalidated] when the keystore
 *   key that protects an existing wallet is gone.
 */
@Throws(VistalidException::class)
public suspend fun openWallet(
    dir: File,
    keystore: PlatformKeystore,
    deviceName: String,
    transport: HttpTransport = HttpUrlConnectionTransport(),
): Wallet = withContext(Dispatchers.IO) {
    Wallet.open(dir.path, keystore, transport, WalletOptions(deviceName))
}

/**
 * Fetches the QR issuer's public keys of [serverUrl] (a JWK set, JSON text) for
 * `QrVerifier(keys, audience)`. Fetch them once and keep them: offline checks need no network.
 *
 * @throws VistalidException.Network or [VistalidException.Server] when the server cannot
 *   give them.
 */
@Throws(VistalidException::class)
public suspend fun fetchIssuerKeys(
    serverUrl: String,
    transport: HttpTransport = HttpUrlConnectionTransport(),
): String = fr.vistalid.ffi.fetchIssuerKeys(serverUrl, transport)

/**
 * Redeems the QR text [qrText] at [serverUrl] as the registered client [clientId] (HTTP Basic
 * with [clientSecret]). The server accepts each presentation once.
 *
 * @throws VistalidException.Server with status 409 when it was already redeemed, 401 for a
 *   bad client secret.
 */
@Throws(VistalidException::class)
public suspend fun redeemQr(
    serverUrl: String,
    qrText: String,
    clientId: String,
    clientSecret: String,
    transport: HttpTransport = HttpUrlConnectionTransport(),
): RedeemedIdentity = fr.vistalid.ffi.redeemQr(serverUrl, transport, qrText, clientId, clientSecret)

/**
 * Fetches pending login requests, waiting up to [wait] (at most 30 s; rounded down to whole
 * seconds) for one to arrive.
 */
@Throws(VistalidException::class)
public suspend fun Wallet.fetchChallenges(wait: Duration): FetchedChallenges =
    fetchChallenges(wait.inWholeSeconds.coerceIn(0, 30).toUInt())

/**
 * Approves [challenge] with the wallet [pin] and the [code] the user picked or typed.
 * The PIN string cannot be wiped from memory once made: keep it as short-lived as possible.
 *
 * @throws VistalidException.WrongPin with `triesLeft`, [VistalidException.Locked],
 *   [VistalidException.InvalidCode] (not sent), [VistalidException.WrongCode] (the server
 *   refused the login), [VistalidException.ChallengeExpired].
 */
@Throws(VistalidException::class)
public suspend fun Wallet.approve(challenge: Challenge, pin: String, code: String): AnswerOutcome =
    approve(challenge.id, pin, code)

/** Whether the user picks the code among [Challenge.candidates] (else they type it). */
public val Challenge.isPick: Boolean get() = mode == CodeMode.PICK
