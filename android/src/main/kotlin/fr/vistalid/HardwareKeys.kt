// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.VistalidException
import java.security.GeneralSecurityException
import java.security.PrivateKey
import java.security.ProviderException
import java.security.Signature
import java.security.cert.Certificate

/**
 * The platform-independent half of a hardware-key keystore (ADR 0001), kept off the Android
 * API so the JVM tests can run it: alias checks, the certificate chain's encoding, the
 * signature format and the mapping of keystore exceptions. `AndroidKeystoreKeystore` does the
 * Keystore calls; what only a device can test (key generation in StrongBox or the TEE, the
 * attestation the hardware signs) is there.
 */
public object HardwareKeys {
    /** The shape of the aliases the wallet draws: `hw-` and 16 lower-case hex digits. */
    private val ALIAS = Regex("hw-[0-9a-f]{16}")

    /**
     * The Keystore alias of the wallet's hardware key [alias]: [prefix] then [alias], so the
     * wallet's keys never collide with the app's other Keystore entries or with the vault's PRF
     * key.
     *
     * @throws VistalidException.InvalidInput when [alias] is not `hw-` and 16 hex digits.
     */
    @Throws(VistalidException::class)
    public fun keystoreAlias(prefix: String, alias: String): String {
        if (!ALIAS.matches(alias)) throw VistalidException.InvalidInput("not a hardware key alias")
        return prefix + alias
    }

    /**
     * The DER of each certificate of [chain], leaf first, as `KeyStore.getCertificateChain`
     * returns it.
     *
     * @throws VistalidException.KeystoreUnavailable when there is no chain (the platform made
     *   the key without an attestation).
     */
    @Throws(VistalidException::class)
    public fun encodeChain(chain: Array<out Certificate>?): List<ByteArray> {
        if (chain.isNullOrEmpty()) throw VistalidException.KeystoreUnavailable("no attestation chain")
        return chain.map { it.encoded }
    }

    /** SHA256withECDSA of [message] by [key]: the DER signature the server expects. */
    public fun signEcdsaSha256(key: PrivateKey, message: ByteArray): ByteArray =
        Signature.getInstance("SHA256withECDSA").run {
            initSign(key)
            update(message)
            sign()
        }

    /**
     * The typed error for a keystore exception [e]: a key the platform invalidated gives
     * [VistalidException.KeyInvalidated]; a locked device [VistalidException.KeystoreUnavailable]
     * `("device locked")`; any other security or provider failure
     * [VistalidException.KeystoreUnavailable] with the exception's class name (never its
     * message, which may name key material); anything else is rethrown as it is. Android's
     * own classes are matched by name, superclasses included, so this runs off-device.
     */
    public fun mapFailure(e: Exception): Exception {
        if (e is VistalidException) return e
        val names = generateSequence<Class<*>>(e.javaClass) { it.superclass }.map { it.name }.toSet()
        return when {
            INVALIDATED in names -> VistalidException.KeyInvalidated()
            NOT_AUTHENTICATED in names -> VistalidException.KeystoreUnavailable("device locked")
            e is GeneralSecurityException || e is ProviderException ->
                VistalidException.KeystoreUnavailable(e.javaClass.simpleName)
            else -> e
        }
    }

    private const val INVALIDATED = "android.security.keystore.KeyPermanentlyInvalidatedException"
    private const val NOT_AUTHENTICATED = "android.security.keystore.UserNotAuthenticatedException"
}
